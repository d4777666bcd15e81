"""The semantic layer: `mf query` on a published warehouse equals plain SQL on its marts.

MetricFlow reads `<project>/target/semantic_manifest.json` (from `dbt parse`) and connects through
the dbt profile. The tests parse into a project directory of their own (symlinks to this
repository's dbt project), so they never race another run's `target/`, and query the published
file through the profile's `read_only` target, which never writes to or locks it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from flow import query

from subscriber_warehouse.publish import publication_path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RATE_TOLERANCE = 1e-9

# the metric contract's metrics the semantic layer must define (docs/metrics.md)
CONTRACT_METRICS = {
    "mrr",
    "arr",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "active_customers",
    "logo_churn_rate",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "net_revenue_retention",
    "gross_revenue_retention",
    "arpa",
    "quick_ratio",
    "trial_conversion_rate",
    "historical_clv",
    "segment_mrr",
    "segment_logo_churn_rate",
    "predicted_clv",
    "audience_size",
    "forecast_mrr",
    "forecast_arr",
    "forecast_customers",
}


def _project(tmp: Path) -> Path:
    """A dbt project directory of symlinks to this one's, with its own target/ and logs/."""
    project = tmp / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml", "dbt_project", "seeds"):
        (project / name).symlink_to(ROOT / name)
    return project


def _environ(**settings: str) -> dict[str, str]:
    """This process's environment without a test worker's DBT_TARGET_PATH (the project copy
    keeps its own target/, which MetricFlow reads) and with `settings`."""
    inherited = {k: v for k, v in os.environ.items() if k != "DBT_TARGET_PATH"}
    return {**inherited, **settings}


