"""Write-audit-publish: BI reads a published file that only a fully gated run replaces."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from rows import land_minimal, row, write_csv

from orchestration.pipeline import PipelineFailed, run_pipeline
from orchestration.quality_report import report_path
from subscriber_warehouse.publish import make_working_folder, publish, working_path

LOAD_TIME = "2024-06-01T00:00:00Z"
CLI = str(Path(sys.executable).parent / "subscriber-warehouse")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> tuple[Path, Path]:
    """A landing folder and a published warehouse from one successful run."""
    root = tmp_path_factory.mktemp("published")
    landing = land_minimal(root / "landing")
    published = root / "wh" / "warehouse.duckdb"
    run_pipeline(landing, published, load_time=LOAD_TIME)
    return landing, published


def copy_of(baseline, tmp_path) -> tuple[Path, Path]:
    landing, published = baseline
    shutil.copytree(landing, tmp_path / "landing")
    shutil.copytree(published.parent, tmp_path / "wh", symlinks=True)
    return tmp_path / "landing", tmp_path / "wh" / published.name


def test_a_failing_gate_leaves_the_published_file_byte_identical(baseline, tmp_path):
    landing, published = copy_of(baseline, tmp_path)
    before = published.read_bytes()
    write_csv(
        landing / "subscription_events" / "subscription_events-0002.csv",
        [
            row(
                "subscription_events",
                event_id="evt_2",
                subscription_id="sub_2",
                customer_id="cus_nobody",
            )
        ],
    )
    with pytest.raises(PipelineFailed) as failed:
        run_pipeline(landing, published, load_time=LOAD_TIME)
    assert "raw/subscription_events gx_raw_contract: references_customer_id (error)" in (
        failed.value.quality
    )
    assert published.read_bytes() == before
    report = json.loads(report_path(published).read_text())
    [gate] = [
        c
        for c in report["results"]
        if c["asset"] == "raw/subscription_events" and c["check"] == "gx_raw_contract"
    ]
    assert gate["passed"] is False and gate["severity"] == "ERROR"


def test_a_reader_holding_the_old_file_keeps_it_while_a_new_one_is_published(baseline, tmp_path):
    _, published = copy_of(baseline, tmp_path)
    reader = duckdb.connect(str(published), read_only=True)
    (old_run,) = reader.execute("select run_id from audit.publication").fetchall()[0]
    publish(working_path(published), published, "next-run")
    # the open connection still reads the old version; a new reader sees the new one
    assert reader.execute("select run_id from audit.publication").fetchall() == [(old_run,)]
    reader.close()
    fresh = duckdb.connect(str(published), read_only=True)
    assert fresh.execute("select run_id from audit.publication").fetchall() == [("next-run",)]
    fresh.close()
    assert not list(published.parent.glob("*.publishing"))


def test_read_only_readers_succeed_while_a_run_is_writing(baseline, tmp_path):
    landing, published = copy_of(baseline, tmp_path)
    run = subprocess.Popen(
        [CLI, "run", "--landing", str(landing), "--warehouse", str(published)],
        env={**os.environ, "SW_LOAD_TIME": LOAD_TIME},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    queries = 0
    while run.poll() is None:
        con = duckdb.connect(str(published), read_only=True)
        (mrr,) = con.execute("select mrr_end from marts.subscription_metrics_monthly").fetchall()[0]
        con.close()
        assert float(mrr) == 132.30  # 49 × 3 seats × 0.9: the same before and after the run
        queries += 1
        time.sleep(0.2)
    assert run.returncode == 0, run.stderr.read()
    assert queries >= 10  # the reader really ran alongside the run


def test_a_working_database_where_earlier_versions_kept_it_is_moved_in(tmp_path):
    """Earlier versions kept it at `.work/<name>`: a daily run that did not find it would
    publish its own day alone."""
    published, former = tmp_path / "wh.duckdb", tmp_path / ".work" / "wh.duckdb"
    former.parent.mkdir()
    con = duckdb.connect(str(former))
    con.execute("create table kept as select 42 as answer")
    con.close()
    Path(f"{former}.wal").write_bytes(b"")
    make_working_folder(published)
    working = working_path(published)
    assert working == tmp_path / ".work" / "wh" / "warehouse.duckdb"
    assert not former.exists() and Path(f"{working}.wal").exists()
    assert duckdb.connect(str(working), read_only=True).sql("from kept").fetchall() == [(42,)]
    assert (working.parent.stat().st_mode & 0o777) == 0o700
