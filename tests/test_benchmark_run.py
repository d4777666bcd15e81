"""The benchmark script's pieces: the phase of each step, and holding back the newest day."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flow import cli

from subscriber_warehouse.generate import generate

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def run():
    sys.path.insert(0, str(BENCHMARKS))  # run.py imports its siblings floor and peer
    try:
        yield importlib.import_module("run")
    finally:
        sys.path.remove(str(BENCHMARKS))


def tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_each_step_of_the_pipeline_job_falls_in_its_phase(run):
    steps = {
        "raw__usage_events": "load",
        "raw__fx_rates": "load",
        "raw_stripe__invoice_line_item": "load",
        "raw_stripe__invoice_gx_raw_contract": "gates",
        "raw__usage_events_gx_raw_contract": "gates",
        "marts__fct_customer_mrr_monthly_gx_metric_rules": "gates",
        "dbt_models": "dbt",
        "dbt_models_after_predictive": "dbt",
        "contractual_clv": "predictive",
        "churn_risk": "predictive",
        "marts__purchase_clv_predictions": "predictive",
        "published__warehouse": "publish",
        "exports__audiences": "exports",
        "report__metrics_report": "report",
    }
    assert {key: run.phase(key) for key in steps} == steps


def test_the_newest_day_is_held_back_with_its_refunds_and_put_back_unchanged(run, tmp_path):
    landing, held = tmp_path / "landing", tmp_path / "held"
    generate(landing, 400, 3, dt.date(2024, 1, 1), 6, progress=False)
    # a refund on the held day, delivered with the bulk refunds
    refunds = pq.read_table(landing / "refunds")
    late = refunds.slice(0, 1).to_pylist()[0]
    late.update(refund_id="ref_late", refunded_at=dt.datetime(2024, 6, 30, 10, tzinfo=dt.UTC))
    pq.write_table(
        pa.Table.from_pylist([late], schema=refunds.schema), landing / "refunds" / "late.parquet"
    )
    before = tree(landing)
    day = run.newest_day(landing)
    assert day == "2024-06-30"  # six months from 2024-01-01: the last day before July
    everyone = pq.read_table(landing / "refunds").to_pylist()
    cutoff = dt.datetime(2024, 6, 30, tzinfo=dt.UTC)
    kept = sorted(r["refund_id"] for r in everyone if r["refunded_at"] < cutoff)
    assert "ref_late" not in kept and len(kept) > 0

    run.move_day(landing, held, day, back=False)
    for table in ("usage_events", "subscription_events", "payments"):
        assert not (landing / table / day).exists()
        assert (held / table / day).is_dir()
    assert run.newest_day(landing) == "2024-06-29"
    assert sorted(pq.read_table(landing / "refunds")["refund_id"].to_pylist()) == kept

    run.move_day(landing, held, day, back=True)
    assert tree(landing) == before


def test_run_day_needs_the_warehouse_of_an_earlier_run(tmp_path):
    (tmp_path / "landing" / "customers").mkdir(parents=True)
    done = cli(
        "run",
        "--landing",
        str(tmp_path / "landing"),
        "--warehouse",
        str(tmp_path / "none.duckdb"),
        "--day",
        "2025-12-31",
    )
    assert done.returncode == 1
    assert "does not exist: run once without --day first" in done.stderr
