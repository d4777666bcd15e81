"""The whole flow: `subscriber-warehouse generate` and `run` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from independent_mrr import compute

from subscriber_warehouse.publish import working_path

CLI = str(Path(sys.executable).parent / "subscriber-warehouse")
CUSTOMERS = 1500
MARTS = [
    "fct_customer_mrr_monthly",
    "subscription_metrics_monthly",
    "cohort_retention_monthly",
    "mrr_by_segment_monthly",
    "churn_reasons_monthly",
    "trial_conversion_monthly",
    "customer_lifetime_value",
    "acquisition_performance",
]

pytestmark = pytest.mark.slow


def cli(*args: str, tz: str = "UTC", cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TZ": tz, "LC_ALL": "C.UTF-8"}
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
    )


@pytest.fixture(scope="session")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("flow") / "landing"
    done = cli("generate", "--customers", str(CUSTOMERS), "--seed", "11", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="session")
def utc_run(landing, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    path = tmp_path_factory.mktemp("utc") / "warehouse.duckdb"
    done = cli("run", "--landing", str(landing), "--warehouse", str(path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return path, done


@pytest.fixture(scope="session")
def warehouse(utc_run) -> Path:
    return utc_run[0]


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_run_loads_every_generated_row(landing, warehouse):
    manifest = json.loads((landing / "_manifest.json").read_text())
    loaded = dict(
        query(
            working_path(warehouse),
            "select table_name, sum(rows_loaded) from raw.load_files group by table_name",
        )
    )
    assert loaded == manifest["rows"]
    assert query(working_path(warehouse), "select count(*) from raw.rejected_rows") == [(0,)]


def test_run_prints_the_load_summary(utc_run):
    summary = utc_run[1].stdout
    assert "rejected" in summary
    assert any(line.split()[:1] == ["subscription_events"] for line in summary.splitlines())


def test_marts_are_built_and_bridge_closes(warehouse):
    months = query(
        warehouse,
        "select count(*), min(month_start), max(month_start) "
        "from marts.subscription_metrics_monthly",
    )[0]
    assert months[0] >= 20  # a 24-month history whose first paying month is within the first few
    broken = query(
        warehouse,
        """
        select count(*) from marts.subscription_metrics_monthly
        where mrr_end <> mrr_start + new_mrr + expansion_mrr + reactivation_mrr
                         - contraction_mrr - churned_mrr""",
    )
    assert broken == [(0,)]
    for mart in MARTS:
        assert query(warehouse, f"select count(*) from marts.{mart}")[0][0] > 0, mart


def test_month_end_mrr_and_movements_match_an_independent_pandas_computation(warehouse):
    expected = compute(working_path(warehouse))
    con = duckdb.connect(str(warehouse), read_only=True)
    actual = con.execute(
        "select customer_id, month_start, mrr, mrr_previous, movement "
        "from marts.fct_customer_mrr_monthly"
    ).df()
    con.close()
    merged = expected.merge(
        actual,
        on=["customer_id", "month_start"],
        how="outer",
        suffixes=("_pandas", "_dbt"),
        indicator=True,
    )
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    assert len(merged) > CUSTOMERS  # many customer-months, not a trivial set
    gap = (merged["mrr_pandas"] - merged["mrr_dbt"].astype(float)).abs()
    assert gap.max() <= 0.01 + 1e-9, merged.loc[gap.idxmax()]
    assert (merged["movement_pandas"] == merged["movement_dbt"]).all()
    assert set(merged["movement_dbt"]) == {
        "new",
        "expansion",
        "contraction",
        "churn",
        "reactivation",
        "retained",
    }


def test_results_do_not_depend_on_the_machine_time_zone(landing, warehouse, tmp_path):
    other = tmp_path / "la.duckdb"
    done = cli(
        "run", "--landing", str(landing), "--warehouse", str(other), tz="America/Los_Angeles"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for mart in MARTS:
        sql = f"select * from marts.{mart} order by all"
        utc, la = (pd.DataFrame(query(p, sql)) for p in (warehouse, other))
        pd.testing.assert_frame_equal(utc, la, obj=mart)


def test_run_fails_clearly_on_a_broken_file(landing, tmp_path):
    broken = tmp_path / "landing"
    for table in ("customers", "plans", "subscription_events"):
        (broken / table).mkdir(parents=True)
        for f in (landing / table).iterdir():
            (broken / table / f.name).symlink_to(f)
    (broken / "plans" / "plans-99999.csv").write_text("plan_id,product\np1,x\n")
    done = cli("run", "--landing", str(broken), "--warehouse", str(tmp_path / "w.duckdb"))
    assert done.returncode == 1
    assert "plans/plans-99999.csv: missing required column 'plan_name'" in done.stderr


def test_dbt_docs_generate_documents_every_mart(warehouse, tmp_path):
    env = {**os.environ, "SW_WAREHOUSE": str(warehouse)}
    root = Path(__file__).resolve().parent.parent
    dbt = str(Path(sys.executable).parent / "dbt")
    done = subprocess.run(
        [
            dbt,
            "docs",
            "generate",
            "--project-dir",
            str(root),
            "--profiles-dir",
            str(root),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    for mart in MARTS:
        node = manifest["nodes"][f"model.subscriber_warehouse.{mart}"]
        built = catalog["nodes"][f"model.subscriber_warehouse.{mart}"]["columns"]
        undocumented = [c for c in built if not node["columns"].get(c, {}).get("description")]
        assert undocumented == [], (mart, undocumented)


def test_published_file_holds_marts_and_no_raw_data(warehouse):
    schemas = query(warehouse, "select distinct table_schema from information_schema.tables")
    assert {s for (s,) in schemas} == {"marts", "snapshots", "audit"}
    pii = (
        "select column_name from information_schema.columns "
        "where column_name in ('email', 'full_name')"
    )
    assert query(warehouse, pii) == []
    assert query(warehouse, "select count(*) from audit.publication") == [(1,)]


def test_contractual_clv_is_published_for_every_paying_subscription(warehouse):
    paying = query(
        warehouse,
        "select count(*) from marts.fct_subscription_periods "
        "where is_current and status = 'active' and mrr > 0",
    )
    assert query(warehouse, "select count(*) from marts.clv_predictions") == paying
    assert paying[0][0] > 100
    bad = query(
        warehouse,
        "select count(*) from marts.clv_predictions "
        "where predicted_residual_value < 0 or expected_residual_lifetime_periods <= 0",
    )
    assert bad == [(0,)]
    observed = query(
        warehouse,
        "select min(observed_survival), max(observed_survival) from marts.retention_projection",
    )[0]
    assert 0 <= observed[0] <= observed[1] <= 1
