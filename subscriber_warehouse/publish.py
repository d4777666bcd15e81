"""Write-audit-publish: BI reads a published file that only a fully gated run replaces.

The pipeline writes to a private working database. Publishing copies the BI-facing schemas into a
new file beside the published one and renames it over the old: a reader sees the old file or the
new one, never a mix, and the pipeline never opens the published file, so it never locks it.
Raw tables (which hold e-mail addresses) are not published.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from subscriber_warehouse.load.validate import ident, sql_str

PUBLISHED_SCHEMAS = ("marts", "snapshots")
AUDIT_TABLES = ("load_files",)


def working_path(published: Path) -> Path:
    """The pipeline's private database for a published file: `<dir>/.work/<name>`."""
    return published.parent / ".work" / published.name


def publish(work: Path, published: Path, run_id: str) -> dict[str, int]:
    """Copy the published schemas of `work` into a new file and move it over `published`."""
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
            "cast(current_timestamp as timestamp) as published_at",
            [run_id],
        )
        con.execute("checkpoint pub")
        con.execute("detach pub")
        con.execute("detach work")
    finally:
        con.close()
    with open(staged, "rb") as f:
        os.fsync(f.fileno())
    os.replace(staged, published)  # atomic on POSIX: the old inode stays readable to open readers
    return rows
