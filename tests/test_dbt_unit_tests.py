"""The dbt unit tests (hand-made rows for each metric's edge cases, docs/metrics.md): a pipeline
run leaves them out (orchestration/dbt_runs.py), so they run here, on a copy of the shared run's
working database; a billing source's own ones run in test_billing_sources.py."""

from __future__ import annotations

from flow import dbt_unit_tests

from subscriber_warehouse.publish import working_path


def test_every_dbt_unit_test_passes(warehouse, tmp_path):
    statuses, unit_tests = dbt_unit_tests(working_path(warehouse), tmp_path)
    assert set(statuses) == unit_tests and len(unit_tests) >= 16
    assert set(statuses.values()) == {"pass"}, statuses
