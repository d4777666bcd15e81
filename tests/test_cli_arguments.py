"""A wrong `run` argument fails before Dagster or dbt start: one line saying what is wrong and what
is expected, no run log, no working database, nothing written beside the paths given."""

import os
import subprocess

import pytest
from flow import CLI
from rows import land_minimal

# the validation imports neither Dagster nor dbt: far under this, which a started run exceeds
SECONDS = 20


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, "run", *args],
        capture_output=True,
        text=True,
        timeout=SECONDS,
        cwd="/",
        env={**os.environ, **env},
    )


@pytest.fixture
def landing(tmp_path):
    return land_minimal(tmp_path / "landing")


def only_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1
    assert done.stdout == ""
    (line,) = [line for line in done.stderr.splitlines() if not line.startswith("landing: ")]
    return line


def nothing_written(folder) -> bool:
    return not list(folder.glob(".work")) and not list(folder.glob("*.runs"))


def test_a_table_folder_given_as_landing(landing, tmp_path):
    done = run("--landing", str(landing / "customers"), "--warehouse", str(tmp_path / "w.duckdb"))
    assert only_error(done) == (
        f"Error: 1 problem(s) in {landing / 'customers'}: nothing was loaded; --landing is the "
        "folder holding one folder per table (customers/, subscription_events/, ...)"
    )
    assert "landing: customers-0001.csv: a file at the landing folder's root" in done.stderr
    assert nothing_written(tmp_path)


def test_a_folder_given_as_warehouse(landing, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    done = run("--landing", str(landing), "--warehouse", str(folder))
    assert only_error(done) == (
        f"Error: --warehouse {folder} is a folder: give the DuckDB file to publish, "
        f"e.g. {folder / 'warehouse.duckdb'}"
    )
    assert list(folder.iterdir()) == [] and nothing_written(tmp_path)


def test_a_file_that_is_not_a_duckdb_database_given_as_warehouse(landing, tmp_path):
    notes = tmp_path / "notes.duckdb"
    notes.write_text("customer_id\n1\n")
    done = run("--landing", str(landing), "--warehouse", str(notes))
    assert only_error(done) == (
        f"Error: --warehouse {notes} exists and is not a DuckDB database: give a new path or "
        "the file of an earlier run"
    )
    assert notes.read_text() == "customer_id\n1\n" and nothing_written(tmp_path)


def test_a_daily_run_needs_an_earlier_warehouse(landing, tmp_path):
    missing = tmp_path / "w.duckdb"
    done = run("--landing", str(landing), "--warehouse", str(missing), "--day", "2024-01-02")
    assert only_error(done) == (
        f"Error: --day updates an existing warehouse and {missing} does not exist: run once "
        "without --day first"
    )
    assert nothing_written(tmp_path)


def test_production_refuses_the_public_email_salt(landing, tmp_path):
    done = run(
        "--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb"),
        SW_GATE_FRESHNESS="error", SW_EMAIL_SALT="subscriber-warehouse",
    )  # fmt: skip
    assert only_error(done) == (
        "Error: SW_EMAIL_SALT is unset, empty or the public default while "
        "SW_GATE_FRESHNESS=error (production): set SW_EMAIL_SALT to a secret of your own"
    )
    assert nothing_written(tmp_path)
