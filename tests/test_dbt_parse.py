"""A run parses the dbt project only when something dbt parses changed: its files, dbt's version,
or an environment variable they name (not one read only when a model runs)."""

import os
import shutil
import subprocess

import duckdb
import pytest

from orchestration.dbt_in_process import DbtFailed, command, parse, stream
from orchestration.dbt_runs import REPROCESS_FROM_ENV
from orchestration.project import (
    DATABASE_ENV,
    PARSED_FILES,
    PROJECT_ROOT,
    dbt_environment,
    dbt_project,
    parse_environment,
    parse_inputs,
    prepare_manifest,
    use_partial_parse_of,
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


def test_a_second_run_with_nothing_changed_reuses_the_manifest():
    prepare_manifest()
    parsed = dbt_project.manifest_path.stat().st_mtime_ns
    prepare_manifest()
    assert dbt_project.manifest_path.stat().st_mtime_ns == parsed


def test_a_process_parses_once_and_every_warehouse_s_dbt_calls_reuse_that_parse(
    tmp_path, monkeypatch
):
    """dbt runs in the run's process on the manifest parsed once: no subprocess, no parse per
    call; each call opens the warehouse it is given and closes it after, so the process can then
    open the file itself (dbt-duckdb would keep it open)."""

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a subprocess: {args}")

    manifest = prepare_manifest()
    assert prepare_manifest() is manifest
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    for name in ("first", "second"):
        database, target = tmp_path / name / "warehouse.duckdb", tmp_path / name / "dbt"
        database.parent.mkdir()
        with dbt_environment(database):
            list(
                stream(
                    manifest, command(["show", "--inline", "select 1 as one"], PROJECT_ROOT, target)
                )
            )
        duckdb.connect(str(database), read_only=True).close()
        log = (target / "dbt.log").read_text()
        assert "partial parsing" not in log
    assert DATABASE_ENV not in os.environ  # a dbt started by hand reads SW_WAREHOUSE again


def test_a_failed_dbt_call_says_why_and_where_its_log_is(tmp_path):
    target = tmp_path / "dbt"
    with dbt_environment(tmp_path / "warehouse.duckdb"), pytest.raises(DbtFailed) as failed:
        args = command(["show", "--inline", "select * from nowhere"], PROJECT_ROOT, target)
        list(stream(prepare_manifest(), args))
    assert "nowhere" in str(failed.value)
    assert str(target / "dbt.log") in str(failed.value)


def tiny_project(root, extra: str = "") -> None:
    """A dbt project of its own in `root` (models/ empty), its profile a DuckDB file there."""
    (root / "models").mkdir()
    (root / "dbt_project.yml").write_text(f"name: tiny\nversion: '1.0'\nprofile: tiny\n{extra}")
    (root / "profiles.yml").write_text(
        "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'warehouse.duckdb'}\n"
    )


def test_a_model_reading_an_ephemeral_model_builds_again_on_the_same_parse(tmp_path):
    """dbt injects an ephemeral model's CTE into the nodes reading it once per manifest: the
    process's second build on its one parse (a second run; tests make many) must inject it
    again."""
    tiny_project(tmp_path)
    (tmp_path / "models" / "numbers.sql").write_text(
        "{{ config(materialized='ephemeral') }}\nselect 1 as n"
    )
    (tmp_path / "models" / "doubled.sql").write_text("select n * 2 as n from {{ ref('numbers') }}")
    target = tmp_path / "target"
    manifest = parse(tmp_path, target, write_manifest=False)
    for _ in range(2):
        results = list(stream(manifest, command(["run"], tmp_path, target)))
        assert [r["data"]["node_info"]["node_status"] for r in results] == ["success"]
    assert duckdb.connect(str(tmp_path / "warehouse.duckdb")).sql("from doubled").fetchall() == [
        (2,)
    ]


def test_each_environment_s_last_parse_is_put_back_when_a_run_returns_to_it(tmp_path, monkeypatch):
    """A run on another billing source names another value of an environment variable the
    project reads, and dbt then parses in full: back on the first source, its own last parse is
    reused."""
    tiny_project(tmp_path, "vars:\n  source: \"{{ env_var('SW_TEST_SOURCE') }}\"\n")
    (tmp_path / "models" / "one.sql").write_text("select 1 as n")
    target = tmp_path / "target"
    log = target / "dbt.log"

    def parse_in(value: str) -> str:
        monkeypatch.setenv("SW_TEST_SOURCE", value)
        before = log.read_text() if log.is_file() else ""
        use_partial_parse_of(target, parse_environment(tmp_path, os.environ))
        parse(tmp_path, target, write_manifest=False)
        return log.read_text()[len(before) :]

    parse_in("native")
    assert "Nothing changed" not in parse_in("stripe")
    assert "Nothing changed, skipping partial parsing" in parse_in("native")
    assert "Nothing changed, skipping partial parsing" in parse_in("stripe")
    assert {f.name for f in target.glob("partial_parse*.msgpack")} == {
        "partial_parse.msgpack",
        f"partial_parse.{parse_environment(tmp_path, {'SW_TEST_SOURCE': 'native'})}.msgpack",
    }
