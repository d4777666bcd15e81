"""Write-audit-publish: BI reads a published file that only a fully gated run replaces.

The pipeline writes to a private working database. Publishing copies the BI-facing schemas into a
new file beside the published one and renames it over the old: a reader sees the old file or the
new one, never a mix, and the pipeline never opens the published file, so it never locks it.
Raw tables (which hold e-mail addresses) are not published.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from subscriber_warehouse.load.validate import ident, sql_str

PUBLISHED_SCHEMAS = ("marts", "snapshots")
# a change in any of these for a month the last published file already had is a restatement
RESTATED_COLUMNS = (
    "customers_start",
    "customers_end",
    "new_customers",
    "churned_customers",
    "mrr_start",
    "mrr_end",
    "new_mrr",
    "expansion_mrr",
    "reactivation_mrr",
    "contraction_mrr",
    "churned_mrr",
)
AUDIT_TABLES = ("load_files",)


def working_path(published: Path) -> Path:
    """The pipeline's private database for a published file: `<dir>/.work/<name>`."""
    return published.parent / ".work" / published.name


def _restatements(con: duckdb.DuckDBPyConnection, published: Path) -> list[str]:
    """Record in pub.audit.restatements what this run changes in already-published months."""
    values = ", ".join(f"cast({c} as double) as {c}" for c in RESTATED_COLUMNS)
    metrics = "marts.subscription_metrics_monthly"

    def unpivoted(catalog: str, value: str) -> str:
        return (
            f"(unpivot (select month_start, {values} from {catalog}.{metrics}) "
            f"on {', '.join(RESTATED_COLUMNS)} into name column_name value {value})"
        )

    con.execute(
        "create table pub.audit.restatements (month_start date, column_name varchar, "
        "previous_value double, new_value double)"
    )
    if not published.exists():
        return []
    con.execute(f"attach {sql_str(str(published))} as previous (read_only)")
    try:
        con.execute(
            f"insert into pub.audit.restatements "
            f"select month_start, column_name, old.previous_value, new.new_value "
            f"from {unpivoted('previous', 'previous_value')} as old "
            f"inner join {unpivoted('pub', 'new_value')} as new using (month_start, column_name) "
            f"where old.previous_value <> new.new_value"
        )
    except duckdb.CatalogException:  # the previous file had no metrics yet
        pass
    finally:
        con.execute("detach previous")
    months = con.execute(
        "select distinct strftime(month_start, '%Y-%m') from pub.audit.restatements order by 1"
    ).fetchall()
    return [m for (m,) in months]


def publish(work: Path, published: Path, run_id: str) -> tuple[dict[str, int], list[str]]:
    """Copy the published schemas of `work` into a new file and move it over `published`.

    Returns rows per published table and the months this run restated.
    """
    published.parent.mkdir(parents=True, exist_ok=True)
    staged = published.with_name(f".{published.name}.{run_id}.publishing")
    staged.unlink(missing_ok=True)
    con = duckdb.connect()
    rows = {}
    try:
        con.execute(f"attach {sql_str(str(work))} as work (read_only)")
        con.execute(f"attach {sql_str(str(staged))} as pub")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'work' and table_type = 'BASE TABLE' "
            f"and table_schema in ({', '.join(sql_str(s) for s in PUBLISHED_SCHEMAS)}) "
            "order by 1, 2"
        ).fetchall()
        tables += [("raw", t) for t in AUDIT_TABLES]
        for schema, table in tables:
            target = "audit" if schema == "raw" else schema
            con.execute(f"create schema if not exists pub.{ident(target)}")
            con.execute(
                f"create table pub.{ident(target)}.{ident(table)} as "
                f"select * from work.{ident(schema)}.{ident(table)}"
            )
            rows[f"{target}.{table}"] = con.execute(
                f"select count(*) from pub.{ident(target)}.{ident(table)}"
            ).fetchall()[0][0]
        con.execute(
            "create table pub.audit.publication as select ? as run_id, "
            "cast(? as timestamp) as published_at",
            # naive UTC like every timestamp in the warehouse, whatever the machine's zone
            [run_id, datetime.now(UTC).replace(tzinfo=None)],
        )
        restated = _restatements(con, published)
        con.execute("checkpoint pub")
        con.execute("detach pub")
        con.execute("detach work")
    finally:
        con.close()
    with open(staged, "rb") as f:
        os.fsync(f.fileno())
    os.replace(staged, published)  # atomic on POSIX: the old inode stays readable to open readers
    return rows, restated
