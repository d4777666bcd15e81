"""Write-audit-publish: BI reads a published file that only a fully gated run replaces.

The pipeline writes to a private working database. Publishing copies the BI-facing schemas into a
new file beside the published one and renames it over the old: a reader sees the old file or the
new one, never a mix, and the pipeline never opens the published file, so it never locks it.
Raw tables (which hold e-mail addresses) are not published.
"""

from __future__ import annotations

import json
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


class PublishedFileLocked(RuntimeError):
    """Another process holds the published file open for writing."""


class StalePublication(RuntimeError):
    """This process still holds a connection to an earlier version of the published file."""


def publication_path(published: Path) -> Path:
    """The published version's stamp beside the file: the run that wrote it and when."""
    return Path(published).with_name(Path(published).name + ".published")


def open_published(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published file as it is now.

    DuckDB keeps one open database per file and process: a new connect() in a process that
    still holds a connection to the file returns that database, i.e. the version it opened, not
    a newer one published since. That is detected (the file's audit.publication against the
    stamp written beside it) and refused: close every connection to the file, then reconnect.
    A process holding the file for writing (a BI tool that did not open it read-only) blocks
    every reader: said so, instead of DuckDB's lock error."""
    try:
        con = duckdb.connect(str(published), read_only=True)
    except duckdb.IOException as e:
        if "lock" not in str(e).lower():
            raise
        raise PublishedFileLocked(
            f"{published} is held open for writing by another process ({e}): readers must "
            "open it read-only (duckdb -readonly, duckdb.connect(path, read_only=True))"
        ) from None
    stamp = publication_path(published)
    if stamp.exists():
        expected = json.loads(stamp.read_text(encoding="utf-8"))["run_id"]
        try:
            opened = con.execute("select max(run_id) from audit.publication").fetchall()[0][0]
        except duckdb.CatalogException:
            opened = None
        if opened != expected:
            con.close()
            raise StalePublication(
                f"{published}: this process still holds a connection to an earlier version "
                f"(run {opened}; the published one is run {expected}): close every "
                "connection to the file, then reconnect"
            )
    return con


# the working database's file name, the same for every warehouse: dbt opens it by this name from
# its folder (orchestration/project.py), so every warehouse's dbt builds share one parse
WORKING_DATABASE = "warehouse.duckdb"


def working_path(published: Path) -> Path:
    """The pipeline's private database for `<dir>/<stem>.duckdb`:
    `<dir>/.work/<stem>/warehouse.duckdb`."""
    return published.parent / ".work" / published.stem / WORKING_DATABASE


def make_working_folder(published: Path) -> None:
    """Create the working database's folder for its owner alone, whatever the umask: unlike the
    published file it holds the raw tables, e-mail addresses and names included. A working
    database where earlier versions kept it, `<dir>/.work/<name>`, is moved in: a daily run
    without it would publish only its own day."""
    working = working_path(published)
    for folder in (working.parent.parent, working.parent):
        folder.mkdir(mode=0o700, exist_ok=True, parents=True)
        folder.chmod(0o700)
    former = published.parent / ".work" / published.name
    if former.is_file() and not working.exists():
        for suffix in ("", ".wal"):
            if Path(f"{former}{suffix}").exists():
                os.replace(f"{former}{suffix}", f"{working}{suffix}")


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
    try:
        con.execute(f"attach {sql_str(str(published))} as previous (read_only)")
    except duckdb.IOException as e:
        if "lock" not in str(e).lower():
            raise
        raise PublishedFileLocked(
            f"{published} is held open for writing by another process ({e}): readers must "
            "open it read-only"
        ) from None
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


# a table's description and its columns' (dbt's docs), keyed by (schema, table)
Docs = dict[tuple[str, str], tuple[str, dict[str, str]]]

# The published file's storage format: DuckDB 1.0's, which every client since DuckDB 0.10 reads
# (a file in DuckDB 2's own format opens in no 1.x client, Evidence's and most BI drivers
# included). It holds every type the marts use.
PUBLISHED_STORAGE_VERSION = "v1.0.0"


def publish(
    work: Path, published: Path, run_id: str, docs: Docs | None = None
) -> tuple[dict[str, int], list[str]]:
    """Copy the published schemas of `work` into a new file and move it over `published`, with
    `docs` as the tables' and columns' comments (what a BI tool shows beside them).

    Returns rows per published table and the months this run restated.
    """
    published.parent.mkdir(parents=True, exist_ok=True)
    staged = published.with_name(f".{published.name}.{run_id}.publishing")
    _remove_leftovers(published)
    try:
        rows, restated = _copy_published(work, staged, published, run_id, docs or {})
        with open(staged, "rb") as f:
            os.fsync(f.fileno())
    except BaseException:
        # a failed publish (a full disk) must leave nothing that breaks the next run
        _remove_leftovers(published)
        raise
    os.replace(staged, published)  # atomic on POSIX: the old inode stays readable to open readers
    _write_stamp(published, run_id)
    return rows, restated


def _write_stamp(published: Path, run_id: str) -> None:
    stamp = publication_path(published)
    partial = stamp.with_name(f".{stamp.name}.partial")
    partial.write_text(json.dumps({"run_id": run_id}) + "\n", encoding="utf-8")
    os.replace(partial, stamp)


def _remove_leftovers(published: Path) -> None:
    """Half-written copies (and their write-ahead logs) of earlier failed publishes; the run
    holds the warehouse's lock, so none is another run's."""
    for leftover in published.parent.glob(f".{published.name}.*.publishing*"):
        leftover.unlink(missing_ok=True)


def _comment(con: duckdb.DuckDBPyConnection, table: str, docs) -> None:
    if docs is None:
        return
    description, columns = docs
    if description:
        con.execute(f"comment on table {table} is {sql_str(description)}")
    built = {
        name for (name,) in con.execute(f"select column_name from (describe {table})").fetchall()
    }
    for column, text in columns.items():
        if text and column in built:
            con.execute(f"comment on column {table}.{ident(column)} is {sql_str(text)}")


def _copy_published(work: Path, staged: Path, published: Path, run_id: str, docs: Docs):
    con = duckdb.connect()
    rows = {}
    try:
        con.execute(f"attach {sql_str(str(work))} as work (read_only)")
        con.execute(
            f"attach {sql_str(str(staged))} as pub "
            f"(storage_version {sql_str(PUBLISHED_STORAGE_VERSION)})"
        )
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
            _comment(con, f"pub.{ident(target)}.{ident(table)}", docs.get((target, table)))
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
    return rows, restated
