"""Every published mart of two warehouse files, row by row: what an optimisation must not change.

    .venv/bin/python benchmarks/compare_marts.py BEFORE.duckdb AFTER.duckdb

Per table of the published schemas (marts, snapshots): its rows in each file, and how many rows
differ when both are sorted the same way, which is zero exactly when the two hold the same rows
as many times each (as `except all` both ways). Doubles are equal within 1e-6 relative: DuckDB
sums in parallel in no fixed order, and the MRR forecast's fits turn those last-bit differences
into up to 4e-8 between two runs of the same code. The snapshot's columns that record when a run
happened (dbt_valid_from …) are left out. Exits 1 if any table differs or is in one file only.
"""

from __future__ import annotations

import sys

import duckdb

SCHEMAS = ("marts", "snapshots")
RUN_TIME_COLUMNS = ("dbt_valid_from", "dbt_valid_to", "dbt_updated_at", "dbt_scd_id")
DOUBLES = ("DOUBLE", "FLOAT", "REAL")
RELATIVE_TOLERANCE = 1e-6


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, bool]]:
    """(quoted name, is a double) of each compared column, the doubles last: they sort last."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = 'before' and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, table],
    ).fetchall()
    columns = [(f'"{n}"', kind in DOUBLES) for n, kind in rows if n not in RUN_TIME_COLUMNS]
    return sorted(columns, key=lambda column: column[1])


def _equal(column: str, double: bool) -> str:
    if not double:
        return f"b.{column} is not distinct from a.{column}"
    close = f"abs(b.{column} - a.{column}) <= {RELATIVE_TOLERANCE} * abs(b.{column})"
    return f"(b.{column} is not distinct from a.{column} or {close})"


def _differing_rows(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> tuple:
    columns = _columns(con, schema, table)
    names = ", ".join(name for name, _ in columns)
    sides = {
        side: f"select {names}, row_number() over (order by {names}) as position "
        f"from {side}.{schema}.{table}"
        for side in ("before", "after")
    }
    same = " and ".join(_equal(name, double) for name, double in columns)
    return con.execute(
        f"with b as ({sides['before']}), a as ({sides['after']}) "
        "select (select count(*) from b), (select count(*) from a), "
        f"count(*) filter (where b.position is null or a.position is null or not ({same})) "
        "from b full join a using (position)"
    ).fetchone()


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> set[tuple[str, str]]:
    return set(
        con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_catalog = ? and table_schema in {SCHEMAS}",
            [catalog],
        ).fetchall()
    )


def compare(before: str, after: str) -> list[str]:
    """One line per table: its rows in each file and the rows that differ."""
    con = duckdb.connect()
    con.execute(f"attach '{before}' as before (read_only)")
    con.execute(f"attach '{after}' as after (read_only)")
    tables_before, tables_after = _tables(con, "before"), _tables(con, "after")
    lines = [f"only in one file: {'.'.join(t)}" for t in sorted(tables_before ^ tables_after)]
    for schema, table in sorted(tables_before & tables_after):
        rows_before, rows_after, differing = _differing_rows(con, schema, table)
        status = "same" if differing == 0 else "DIFFERS"
        lines.append(
            f"{status:8}{schema}.{table}: {rows_before:,} rows before, {rows_after:,} after, "
            f"{differing:,} differ"
        )
    return lines


def main() -> None:
    lines = compare(sys.argv[1], sys.argv[2])
    print("\n".join(lines))
    differ = [line for line in lines if not line.startswith("same")]
    print(f"{len(lines) - len(differ)} tables the same, {len(differ)} not")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
