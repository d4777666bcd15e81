"""Daily tables (usage_events, subscription_events, payments) in day folders, loaded by day."""

import re
from datetime import datetime

import pytest
from rows import row, write_csv, write_parquet

from subscriber_warehouse.load import LoadError, connect, landing_files, load_table

NOW = datetime(2024, 6, 1, 12, 0, 0)


@pytest.fixture
def con(tmp_path):
    c = connect(tmp_path / "wh.duckdb")
    yield c
    c.close()


def usage(landing, relative, *ids, **overrides):
    rows = [row("usage_events", event_id=i, **overrides) for i in ids]
    return write_csv(landing / "usage_events" / relative, rows)


def table_state(con, table="usage_events"):
    """Everything a load writes for a table: its rows, quarantine and accounting."""
    return (
        con.execute(f"select * from raw.{table} order by all").fetchall(),
        con.execute(
            "select * exclude (table_name) from raw.rejected_rows where table_name = ? "
            "order by all",
            [table],
        ).fetchall(),
        con.execute(
            "select * exclude (table_name) from raw.load_files where table_name = ? order by all",
            [table],
        ).fetchall(),
    )


def test_files_list_top_level_then_each_day_folder_in_order(tmp_path):
    landing = tmp_path / "landing"
    usage(landing, "2024-01-07/b.csv", "u2")
    usage(landing, "2024-01-06/z.csv", "u1")
    usage(landing, "history.csv", "u0")
    usage(landing, "2024-01-06/.partial.csv", "ux")  # hidden: still being written
    (landing / "usage_events" / "_staging").mkdir()  # hidden folder: ignored
    assert [f.relative for f in landing_files(landing, "usage_events")] == [
        "usage_events/history.csv",
        "usage_events/2024-01-06/z.csv",
        "usage_events/2024-01-07/b.csv",
    ]
    # a load by day reads those day folders only; the top-level history is left alone
    assert [
        (f.relative, f.day) for f in landing_files(landing, "usage_events", ["2024-01-07"])
    ] == [("usage_events/2024-01-07/b.csv", "2024-01-07")]


def test_loading_one_day_replaces_only_that_days_rows_and_accounting(con, tmp_path):
    landing = tmp_path / "landing"
    usage(landing, "history.csv", "u0", occurred_at="2023-12-31T10:00:00Z")
    usage(landing, "2024-01-06/a.csv", "u1", "u2")
    usage(landing, "2024-01-07/a.csv", "u3")
    load_table(con, landing, "usage_events", NOW)

    # a late second file for 2024-01-06, one of its rows broken
    write_csv(
        landing / "usage_events" / "2024-01-06" / "b.csv",
        [row("usage_events", event_id="u4"), row("usage_events", event_id="u5", quantity="x")],
    )
    (landing / "usage_events" / "2024-01-07" / "a.csv").unlink()  # not reloaded: stays
    result = load_table(con, landing, "usage_events", NOW, days=["2024-01-06"])

    assert result.days == ["2024-01-06"]
    assert [(f.file, f.rows_read, f.rows_loaded, f.rows_rejected) for f in result.files] == [
        ("usage_events/2024-01-06/a.csv", 2, 2, 0),
        ("usage_events/2024-01-06/b.csv", 2, 1, 1),
    ]
    rows = con.execute(
        "select event_id, _source_file from raw.usage_events order by event_id"
    ).fetchall()
    assert rows == [
        ("u0", "usage_events/history.csv"),
        ("u1", "usage_events/2024-01-06/a.csv"),
        ("u2", "usage_events/2024-01-06/a.csv"),
        ("u3", "usage_events/2024-01-07/a.csv"),
        ("u4", "usage_events/2024-01-06/b.csv"),
    ]
    _, rejected, files = table_state(con)
    assert [r[:3] for r in rejected] == [("usage_events/2024-01-06/b.csv", 2, "quantity")]
    assert [f[0] for f in files] == [
        "usage_events/2024-01-06/a.csv",
        "usage_events/2024-01-06/b.csv",
        "usage_events/2024-01-07/a.csv",
        "usage_events/history.csv",
    ]
    for _, _, read, loaded, rejected_count, _ in files:
        assert read == loaded + rejected_count


def test_loading_the_same_day_twice_gives_the_same_table(con, tmp_path):
    landing = tmp_path / "landing"
    usage(landing, "2024-01-06/a.csv", "u1", "u2")
    usage(landing, "2024-01-07/a.csv", "u3")
    write_csv(
        landing / "usage_events" / "2024-01-07" / "b.csv",
        [row("usage_events", event_id="u9", properties="[1]")],
    )
    load_table(con, landing, "usage_events", NOW, days=["2024-01-06", "2024-01-07"])
    first = table_state(con)
    load_table(con, landing, "usage_events", NOW, days=["2024-01-07"])
    assert table_state(con) == first
    # and loading by day ends where a full load does
    load_table(con, landing, "usage_events", NOW)
    assert table_state(con) == first


def test_a_first_load_by_day_creates_the_table(con, tmp_path):
    landing = tmp_path / "landing"
    usage(landing, "2024-01-06/a.csv", "u1")
    load_table(con, landing, "usage_events", NOW, days=["2024-01-05"])  # an empty day
    assert con.execute("select count(*) from raw.usage_events").fetchone() == (0,)
    load_table(con, landing, "usage_events", NOW, days=["2024-01-06"])
    assert con.execute("select count(*) from raw.usage_events").fetchone() == (1,)


def test_only_daily_tables_load_by_day(con, tmp_path):
    with pytest.raises(ValueError, match="customers is not loaded by day"):
        load_table(con, tmp_path, "customers", NOW, days=["2024-01-06"])


@pytest.mark.parametrize(
    "folder, message",
    [
        ("usage_events/2024-1-6", "usage_events/2024-1-6: not a day folder (expected YYYY-MM-DD)"),
        ("usage_events/2024-02-30", "usage_events/2024-02-30: not a day folder"),
        ("customers/2024-01-06", "customers/2024-01-06: customers is not delivered in day folders"),
    ],
)
def test_a_folder_that_is_not_a_day_folder_fails_the_load_naming_it(con, tmp_path, folder, message):
    landing = tmp_path / "landing"
    table = folder.split("/")[0]
    write_csv(landing / folder / "a.csv", [row(table)])
    with pytest.raises(LoadError, match=re.escape(message)):
        load_table(con, landing, table, NOW)


def test_parquet_days_load_together_and_a_corrupt_file_is_named(con, tmp_path):
    landing = tmp_path / "landing"
    for d in range(1, 4):
        write_parquet(
            landing / "usage_events" / f"2024-01-0{d}" / "a.parquet",
            [row("usage_events", event_id=f"u{d}{i}") for i in range(50)],
        )
    result = load_table(con, landing, "usage_events", NOW)
    assert [(f.file, f.rows_read, f.rows_loaded) for f in result.files] == [
        (f"usage_events/2024-01-0{d}/a.parquet", 50, 50) for d in range(1, 4)
    ]
    # the footer (columns) still reads, the data pages do not
    broken = landing / "usage_events" / "2024-01-02" / "a.parquet"
    data = bytearray(broken.read_bytes())
    data[8:200] = bytes(192)
    broken.write_bytes(bytes(data))
    with pytest.raises(LoadError, match="usage_events/2024-01-02/a.parquet: cannot read Parquet"):
        load_table(con, landing, "usage_events", NOW)
