"""One generated landing folder and one pipeline run, shared by every end-to-end test module."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from flow import CUSTOMERS, cli

# `make test` runs a pytest-xdist worker per core: each parses the dbt project into its own
# target folder (dbt's DBT_TARGET_PATH, which the pipeline and dagster-dbt follow), so two
# workers' runs never read each other's half-written manifest or partial-parse file
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["DBT_TARGET_PATH"] = str(Path(__file__).resolve().parent.parent / "target" / worker)


def shared_by_workers(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `name`, built once for the whole session: the xdist workers share the parent
    of their temp folders, and the first worker to ask builds it while the others wait (a
    pipeline run is minutes of CPU a second worker would repeat)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


@pytest.fixture(scope="session")
def landing(tmp_path_factory) -> Path:
    def generate(folder: Path) -> None:
        out = folder / "landing"
        done = cli("generate", "--customers", str(CUSTOMERS), "--seed", "11", "--out", str(out))
        assert done.returncode == 0, done.stderr

    return shared_by_workers(tmp_path_factory, "flow", generate) / "landing"


@pytest.fixture(scope="session")
def utc_run(landing, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The shared run, and what its CLI printed."""

    def run(folder: Path) -> None:
        warehouse = folder / "warehouse.duckdb"
        done = cli("run", "--landing", str(landing), "--warehouse", str(warehouse))
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        printed = {"args": done.args, "stdout": done.stdout, "stderr": done.stderr}
        (folder / "printed.json").write_text(json.dumps(printed))

    folder = shared_by_workers(tmp_path_factory, "utc", run)
    printed = json.loads((folder / "printed.json").read_text())
    done = subprocess.CompletedProcess(printed["args"], 0, printed["stdout"], printed["stderr"])
    return folder / "warehouse.duckdb", done


@pytest.fixture(scope="session")
def warehouse(utc_run) -> Path:
    """The published warehouse of the shared run, which every worker reads: copy it before
    changing it."""
    return utc_run[0]
