"""The whole flow: `subscriber-warehouse generate` and `run` as a user runs them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from flow import CUSTOMERS, cli, query
from independent_mrr import compute

from orchestration.project import prepare_manifest
from orchestration.resources import Warehouse
from subscriber_warehouse.publish import working_path

ROOT = Path(__file__).resolve().parent.parent

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


def test_run_shows_each_step_as_it_ends(landing, utc_run):
    """Not on a terminal: one line per step, its time and what it did."""
    lines = utc_run[1].stderr.splitlines()
    step = r"^\[ *\d+\.\d s\] {}: done in \d+\.\d s"
    (customers,) = [line for line in lines if re.match(step.format("raw__customers"), line)]
    landed = pd.read_parquet(landing / "customers").shape[0]
    assert customers.endswith(f", {landed:,} rows loaded")
    (dbt,) = [line for line in lines if re.match(step.format("dbt_models"), line)]
    nodes = int(re.search(r", (\d+) dbt nodes built or tested$", dbt).group(1))
    assert nodes > 120  # 58 models, 2 seeds, a snapshot, 91 tests (one per model's rules)
    # 15 raw loads and their 15 gates, 2 dbt steps, 5 predictive steps and 8 metric gates,
    # publish, exports, report
    assert len([line for line in lines if re.match(step.format(r"\w+"), line)]) == 48


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
    # read-only, as every reader of the shared run's file must be: the other test worker reads it
    env = {**os.environ, "SW_WAREHOUSE": str(warehouse), "SW_DBT_TARGET": "read_only"}
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
        "where column_name in ('email', 'full_name', 'phone')"
    )
    assert query(warehouse, pii) == []
    assert query(warehouse, "select count(*) from audit.publication") == [(1,)]


def test_the_working_database_with_the_raw_pii_is_its_owners_alone(warehouse):
    working = working_path(warehouse)
    assert query(working, "select count(*) from raw.customers where email is not null")[0][0] > 0
    assert stat.S_IMODE(working.parent.stat().st_mode) == 0o700


def test_dbt_writes_beside_the_working_database_one_folder_per_step(warehouse):
    dbt_folders = working_path(warehouse).parent / "dbt"
    steps = sorted(folder.name for folder in dbt_folders.iterdir())
    assert steps == ["dbt_models", "dbt_models_after_predictive"]
    assert all((dbt_folders / step / "run_results.json").is_file() for step in steps)
    # not a folder per dbt call in the checkout's target/ (dagster-dbt's default)
    run_id = json.loads(warehouse.with_suffix(".quality.json").read_text())["run_id"]
    checkout_target = Path(os.environ.get("DBT_TARGET_PATH", ROOT / "target"))
    assert list(checkout_target.glob(f"*-{run_id[:7]}-*")) == []


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


def test_the_forecast_starts_at_the_latest_month_and_beats_the_naive_ones(warehouse):
    (latest,) = query(warehouse, "select max(month_start) from marts.subscription_metrics_monthly")
    rows = query(
        warehouse,
        "select origin_month, count(*), min(months_ahead), max(months_ahead), "
        "count(distinct metric), count(distinct scenario) from marts.mrr_forecast group by 1",
    )
    assert rows == [(latest[0], 12 * 3 * 3, 1, 12, 3, 3)]
    # the input's MRR at the origin is the month's MRR the marts report, but for the rounding
    # of each customer's MRR to cents
    (forecast_input, reported, customers) = query(
        warehouse,
        "select (select sum(mrr) from marts.forecast_subscription_months where month_start = m), "
        "(select mrr_end from marts.subscription_metrics_monthly where month_start = m), "
        "(select customers_end from marts.subscription_metrics_monthly where month_start = m) "
        f"from (select date '{latest[0]}' as m)",
    )[0]
    assert float(forecast_input) == pytest.approx(float(reported), abs=0.005 * customers)
    mape = dict(
        ((model, months), error)
        for model, months, error in query(
            warehouse, "select model, months_ahead, mape from marts.mrr_forecast_backtest"
        )
    )
    for months in (6, 12):
        assert mape[("forecast", months)] < mape[("last_value", months)]
        assert mape[("forecast", months)] < mape[("linear_trend_6m", months)]


def _latest_preferences(landing: Path) -> pd.DataFrame:
    """The raw contract's rule, applied with pandas: per customer and key the latest wins."""
    prefs = pd.concat(pd.read_parquet(f) for f in (landing / "preferences").glob("*.parquet"))
    latest = prefs.sort_values("updated_at").groupby(["customer_id", "preference_key"]).last()
    return latest["preference_value"].unstack()


