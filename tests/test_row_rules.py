"""row_rules (dbt_project/macros/generic_tests/row_rules.sql): one test per model fails on the rows
each single-rule test it replaced fails on, rule by rule, and names the rule broken.

A throwaway dbt project with one hand-made model breaks every kind of rule; it is tested by one
row_rules test and, where dbt or the project still has one, by the single-rule test too. The
counts are worked out by hand below."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
DBT = str(Path(sys.executable).parent / "dbt")

# id, status, amount, a, b
MODEL = """
select * from (values
    (1, 'active', 10, 'x', 1),
    (1, 'paused', -5, 'x', 1),
    (null, 'bogus', 200, 'y', 2),
    (3, null, null, 'y', 2),
    (4, 'it''s', 5, null, null),
    (5, 'active', 7, null, null)
) as t (id, status, amount, a, b)
"""

SCHEMA = """
version: 2
models:
  - name: broken
    data_tests:
      - row_rules:
          name: broken_row_rules
          arguments:
            not_null: [id]
            accepted_values: {status: [active, paused]}
            accepted_range: {amount: {min_value: 0, max_value: 100}}
            expressions: ["status <> 'paused'"]
            unique: [id, [a, b]]
      - unique_combination: {name: broken_unique_a_b, arguments: {columns: [a, b]}}
    columns:
      - name: id
        data_tests:
          - not_null: {name: broken_not_null_id}
          - unique: {name: broken_unique_id}
      - name: status
        data_tests:
          - accepted_values:
              {name: broken_accepted_status, arguments: {values: [active, paused]}}
  - name: sound
    data_tests:
      - row_rules:
          name: sound_row_rules
          arguments:
            not_null: [id]
            accepted_values: {status: [active]}
            unique: [id]
"""

# by hand: the null id; "bogus" and "it's" (a null status passes); -5 and 200 (nulls pass);
# 'paused' and the null status (null is not true); id 1 twice (one duplicated value); (x, 1),
# (y, 2) and (null, null) twice each (nulls count in a combination)
BROKEN = {
    "not_null: id": 1,
    "accepted_values: status": 2,
    "accepted_range: amount": 2,
    "expression: status <> 'paused'": 2,
    "unique: id": 1,
    "unique: a, b": 3,
}
SINGLE_RULES = ("not_null: id", "accepted_values: status", "unique: id", "unique: a, b")
SINGLE = {
    "broken_not_null_id": 1,
    "broken_accepted_status": 2,
    "broken_unique_id": 1,
    "broken_unique_a_b": 3,
}


def test_row_rules_fail_on_the_rows_the_single_rule_tests_fail_on(tmp_path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    shutil.copytree(ROOT / "dbt_project" / "macros" / "generic_tests", project / "macros")
    (project / "dbt_project.yml").write_text(
        "name: rules\nprofile: rules\nversion: '1.0'\n"
        "model-paths: [models]\nmacro-paths: [macros]\n"
    )
    (project / "profiles.yml").write_text(
        "rules:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
        f"      path: {tmp_path / 'rules.duckdb'}\n      threads: 1\n"
    )
    (project / "models" / "broken.sql").write_text(MODEL)
    (project / "models" / "sound.sql").write_text("select 1 as id, 'active' as status")
    (project / "models" / "schema.yml").write_text(SCHEMA)
    subprocess.run(
        [DBT, "build", "--store-failures", "--project-dir", str(project)]
        + ["--profiles-dir", str(project), "--target-path", str(project / "target")]
        + ["--log-path", str(tmp_path / "logs")],
        cwd=project,
        env={k: v for k, v in os.environ.items() if not k.startswith("DBT_")},
        capture_output=True,
        timeout=300,
    )
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    failures = {
        r["unique_id"].split(".")[2]: r["failures"]
        for r in results
        if r["unique_id"].startswith("test.")
    }
    assert {name: n for name, n in failures.items() if "row_rules" not in name} == SINGLE
    assert failures["broken_row_rules"] == sum(BROKEN.values())
    assert failures["sound_row_rules"] == 0
    with duckdb.connect(str(tmp_path / "rules.duckdb"), read_only=True) as con:
        stored = dict(
            con.execute(
                "select rule, failing_rows from main_dbt_test__audit.broken_row_rules"
            ).fetchall()
        )
    assert stored == BROKEN
    assert [stored[rule] for rule in SINGLE_RULES] == list(SINGLE.values())