def _parse(project: Path, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [str(BIN / "dbt"), "parse", "--project-dir", str(project), "--profiles-dir", str(project)],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((project / "target" / "semantic_manifest.json").read_text())


def test_dbt_parse_writes_a_semantic_manifest_with_the_contract_metrics(tmp_path):
    env = _environ(SW_WAREHOUSE=str(tmp_path / "unused.duckdb"))
    manifest = _parse(_project(tmp_path), env)
    metrics = {m["name"] for m in manifest["metrics"]}
    assert metrics >= CONTRACT_METRICS, CONTRACT_METRICS - metrics
    spines = manifest["project_configuration"]["time_spines"]
    assert [s["primary_column"]["name"] for s in spines] == ["date_day"]
    models = {m["name"]: m for m in manifest["semantic_models"]}
    assert set(models) >= {"customer_mrr", "subscribers", "segment_mrr", "trials"}
    subscriber_dims = {d["name"] for d in models["subscribers"]["dimensions"]}
    assert subscriber_dims >= {"country", "acquisition_channel"}
    segment_dims = {d["name"] for d in models["customer_segments"]["dimensions"]}
    assert "risk_tier" in segment_dims


@pytest.fixture(scope="module")
def metrics_query(warehouse, tmp_path_factory):
    """Query the published warehouse's metrics with `tool` (`subscriber-warehouse metrics`, or
    MetricFlow's own `mf query`) and `--csv`; returns the rows as dicts and the stderr."""
    tmp = tmp_path_factory.mktemp("semantic")
    project = _project(tmp)
    env = _environ(
        SW_WAREHOUSE=str(warehouse),
        SW_DBT_TARGET="read_only",
        DBT_PROJECT_DIR=str(project),
        DBT_PROFILES_DIR=str(project),
    )
    _parse(project, env)
    tools = {
        "subscriber-warehouse": [str(BIN / "subscriber-warehouse"), "metrics"],
        "mf": [str(BIN / "mf"), "query"],
    }
    # the command reads the semantic manifest where dbt's DBT_TARGET_PATH says, as mf reads
    # the project's target/
    env_of = {"subscriber-warehouse": {**env, "DBT_TARGET_PATH": str(project / "target")}}
    results: dict[tuple[str, ...], tuple[list[dict[str, str]], str]] = {}

    def run(*args: str, tool: str = "subscriber-warehouse") -> tuple[list[dict[str, str]], str]:
        key = (tool, *args)
        if key in results:  # tests sharing a query share its run
            return results[key]
        out = tmp / f"query-{len(results)}.csv"
        warehouse_arg = ["--warehouse", str(warehouse)] if tool != "mf" else []
        done = subprocess.run(
            [*tools[tool], *args, *warehouse_arg, "--csv", str(out)],
            capture_output=True,
            text=True,
            env=env_of.get(tool, env),
            cwd=project,
            timeout=300,
        )
        assert done.returncode == 0 and out.exists(), done.stdout[-3000:] + done.stderr[-3000:]
        with out.open(newline="") as f:
            results[key] = (list(csv.DictReader(f)), done.stderr)
        return results[key]

    run.target = project / "target"
    return run


@pytest.fixture(scope="module")
def mf(metrics_query):
    """The rows of a metrics query."""
    return lambda *args: metrics_query(*args)[0]


def _month(row: dict[str, str], column: str = "metric_time__month") -> str:
    return row[column][:10]


def _money(value: str) -> Decimal:
    return Decimal(value or "0")


def _rate(value: str) -> float | None:
    return float(value) if value else None


def _same_rate(got: float | None, want: float | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return abs(got - want) <= RATE_TOLERANCE


MONTHLY_MONEY = {
    "mrr": "mrr_end",
    "mrr_start": "mrr_start",
    "arr": "arr_end",
    "new_mrr": "new_mrr",
    "expansion_mrr": "expansion_mrr",
    "contraction_mrr": "contraction_mrr",
    "churned_mrr": "churned_mrr",
    "reactivation_mrr": "reactivation_mrr",
    "active_customers": "customers_end",
    "customers_start": "customers_start",
    "churned_customers": "churned_customers",
}
MONTHLY_RATES = {
    "logo_churn_rate": "logo_churn_rate",
    "logo_churn_rate_incl_new": "logo_churn_rate_incl_new",
    "gross_mrr_churn_rate": "gross_mrr_churn_rate",
    "net_mrr_churn_rate": "net_mrr_churn_rate",
    "net_revenue_retention": "net_revenue_retention",
    "gross_revenue_retention": "gross_revenue_retention",
    "arpa": "arpa",
    "quick_ratio": "quick_ratio",
    "subscription_churn_rate": "subscription_churn_rate",
}


def _monthly(mf) -> list[dict[str, str]]:
    metrics = [*MONTHLY_MONEY, *MONTHLY_RATES]
    return mf("--metrics", ",".join(metrics), "--group-by", "metric_time__month")


@pytest.mark.slow
def test_mrr_and_rates_by_month_equal_subscription_metrics_monthly(mf, warehouse):
    rows = _monthly(mf)
    got = {_month(r): r for r in rows}
    columns = [*MONTHLY_MONEY.values(), *MONTHLY_RATES.values()]
    mart = query(
        warehouse,
        f"select strftime(month_start, '%Y-%m-%d'), {', '.join(columns)} "
        "from marts.subscription_metrics_monthly",
    )
    assert len(mart) > 12
    assert set(got) == {m for (m, *_) in mart}
    for month, *values in mart:
        want = dict(zip([*MONTHLY_MONEY, *MONTHLY_RATES], values, strict=True))
        for metric in MONTHLY_MONEY:
            assert _money(got[month][metric]) == Decimal(want[metric]), (month, metric)
        for metric in MONTHLY_RATES:
            assert _same_rate(_rate(got[month][metric]), want[metric]), (month, metric)


@pytest.mark.slow
def test_logo_churn_rate_by_month_is_churned_over_customers_at_start(mf, warehouse):
    got = {_month(r): _rate(r["logo_churn_rate"]) for r in _monthly(mf)}
    # recomputed from the customer-level movements, not read from the rate column
    want = query(
        warehouse,
        """
        select strftime(month_start, '%Y-%m-%d'),
            cast(count(case when movement = 'churn' then 1 end) as double)
                / nullif(count(case when mrr_previous > 0 then 1 end), 0)
        from marts.fct_customer_mrr_monthly
        group by month_start
        """,
    )
    assert any(rate for (_, rate) in want)
    for month, rate in want:
        assert _same_rate(got[month], rate), month


@pytest.mark.slow
def test_mrr_and_logo_churn_by_month_and_tier_equal_mrr_by_segment_monthly(mf, warehouse):
    rows = mf(
        "--metrics",
        "segment_mrr,segment_active_customers,segment_logo_churn_rate",
        "--group-by",
        "metric_time__month,segment__segment_value",
        "--where",
        "{{ Dimension('segment__segment_type') }} = 'tier'",
    )
    got = {(_month(r), r["segment__segment_value"]): r for r in rows}
    want = query(
        warehouse,
        """
        select strftime(cur.month_start, '%Y-%m-%d'), cur.segment_value, cur.mrr, cur.customers,
            cast(cur.churned_customers as double) / nullif(prev.customers, 0)
        from marts.mrr_by_segment_monthly as cur
        left join marts.mrr_by_segment_monthly as prev
            on prev.segment_type = cur.segment_type
            and prev.segment_value = cur.segment_value
            and prev.month_start = cast(cur.month_start - interval 1 month as date)
        where cur.segment_type = 'tier'
        """,
    )
    assert len({tier for (_, tier, *_) in want}) > 1
    for month, tier, mrr, customers, churn_rate in want:
        row = got.pop((month, tier))
        assert _money(row["segment_mrr"]) == mrr, (month, tier)
        assert int(row["segment_active_customers"]) == customers, (month, tier)
        assert _same_rate(_rate(row["segment_logo_churn_rate"]), churn_rate), (month, tier)
    # the 1-month offset adds the month after the last one, with nothing in it
    assert all(not r["segment_mrr"] and not r["segment_logo_churn_rate"] for r in got.values())


@pytest.mark.slow
def test_saved_query_mrr_by_plan_equals_mrr_by_segment_monthly(mf, warehouse):
    rows = mf("--saved-query", "mrr_by_plan_monthly")
    got = {
        (_month(r), r["segment__segment_value"]): _money(r["segment_mrr"])
        for r in rows
        if r["segment_mrr"]
    }
    want = query(
        warehouse,
        "select strftime(month_start, '%Y-%m-%d'), segment_value, mrr "
        "from marts.mrr_by_segment_monthly where segment_type = 'plan_id'",
    )
    assert got == {(month, plan): mrr for month, plan, mrr in want}


def _by_channel(mf) -> list[dict[str, str]]:
    return mf(
        "--metrics",
        "new_mrr,churned_customers,historical_clv",
        "--group-by",
        "subscriber__acquisition_channel",
    )


@pytest.mark.slow
def test_new_mrr_by_acquisition_channel_equals_both_marts(mf, warehouse):
    rows = _by_channel(mf)
    got = {r["subscriber__acquisition_channel"]: r for r in rows}
    segment = query(
        warehouse,
        "select segment_value, sum(new_mrr), sum(churned_customers) "
        "from marts.mrr_by_segment_monthly where segment_type = 'acquisition_channel' group by 1",
    )
    movements = query(
        warehouse,
        """
        select coalesce(s.acquisition_channel, 'unknown'),
            sum(case when m.movement = 'new' then m.mrr_change else 0 end),
            count(case when m.movement = 'churn' then 1 end)
        from marts.fct_customer_mrr_monthly as m
        inner join marts.dim_subscribers as s on m.customer_id = s.customer_id
        group by 1
        """,
    )
    assert sorted(segment) == sorted(movements)
    assert len(segment) > 1
    assert set(got) == {channel for (channel, *_) in segment}
    for channel, new_mrr, churned in segment:
        assert _money(got[channel]["new_mrr"]) == new_mrr, channel
        assert int(got[channel]["churned_customers"]) == churned, channel


@pytest.mark.slow
def test_mrr_and_logo_churn_by_month_and_country_join_the_subscriber(mf, warehouse):
    rows = mf(
        "--metrics",
        "mrr,logo_churn_rate",
        "--group-by",
        "metric_time__month,subscriber__country",
    )
    got = {(_month(r), r["subscriber__country"]): r for r in rows}
    want = query(
        warehouse,
        """
        select strftime(cur.month_start, '%Y-%m-%d'), cur.segment_value, cur.mrr,
            cast(cur.churned_customers as double) / nullif(prev.customers, 0)
        from marts.mrr_by_segment_monthly as cur
        left join marts.mrr_by_segment_monthly as prev
            on prev.segment_type = cur.segment_type
            and prev.segment_value = cur.segment_value
            and prev.month_start = cast(cur.month_start - interval 1 month as date)
        where cur.segment_type = 'country'
        """,
    )
    assert set(got) == {(month, country) for (month, country, *_) in want}
    for month, country, mrr, churn_rate in want:
        assert _money(got[month, country]["mrr"]) == mrr, (month, country)
        assert _same_rate(_rate(got[month, country]["logo_churn_rate"]), churn_rate)


@pytest.mark.slow
def test_mrr_by_month_and_cohort_equals_cohort_retention(mf, warehouse):
    rows = mf(
        "--metrics",
        "mrr,active_customers",
        "--group-by",
        "metric_time__month,subscriber__cohort_month__month",
    )
    got = {(_month(r), _month(r, "subscriber__cohort_month__month")): r for r in rows}
    want = query(
        warehouse,
        "select strftime(month_start, '%Y-%m-%d'), strftime(cohort_month, '%Y-%m-%d'), "
        "retained_mrr, retained_customers from marts.cohort_retention_monthly "
        "where retained_customers > 0 or months_since_start = 0",
    )
    assert len(want) > 100
    for month, cohort, mrr, customers in want:
        row = got[month, cohort]
        assert _money(row["mrr"]) == mrr, (month, cohort)
        assert int(row["active_customers"]) == customers, (month, cohort)


@pytest.mark.slow
def test_trial_conversion_rate_by_month_equals_trial_conversion_monthly(mf, warehouse):
    rows = mf(
        "--metrics", "trial_conversion_rate,trials_started", "--group-by", "metric_time__month"
    )
    got = {_month(r): r for r in rows}
    want = query(
        warehouse,
        "select strftime(trial_month, '%Y-%m-%d'), trials_started, trials_converted "
        "from marts.trial_conversion_monthly",
    )
    assert set(got) == {month for (month, *_) in want}
    for month, started, converted in want:
        assert int(got[month]["trials_started"]) == started
        assert _same_rate(_rate(got[month]["trial_conversion_rate"]), converted / started), month


@pytest.mark.slow
def test_forecast_mrr_and_its_bounds_by_month_and_scenario_equal_mrr_forecast(mf, warehouse):
    rows = mf(
        "--metrics", "forecast_mrr,forecast_mrr_lower_80,forecast_mrr_upper_95",
        "--group-by", "metric_time__month,forecast_month__scenario",
    )  # fmt: skip
    got = {(_month(r), r["forecast_month__scenario"]): r for r in rows}
    want = query(
        warehouse,
        "select strftime(month_start, '%Y-%m-%d'), scenario, point, lower_80, upper_95 "
        "from marts.mrr_forecast where metric = 'mrr'",
    )
    assert set(got) == {(month, scenario) for month, scenario, *_ in want}
    assert len(want) == 12 * 3
    for month, scenario, point, lower_80, upper_95 in want:
        row = got[(month, scenario)]
        assert float(row["forecast_mrr"]) == pytest.approx(point, rel=1e-9)
        assert float(row["forecast_mrr_lower_80"]) == pytest.approx(lower_80, rel=1e-9)
        assert float(row["forecast_mrr_upper_95"]) == pytest.approx(upper_95, rel=1e-9)


@pytest.mark.slow
def test_historical_clv_by_channel_is_mean_net_revenue_of_paying_customers(mf, warehouse):
    rows = _by_channel(mf)
    got = {r["subscriber__acquisition_channel"]: _rate(r["historical_clv"]) for r in rows}
    want = query(
        warehouse,
        """
        select coalesce(s.acquisition_channel, 'unknown'), avg(v.historical_net_revenue)
        from marts.customer_lifetime_value as v
        inner join marts.dim_subscribers as s on v.customer_id = s.customer_id
        where v.cohort_month is not null
        group by 1
        """,
    )
    assert got.keys() == {channel for (channel, _) in want}
    for channel, mean in want:
        assert abs(got[channel] - float(mean)) <= 1e-6, channel


@pytest.mark.slow
def test_stocks_take_the_last_month_of_a_quarter_and_flows_add_up(mf, warehouse):
    rows = mf("--metrics", "mrr,new_mrr", "--group-by", "metric_time__quarter")
    got = {_month(r, "metric_time__quarter"): r for r in rows}
    want = query(
        warehouse,
        """
        select strftime(date_trunc('quarter', month_start), '%Y-%m-%d'),
            arg_max(mrr_end, month_start), sum(new_mrr)
        from marts.subscription_metrics_monthly
        group by 1
        """,
    )
    assert set(got) == {quarter for (quarter, *_) in want}
    for quarter, mrr, new_mrr in want:
        assert _money(got[quarter]["mrr"]) == mrr, quarter
        assert _money(got[quarter]["new_mrr"]) == new_mrr, quarter


@pytest.mark.slow
def test_mrr_by_month_and_risk_tier_joins_customer_segments(mf, warehouse):
    rows = mf(
        "--metrics",
        "mrr,active_customers",
        "--group-by",
        "metric_time__month,subscriber__risk_tier",
    )
    got = {(_month(r), r["subscriber__risk_tier"]): r for r in rows}
    want = query(
        warehouse,
        """
        select strftime(m.month_start, '%Y-%m-%d'), coalesce(s.risk_tier, ''), sum(m.mrr),
            count(case when m.mrr > 0 then 1 end)
        from marts.fct_customer_mrr_monthly as m
        left join marts.customer_segments as s on m.customer_id = s.customer_id
        group by all
        """,
    )
    assert {tier for (_, tier, *_) in want} >= {"high", "medium", "low"}
    assert set(got) == {(month, tier) for (month, tier, *_) in want}
    for month, tier, mrr, customers in want:
        assert _money(got[month, tier]["mrr"]) == mrr, (month, tier)
        assert int(got[month, tier]["active_customers"]) == customers, (month, tier)


@pytest.mark.slow
def test_predicted_clv_by_risk_tier_is_the_mean_of_customer_segments(mf, warehouse):
    rows = mf(
        "--metrics", "predicted_clv,valued_subscribers", "--group-by", "subscriber__risk_tier"
    )
    got = {r["subscriber__risk_tier"]: r for r in rows}
    want = query(
        warehouse,
        "select risk_tier, avg(predicted_clv), count(*) from marts.customer_segments group by 1",
    )
    assert got.keys() == {tier for (tier, *_) in want}
    for tier, mean, customers in want:
        assert abs(_rate(got[tier]["predicted_clv"]) - float(mean)) <= 1e-6, tier
        assert int(got[tier]["valued_subscribers"]) == customers, tier


@pytest.mark.slow
def test_audience_sizes_equal_the_audience_marts(mf, warehouse):
    rows = mf(
        "--metrics",
        "audience_size,audience_email_reachable,audience_sms_reachable",
        "--group-by",
        "audience_member__audience",
    )
    got = {r["audience_member__audience"]: r for r in rows}
    audiences = ["at_risk_high_value", "win_back", "dunning", "trial_not_converted"]
    audiences += ["upsell", "re_engage", "retention_offer", "upsell_prompt", "dunning_outreach"]
    for audience in audiences:
        ((size, email, sms),) = query(
            warehouse,
            "select count(*), count(case when is_email_opt_in then 1 end), "
            f"count(case when is_sms_opt_in then 1 end) from marts.audience_{audience}",
        )
        if size == 0:  # an empty audience has no row to group by
            assert audience not in got
            continue
        assert int(got[audience]["audience_size"]) == size, audience
        assert int(got[audience]["audience_email_reachable"]) == email, audience
        assert int(got[audience]["audience_sms_reachable"]) == sms, audience


def test_campaign_lift_by_campaign_and_window_is_the_marts_lift(mf, warehouse):
    rows = mf(
        "--metrics",
        "campaign_retention_lift,campaign_customers_holdout,campaign_incremental_mrr",
        "--group-by",
        "campaign_window__campaign_id,campaign_window__window_days",
        "--where",
        "{{ Dimension('campaign_window__is_window_complete') }}",
    )
    got = {
        (r["campaign_window__campaign_id"], int(r["campaign_window__window_days"])): r for r in rows
    }
    marts = query(
        warehouse,
        "select campaign_id, window_days, retention_lift, customers_holdout, incremental_mrr "
        "from marts.campaign_lift where is_window_complete",
    )
    assert len(got) == len(marts) > 6  # the generated campaigns at 30 and 90 days
    for campaign, window, lift, holdout, incremental in marts:
        row = got[(campaign, window)]
        assert float(row["campaign_retention_lift"]) == pytest.approx(lift, abs=1e-9)
        assert int(row["campaign_customers_holdout"]) == holdout
        assert _money(row["campaign_incremental_mrr"]) == _money(incremental)


def test_next_best_action_subscribers_and_value_by_action_equal_the_mart(mf, warehouse):
    rows = mf(
        "--metrics",
        "next_best_action_subscribers,next_best_action_expected_value",
        "--group-by",
        "next_best_action__action",
    )
    got = {r["next_best_action__action"]: r for r in rows}
    marts = query(
        warehouse,
        "select action, count(*), sum(expected_value) from marts.next_best_action group by 1",
    )
    assert set(got) == {action for action, _, _ in marts} >= {"retention_offer", "nothing"}
    for action, subscribers, value in marts:
        assert int(got[action]["next_best_action_subscribers"]) == subscribers
        assert _money(got[action]["next_best_action_expected_value"]) == _money(value)


@pytest.mark.slow
def test_the_metrics_command_answers_as_mf_query_does(metrics_query):
    """The README's first query through MetricFlow's own CLI and through the thin command."""
    args = ("--metrics", "mrr,logo_churn_rate", "--group-by", "metric_time__month")
    ours, mfs = metrics_query(*args)[0], metrics_query(*args, tool="mf")[0]
    assert len(ours) == len(mfs) > 12
    by_month = {_month(r): r for r in mfs}
    for row in ours:
        theirs = by_month[_month(row)]
        assert _money(row["mrr"]) == _money(theirs["mrr"])
        assert _same_rate(_rate(row["logo_churn_rate"]), _rate(theirs["logo_churn_rate"]))


@pytest.mark.slow
def test_cohort_retention_by_cohort_and_month_pools_the_cohorts(mf, warehouse):
    """By cohort and k: the mart's own rates; over all cohorts at each k: the ratio of their sums,
    worked out here with plain SQL on cohort_retention_monthly."""
    rows = mf(
        "--metrics",
        "cohort_revenue_retention,cohort_logo_retention",
        "--group-by",
        "metric_time__month,cohort__months_since_start",
    )
    mart = query(
        warehouse,
        "select strftime(cohort_month, '%Y-%m-%d'), months_since_start, revenue_retention, "
        "logo_retention from marts.cohort_retention_monthly",
    )
    got = {(_month(r), int(r["cohort__months_since_start"])): r for r in rows}
    assert len(mart) > 50 and set(got) == {(m, k) for m, k, *_ in mart}
    for month, k, revenue, logos in mart:
        assert _same_rate(_rate(got[(month, k)]["cohort_revenue_retention"]), revenue)
        assert _same_rate(_rate(got[(month, k)]["cohort_logo_retention"]), logos)
    pooled = mf("--metrics", "cohort_revenue_retention", "--group-by", "cohort__months_since_start")
    want = query(
        warehouse,
        "select months_since_start, sum(retained_mrr) / sum(cohort_starting_mrr) "
        "from marts.cohort_retention_monthly group by 1",
    )
    got_pooled = {
        int(r["cohort__months_since_start"]): _rate(r["cohort_revenue_retention"]) for r in pooled
    }
    assert got_pooled.keys() == {k for k, _ in want}
    for k, rate in want:
        assert _same_rate(got_pooled[k], float(rate)), k


@pytest.mark.slow
def test_a_metric_without_values_for_a_grouping_says_so(metrics_query):
    """NRR by cohort without metric_time: its starting MRR is the first month's, before any
    cohort paid, so every row is blank; the command names the metric and the cohort metrics."""
    rows, stderr = metrics_query(
        "--metrics", "net_revenue_retention,mrr", "--group-by", "subscriber__cohort_month__month"
    )
    assert rows and all(r["net_revenue_retention"] == "" for r in rows)
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    (warning,) = warnings
    assert warning.startswith("warning: net_revenue_retention has no value in every row: ")
    assert "cohort_revenue_retention" in warning


@pytest.mark.slow
def test_the_metrics_command_reads_a_warehouse_of_another_name(metrics_query, warehouse, tmp_path):
    """dbt names the tables in the database it parsed with (the run's file name): a copy under
    another name, its time spine included (a saved query's offsets join it), answers the same."""
    renamed = tmp_path / "renamed.duckdb"
    shutil.copy(warehouse, renamed)
    shutil.copy(publication_path(warehouse), publication_path(renamed))
    args = ["--saved-query", "mrr_by_tier_monthly"]
    original = metrics_query(*args)[0]
    out = tmp_path / "renamed.csv"
    env = {**os.environ, "DBT_TARGET_PATH": str(metrics_query.target)}
    done = subprocess.run(
        [str(BIN / "subscriber-warehouse"), "metrics", *args, "--warehouse", str(renamed)]
        + ["--csv", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with out.open(newline="") as f:
        assert list(csv.DictReader(f)) == original
