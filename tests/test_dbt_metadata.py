"""What a dbt mart's materialization shows in the Dagster UI: its row count and first rows."""

from __future__ import annotations

import dagster as dg
import duckdb

from orchestration.dbt_runs import table_metadata


def test_row_count_and_a_markdown_preview_of_the_first_rows(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.t as select range as n, 'x' || range as s from range(7)")
    meta = table_metadata(con, dg.AssetKey(["marts", "t"]))
    con.close()
    assert meta["dagster/row_count"] == 7
    lines = meta["preview"].md_str.splitlines()
    assert lines[:3] == ["| n | s |", "|---|---|", "| 0 | x0 |"]
    assert len(lines) == 2 + 5  # header, rule, the first five rows
