"""A run parses the dbt project only when something dbt parses changed: its files, dbt's version,
or an environment variable they name (not one read only when a model runs)."""

import os
import shutil

from orchestration.dbt_runs import REPROCESS_FROM_ENV
from orchestration.project import (
    DATABASE_ENV,
    PARSED_FILES,
    PROJECT_ROOT,
    dbt_environment,
    dbt_project,
    dbt_resource,
    parse_inputs,
    prepare_manifest,
)
from subscriber_warehouse.publish import WORKING_DATABASE


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


def test_a_second_run_with_nothing_changed_reuses_the_manifest():
    prepare_manifest()
    parsed = dbt_project.manifest_path.stat().st_mtime_ns
    prepare_manifest()
    assert dbt_project.manifest_path.stat().st_mtime_ns == parsed


def test_every_warehouse_s_dbt_calls_reuse_the_project_s_parse(tmp_path):
    """dbt opens each warehouse's working database by one name from its folder, so its profile
    is the same for all: a new warehouse's first build starts from the project's parse."""
    prepare_manifest()
    for name in ("first", "second"):
        folder, target = tmp_path / name, tmp_path / name / "dbt"
        folder.mkdir()
        with dbt_environment(folder):
            dbt_resource().cli(["show", "--inline", "select 1 as one"], target_path=target).wait()
        assert (folder / WORKING_DATABASE).is_file()  # the database dbt opened
        log = (target / "dbt.log").read_text()
        assert "Nothing changed, skipping partial parsing" in log
        assert "Unable to do partial parsing" not in log
    assert DATABASE_ENV not in os.environ  # a dbt started by hand reads SW_WAREHOUSE again


def test_a_dbt_call_runs_no_version_subprocess_and_opens_no_adapter(monkeypatch):
    """dagster-dbt asks `dbt --version` in a subprocess and opens a dbt adapter on every call;
    the run needs neither (tests/test_pipeline.py runs the real dbt steps)."""

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a subprocess: {args}")

    monkeypatch.setattr("dagster_dbt.core.resource.check_output", no_subprocess)
    resource = dbt_resource()
    assert str(resource._cli_version) == "1.11.16"  # requirements.lock's dbt-core
    assert resource._initialize_dbt_core_adapter(["build"]) is None