def _with_a_phone(landing: Path) -> set[str]:
    """The customers whose latest landed version has a phone number (pandas, not the models)."""
    customers = pd.concat(pd.read_parquet(f) for f in (landing / "customers").glob("*.parquet"))
    latest = customers.sort_values("updated_at").drop_duplicates("customer_id", keep="last")
    return set(latest.loc[latest["phone"].notna(), "customer_id"])


def test_audience_exports_never_reach_a_customer_who_opted_out(landing, warehouse):
    exports = warehouse.parent / "exports"
    run_dir = (exports / "latest").resolve()
    assert {p.name for p in exports.iterdir()} == {"latest", run_dir.name}
    prefs = _latest_preferences(landing)
    with_phone = _with_a_phone(landing)
    assignments = pd.read_csv(run_dir / "audience_assignments.csv")
    held_out = assignments[assignments["arm"] == "holdout"]
    exported = 0
    for channel, consent in (
        ("email", "email_opt_in"),
        ("sms", "sms_opt_in"),
        ("ads", "email_opt_in"),
    ):
        consented = set(prefs.index[prefs[consent] == "true"])
        for file in run_dir.glob(f"audience_*__{channel}.csv"):
            customers = set(pd.read_csv(file)["customer_id"])
            audience = file.name.removeprefix("audience_").removesuffix(f"__{channel}.csv")
            # no customer held out of the audience is contacted
            assert not customers & set(
                held_out.loc[held_out["audience"] == audience, "customer_id"]
            )
            if audience in ("dunning", "dunning_outreach"):  # service: everyone reachable
                (members,) = query(
                    warehouse, f"select list(customer_id) from marts.audience_{audience}"
                )
                treated = set(
                    assignments.loc[
                        (assignments["audience"] == audience) & (assignments["arm"] == "treatment"),
                        "customer_id",
                    ]
                )
                reachable = set(members[0] or []) & treated  # every native customer has an e-mail
                if channel == "sms":
                    reachable &= with_phone
                assert customers == reachable, file.name
                continue
            assert customers <= consented, file.name
            exported += len(customers)
    assert exported > 50
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["run_id"] == run_dir.name and manifest["previous_run"] is None
    ((as_of,),) = query(warehouse, "select max(as_of_at) from marts.dim_subscribers")
    assert manifest["as_of"] == f"{as_of.isoformat()}Z"
    win_back = pd.read_csv(run_dir / "audience_win_back__email.csv")
    assert manifest["rows"]["audience_win_back__email.csv"] == len(win_back)


def test_audience_exports_carry_the_address_the_published_hash_was_made_from(warehouse):
    run_dir = warehouse.parent / "exports" / "latest"
    salt = os.environ.get("SW_EMAIL_SALT", "subscriber-warehouse")
    salted = dict(query(warehouse, "select customer_id, email_hash from marts.dim_subscribers"))
    addresses = pd.concat(pd.read_csv(f) for f in run_dir.glob("audience_*__email.csv"))
    assert len(addresses) > 50
    for customer, address in zip(addresses["customer_id"], addresses["email"], strict=True):
        normalised = address.strip().lower()
        assert hashlib.sha256((salt + normalised).encode()).hexdigest() == salted[customer]
    # the ad platforms' match key: the same normalised address, unsalted
    unsalted = {
        hashlib.sha256(a.strip().lower().encode()).hexdigest(): c
        for c, a in zip(addresses["customer_id"], addresses["email"], strict=True)
    }
    ads = pd.concat(pd.read_csv(f) for f in run_dir.glob("audience_*__ads.csv"))
    assert len(ads) > 50
    for customer, key in zip(ads["customer_id"], ads["email_sha256"], strict=True):
        assert unsalted[key] == customer


def test_a_run_of_one_dbt_model_builds_it_and_its_tests_alone(landing, warehouse):
    """What the UI runs when a user materializes one model of the dbt step: that model and its
    tests, on the working database the step built, not the step's whole selection."""
    prepare_manifest()
    from orchestration.dbt import dbt_models

    plans = dg.AssetKey(["staging", "stg_billing__plans"])
    resource = Warehouse(landing_dir=str(landing), warehouse_path=str(warehouse))
    result = dg.materialize([dbt_models], selection=[plans], resources={"warehouse": resource})
    assert result.success
    assert [e.asset_key for e in result.get_asset_materialization_events()] == [plans]
    checks = result.get_asset_check_evaluations()
    assert {c.asset_key for c in checks} == {plans} and len(checks) >= 1
    assert all(c.passed for c in checks)
