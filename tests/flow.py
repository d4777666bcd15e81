"""Running the CLI as a user does, and reading a warehouse file, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

CLI = str(Path(sys.executable).parent / "subscriber-warehouse")
CUSTOMERS = 1500


def cli(*args: str, tz: str = "UTC", cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TZ": tz, "LC_ALL": "C.UTF-8"}
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
    )


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def dbt_unit_tests(working: Path, folder: Path, source: str = "native") -> tuple[dict, set]:
    """Every dbt unit test of the project as `source` enables it, run on a copy of a run's
    working database (dbt reads the column types of a model's inputs from it): the status of
    each that ran, and the unit tests the manifest holds."""
    import json
    import shutil

    database, target = folder / "unit-tests.duckdb", folder / "unit-tests-target"
    shutil.copy(working, database)
    env = {**os.environ, "SW_WAREHOUSE": str(database), "SW_BILLING_SOURCE": source}
    env.pop("DBT_TARGET_PATH", None)
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "test", "--select", "test_type:unit"]
        + ["--project-dir", str(root), "--profiles-dir", str(root)]
        + ["--target-path", str(target), "--log-path", str(folder / "logs"), "--quiet"],
        env=env,
        cwd=root,
        timeout=600,
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())
    return {r["unique_id"]: r["status"] for r in results}, set(manifest["unit_tests"])
