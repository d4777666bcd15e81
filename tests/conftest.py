"""One generated landing folder and one pipeline run, shared by every end-to-end test module."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from flow import CUSTOMERS, cli

# `make test` runs a pytest-xdist worker per core: each parses the dbt project into its own
# target folder (dbt's DBT_TARGET_PATH, which the pipeline and dagster-dbt follow), so two
# workers' runs never read each other's half-written manifest or partial-parse file
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["DBT_TARGET_PATH"] = str(Path(__file__).resolve().parent.parent / "target" / worker)


@pytest.fixture(scope="session")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("flow") / "landing"
    done = cli("generate", "--customers", str(CUSTOMERS), "--seed", "11", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="session")
def utc_run(landing, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    path = tmp_path_factory.mktemp("utc") / "warehouse.duckdb"
    done = cli("run", "--landing", str(landing), "--warehouse", str(path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return path, done


@pytest.fixture(scope="session")
def warehouse(utc_run) -> Path:
    """The published warehouse of the shared run (read it; copy it before changing it)."""
    return utc_run[0]
