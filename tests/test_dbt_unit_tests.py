"""The dbt unit tests (hand-made rows for each metric's edge cases, docs/metrics.md): a pipeline
run leaves them out (orchestration/dbt_runs.py), so they run here, on a copy of the shared run's
working database (dbt reads the column types of a model's inputs from it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from dbt.cli.main import dbtRunner

from subscriber_warehouse.publish import working_path

ROOT = Path(__file__).resolve().parent.parent


def test_every_dbt_unit_test_passes(warehouse, tmp_path, monkeypatch):
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(working_path(warehouse), database)
    monkeypatch.setenv("SW_WAREHOUSE", str(database))
    target = tmp_path / "target"
    done = dbtRunner().invoke(
        ["test", "--select", "test_type:unit", "--project-dir", str(ROOT)]
        + ["--profiles-dir", str(ROOT), "--target-path", str(target)]
        + ["--log-path", str(tmp_path / "logs"), "--no-use-colors", "--quiet"]
    )
    assert done.exception is None, done.exception
    statuses = {r.node.unique_id: str(r.status) for r in done.result}
    manifest = json.loads((target / "manifest.json").read_text())
    # every unit test of the project ran, and passed
    assert set(statuses) == set(manifest["unit_tests"])
    assert len(statuses) >= 16
    assert set(statuses.values()) == {"pass"}, statuses
