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
from flow import CUSTOMERS, cli, query
from independent_mrr import compute

from subscriber_warehouse.publish import working_path

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


def test_churn_scores_cover_every_paying_subscriber_and_beat_the_tenure_baseline(warehouse):
    paying = query(
        warehouse,
        "select count(*) from marts.fct_customer_mrr_monthly where mrr > 0 "
        "and month_start = (select max(month_start) from marts.fct_customer_mrr_monthly)",
    )
    assert query(warehouse, "select count(*) from marts.churn_risk_scores") == paying
    auc = dict(query(warehouse, "select distinct model, auc from marts.churn_model_evaluation"))
    # the generated churn depends on failures, tickets and usage, hardly on tenure
    assert auc["churn_risk"] > auc["tenure_baseline"] + 0.05
    tiers = dict(
        query(warehouse, "select risk_tier, count(*) from marts.churn_risk_scores group by 1")
    )
    assert tiers["high"] == pytest.approx(0.1 * paying[0][0], abs=1)


def test_one_off_purchase_clv_is_published(warehouse):
    rows, alive = query(
        warehouse,
        "select count(*), avg(probability_alive) from marts.purchase_clv_predictions",
    )[0]
    assert rows > 100 and 0 < alive < 1


def _latest_preferences(landing: Path) -> pd.DataFrame:
    """The raw contract's rule, applied with pandas: per customer and key the latest wins."""
    prefs = pd.concat(pd.read_parquet(f) for f in (landing / "preferences").glob("*.parquet"))
    latest = prefs.sort_values("updated_at").groupby(["customer_id", "preference_key"]).last()
    return latest["preference_value"].unstack()


def test_audience_exports_never_reach_a_customer_who_opted_out(landing, warehouse):
    (run_dir,) = (warehouse.parent / "exports").iterdir()
    prefs = _latest_preferences(landing)
    exported = 0
    for channel in ("email", "sms"):
        consented = set(prefs.index[prefs[f"{channel}_opt_in"] == "true"])
        for file in run_dir.glob(f"audience_*__{channel}.csv"):
            customers = set(pd.read_csv(file)["customer_id"])
            assert customers <= consented, file.name
            exported += len(customers)
    assert exported > 50
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert len(manifest["rows"]) == 6
