"""A run parses the dbt project only when something dbt parses changed: its files, dbt's version,
or an environment variable they name (not one read only when a model runs)."""

import shutil

from orchestration.dbt_runs import REPROCESS_FROM_ENV
from orchestration.project import (
    PARSED_FILES,
    PROJECT_ROOT,
    dbt_project,
    dbt_resource,
    parse_inputs,
    prepare_manifest,
)


def copy_project(tmp_path):
    for name in PARSED_FILES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def test_the_fingerprint_follows_what_dbt_parses(tmp_path):
    root = copy_project(tmp_path)
    env = {"SW_BILLING_SOURCE": "native", "HOME": "/root"}
    before = parse_inputs(root, env)
    assert parse_inputs(root, {**env, "HOME": "/elsewhere"}) == before  # named by no file
    assert parse_inputs(root, {**env, REPROCESS_FROM_ENV: "2024-03-05"}) == before
    assert parse_inputs(root, {**env, "SW_BILLING_SOURCE": "stripe"}) != before
    model = root / "dbt_project" / "models" / "staging" / "stg_billing__customers.sql"
    model.write_text(model.read_text() + "\n-- a comment\n")
    assert parse_inputs(root, env) != before


def test_a_second_run_with_nothing_changed_reuses_the_manifest(tmp_path):
    prepare_manifest(tmp_path / "warehouse.duckdb")
    parsed = dbt_project.manifest_path.stat().st_mtime_ns
    prepare_manifest(tmp_path / "warehouse.duckdb")
    assert dbt_project.manifest_path.stat().st_mtime_ns == parsed
    prepare_manifest(tmp_path / "other.duckdb")  # another profile: parsed again
    assert dbt_project.manifest_path.stat().st_mtime_ns != parsed


def test_a_dbt_call_runs_no_version_subprocess_and_opens_no_adapter(monkeypatch):
    """dagster-dbt asks `dbt --version` in a subprocess and opens a dbt adapter on every call;
    the run needs neither (tests/test_pipeline.py runs the real dbt steps)."""

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a subprocess: {args}")

    monkeypatch.setattr("dagster_dbt.core.resource.check_output", no_subprocess)
    resource = dbt_resource()
    assert str(resource._cli_version) == "1.11.16"  # requirements.lock's dbt-core
    assert resource._initialize_dbt_core_adapter(["build"]) is None
