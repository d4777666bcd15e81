"""`make dev` starts the Dagster UI with the code location loaded, from a shell whose PATH has
no venv (as a new user's, who has not activated it): asked over the webserver's GraphQL API,
the location lists the assets, their checks, the job, the schedule and the sensors."""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import servers

ROOT = Path(__file__).resolve().parent.parent
LOAD_SECONDS = 300

QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message }
    ... on RepositoryLocation { repositories { name
      jobs { name } schedules { name } sensors { name }
      assetNodes { assetKey { path }
        assetChecksOrError { __typename ... on AssetChecks { checks { name } } } } } } } } } } }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int) -> dict | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["data"]["workspaceOrError"]
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def loaded_location(port: int, dev: subprocess.Popen) -> dict:
    deadline = time.monotonic() + LOAD_SECONDS
    while time.monotonic() < deadline:
        assert dev.poll() is None, "make dev exited"
        workspace = graphql(port)
        entries = (workspace or {}).get("locationEntries") or []
        if entries and entries[0]["loadStatus"] == "LOADED":
            return entries[0]["locationOrLoadError"]
        time.sleep(2)
    raise AssertionError(f"the code location did not load in {LOAD_SECONDS} s")


@pytest.fixture(scope="module")
def location(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dev")
    (tmp / "home").mkdir()
    port = free_port()
    venv_bin = str(ROOT / ".venv" / "bin")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    env = {
        **{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        "PATH": path,
        "DAGSTER_HOME": str(tmp / "home"),
        "SW_LANDING_DIR": str(tmp / "landing"),
        "SW_WAREHOUSE": str(tmp / "warehouse.duckdb"),
    }
    with open(tmp / "dev.log", "w") as log:
        dev = servers.start(
            ["make", "--no-print-directory", "dev", f"DEV_PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield loaded_location(port, dev)
        except AssertionError as failure:
            log.flush()
            raise AssertionError(f"{failure}\n{(tmp / 'dev.log').read_text()[-4000:]}") from None
        finally:
            servers.stop(dev)


def test_the_ui_loads_every_asset_check_job_schedule_and_sensor(location):
    assert location["__typename"] == "RepositoryLocation", location
    (repository,) = location["repositories"]
    assets = {"/".join(node["assetKey"]["path"]) for node in repository["assetNodes"]}
    for asset in (
        "raw/customers",
        "raw/usage_events",
        "marts/subscription_metrics_monthly",
        "marts/churn_risk_scores",
        "published/warehouse",
        "exports/audiences",
    ):
        assert asset in assets
    # the definitions read the manifest at import, which `make dev` has just parsed
    from orchestration.definitions import build_definitions

    expected = {"/".join(key.path) for key in build_definitions().resolve_all_asset_keys()}
    assert assets == expected
    checks = {
        check["name"]
        for node in repository["assetNodes"]
        if node["assetChecksOrError"]["__typename"] == "AssetChecks"
        for check in node["assetChecksOrError"]["checks"]
    }
    assert "base_billing__customers_row_rules" in checks
    assert len(checks) > 90
    assert {j["name"] for j in repository["jobs"]} >= {"pipeline"}
    assert {s["name"] for s in repository["schedules"]} == {"daily_pipeline"}
    sensors = {s["name"] for s in repository["sensors"]}
    assert {"landing_files_sensor", "run_failure_alert"} <= sensors
