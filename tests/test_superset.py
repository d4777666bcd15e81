"""`make superset` opens the published warehouse in Apache Superset (its own venv from its own lock,
`make superset-setup`): run twice on a fresh metadata folder it registers the file once, read-only,
with every mart as a dataset and the starter dashboard; in headless Chromium an analyst logs in
through the UI, the dashboard and a chart's Explore page draw their charts, and the rows Superset
drew — and serves from the saved charts' data API — are the marts' rows as DuckDB reads them."""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
import servers
from flow import query
from report_helpers import chromium_path

ROOT = Path(__file__).resolve().parent.parent
# a first `make superset-bootstrap` migrates the metadata (about 65 s on 2 cores), a second one
# and the server's start take about 40 s; generous for a loaded machine
BOOTSTRAP_SECONDS = 900
START_SECONDS = 900
PAGE_MS = 180_000
USER = "analyst"

# per chart (as bootstrap.py names it): the SQL of the same numbers, straight from the mart
EXPECTED_SQL = {
    "mrr": 'select month_start, mrr_end as "MRR" from marts.subscription_metrics_monthly',
    "movements": (
        'select month_start, new_mrr as "New", expansion_mrr as "Expansion", '
        'reactivation_mrr as "Reactivation", -contraction_mrr as "Contraction", '
        '-churned_mrr as "Churned" from marts.subscription_metrics_monthly'
    ),
    "logo_churn": (
        'select month_start, logo_churn_rate as "Logo churn rate" '
        "from marts.subscription_metrics_monthly"
    ),
}

pytestmark = pytest.mark.slow


@dataclass
class Superset:
    url: str
    password: str
    log: Path
    shots: Path
    first: dict  # what the first bootstrap registered (its JSON line)
    second: dict  # what `make superset`'s own bootstrap registered
    metadata: Path  # the SQLite metadata database

    @contextmanager
    def explained(self) -> Iterator[None]:
        """A failure (an assertion, a page that never drew) carries the end of the server's log
        and where the screenshots are."""
        try:
            yield
        except Exception as failure:
            tail = self.log.read_text(errors="replace")[-6000:]
            raise AssertionError(
                f"{type(failure).__name__}: {failure}\n--- screenshots in {self.shots}"
                f"\n--- superset log (end):\n{tail}"
            ) from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            return response.status == 200 and response.read().strip() == b"OK"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def registered(output: str) -> dict:
    """The JSON line bootstrap.py prints last."""
    lines = [line for line in output.splitlines() if line.startswith('{"database_id"')]
    assert lines, f"bootstrap.py printed no summary:\n{output[-6000:]}"
    return json.loads(lines[-1])


@pytest.fixture(scope="module")
def superset(warehouse, tmp_path_factory) -> Iterator[Superset]:
    tmp = tmp_path_factory.mktemp("superset")
    port = free_port()
    password = secrets.token_urlsafe(12)
    # neither an outer make's flags (`make test`) nor a SUPERSET_ setting of the caller's shell
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SUPERSET_") and k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    }
    make = [
        "make",
        "--no-print-directory",
        f"WAREHOUSE={warehouse}",
        f"SUPERSET_DIR={tmp / 'home'}",
        f"SUPERSET_PORT={port}",
        f"SUPERSET_ADMIN_USER={USER}",
        f"SUPERSET_ADMIN_PASSWORD={password}",
    ]
    try:
        first = subprocess.run(
            [*make, "superset-bootstrap"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=BOOTSTRAP_SECONDS,
        )
    except subprocess.TimeoutExpired as late:
        output = (late.stdout or b"").decode(errors="replace")
        raise AssertionError(
            f"make superset-bootstrap took over {BOOTSTRAP_SECONDS} s:\n{output[-6000:]}"
        ) from None
    output = first.stdout + first.stderr
    assert first.returncode == 0, f"make superset-bootstrap failed:\n{output[-6000:]}"
    log = tmp / "superset.log"
    with open(log, "w") as out:
        server = servers.start(
            [*make, "superset"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + START_SECONDS
            while not healthy(url):
                if server.poll() is not None:
                    raise AssertionError(f"make superset exited ({server.returncode})")
                if time.monotonic() > deadline:
                    raise AssertionError(f"Superset did not answer /health in {START_SECONDS} s")
                time.sleep(2)
            (tmp / "shots").mkdir()
            yield Superset(
                url=url,
                password=password,
                log=log,
                shots=tmp / "shots",
                first=registered(output),
                second=registered(log.read_text(errors="replace")),
                metadata=tmp / "home" / "superset.db",
            )
        except AssertionError as failure:
            out.flush()
            tail = log.read_text(errors="replace")[-6000:]
            raise AssertionError(f"{failure}\n--- superset log (end):\n{tail}") from None
        finally:
            servers.stop(server)


@dataclass
class Seen:
    """What the browser got: the dashboard's chart data responses, by chart id, and what it drew."""

    dashboard_data: dict[int, list[dict]]
    dashboard_canvases: list[dict]
    explore_canvases: list[dict]
    errors: list[str]
    foreign_hosts: list[str]
    saved_data: dict[int, list[dict]]  # GET /api/v1/chart/<id>/data/ (the saved query context)
    access_mode: list[dict]  # SQL Lab: select current_setting('access_mode')


# every chart's echarts canvas, with how many of its pixels are painted
_CANVASES = """() => [...document.querySelectorAll('[data-test="chart-container"]')].map(c => {
  const canvas = c.querySelector('canvas');
  if (!canvas) return {canvas: false, painted: 0};
  const {width, height} = canvas;
  const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return {canvas: true, painted, share: painted / (width * height)};
})"""

_DRAWN = """n => {
  const charts = [...document.querySelectorAll('[data-test="chart-container"]')];
  return charts.length >= n && charts.every(c => c.querySelector('canvas'));
}"""


@pytest.fixture(scope="module")
def seen(superset) -> Seen:
    from playwright.sync_api import sync_playwright

    dashboard_data: dict[int, list[dict]] = {}
    errors: list[str] = []
    foreign: list[str] = []

    def on_response(response) -> None:
        parsed = urlparse(response.url)
        if parsed.path.rstrip("/") == "/api/v1/chart/data" and response.status == 200:
            form = json.loads(parse_qs(parsed.query).get("form_data", ["{}"])[0])
            if "slice_id" in form:
                dashboard_data[form["slice_id"]] = response.json()["result"][0]["data"]

    def only_this_host(route) -> None:
        if route.request.url.startswith(superset.url):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    with superset.explained(), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path())
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(PAGE_MS)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("response", on_response)
            page.route("**/*", only_this_host)
            try:
                facts = browse(page, superset)
            except Exception:
                page.screenshot(path=str(superset.shots / "failure.png"), full_page=True)
                raise
        finally:
            browser.close()
    return Seen(dashboard_data=dashboard_data, errors=errors, foreign_hosts=foreign, **facts)


def browse(page, superset: Superset) -> dict:
    """Log in through the form, open the dashboard and a chart's Explore page, ask the saved
    charts' data API and SQL Lab: what the browser drew and got."""
    # log in as an analyst does: the form of the login page
    page.goto(f"{superset.url}/login/")
    page.fill("#username", USER)
    page.fill("#password", superset.password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_load_state("networkidle")
    me = page.request.get(f"{superset.url}/api/v1/me/")
    assert me.ok, f"not logged in after the login form: {me.status} {me.text()[:500]}"

    charts = superset.second["charts"]
    page.goto(f"{superset.url}{superset.second['dashboard_url']}")
    page.wait_for_function(_DRAWN, arg=len(charts))
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(superset.shots / "dashboard.png"), full_page=True)
    dashboard_canvases = page.evaluate(_CANVASES)

    page.goto(f"{superset.url}/explore/?slice_id={charts['mrr']}")
    page.wait_for_function(_DRAWN, arg=1)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(superset.shots / "explore.png"), full_page=True)
    explore_canvases = page.evaluate(_CANVASES)

    saved = {}
    for chart_id in charts.values():
        response = page.request.get(f"{superset.url}/api/v1/chart/{chart_id}/data/")
        assert response.ok, f"chart {chart_id} data: {response.status} {response.text()}"
        saved[chart_id] = response.json()["result"][0]["data"]

    csrf = page.request.get(f"{superset.url}/api/v1/security/csrf_token/").json()
    sql_lab = page.request.post(
        f"{superset.url}/api/v1/sqllab/execute/",
        data={
            "database_id": superset.second["database_id"],
            "sql": "select current_setting('access_mode') as access_mode",
            "runAsync": False,
            "client_id": secrets.token_hex(5),
        },
        headers={"X-CSRFToken": csrf["result"], "Referer": f"{superset.url}/sqllab/"},
    )
    assert sql_lab.ok, f"SQL Lab: {sql_lab.status} {sql_lab.text()[:2000]}"
    access_mode = sql_lab.json()["data"]
    return {
        "dashboard_canvases": dashboard_canvases,
        "explore_canvases": explore_canvases,
        "saved_data": saved,
        "access_mode": access_mode,
    }


def month(epoch_ms: float) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).date()


def by_month(rows: list[dict]) -> dict[date, dict]:
    """Superset's rows keyed by month, their amounts as floats (None stays None)."""
    return {
        month(row["month_start"]): {k: v for k, v in row.items() if k != "month_start"}
        for row in rows
    }


def expected(warehouse: Path, key: str) -> dict[date, dict]:
    """The chart's numbers as DuckDB reads them from the mart (read-only, this venv's DuckDB)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cursor = con.execute(EXPECTED_SQL[key])
        names = [column[0] for column in cursor.description][1:]
        rows = cursor.fetchall()
    finally:
        con.close()
    return {
        row[0]: {
            name: None if v is None else float(v) for name, v in zip(names, row[1:], strict=True)
        }
        for row in rows
    }


def assert_same_rows(got: dict[date, dict], want: dict[date, dict], what: str) -> None:
    assert want, f"the mart has no rows: {what} would draw nothing"
    assert sorted(got) == sorted(want), f"{what}: months {sorted(got)} != the mart's {sorted(want)}"
    for when, values in want.items():
        assert set(got[when]) == set(values), f"{what} {when}: series {sorted(got[when])}"
        for name, value in values.items():
            if value is None:
                assert got[when][name] is None, f"{what} {when} {name}: {got[when][name]} != NULL"
            else:
                assert got[when][name] == pytest.approx(value, abs=1e-6), f"{what} {when} {name}"


def test_make_superset_registers_the_file_read_only_with_every_mart_once(superset, warehouse):
    with superset.explained():
        # run twice, the bootstrap updated what the first run made
        assert superset.second == superset.first
        marts = {
            name
            for (name,) in query(
                warehouse,
                "select table_name from duckdb_tables() where schema_name = 'marts'",
            )
        }
        assert set(superset.second["datasets"]) == marts
        con = sqlite3.connect(superset.metadata)
        try:
            counts = {
                table: con.execute(f"select count(*) from {table}").fetchone()[0]
                for table in ("dbs", "tables", "slices", "dashboards", "dashboard_slices")
            }
            ((uri, extra),) = con.execute("select sqlalchemy_uri, extra from dbs").fetchall()
            schemas = {s for (s,) in con.execute("select distinct schema from tables")}
        finally:
            con.close()
        assert counts == {
            "dbs": 1,
            "tables": len(marts),
            "slices": 3,
            "dashboards": 1,
            "dashboard_slices": 3,
        }
        assert schemas == {"marts"}
        assert uri == f"duckdb:///{warehouse.resolve()}"
        assert json.loads(extra)["engine_params"] == {"connect_args": {"read_only": True}}


def test_superset_opens_the_file_read_only(superset, seen):
    with superset.explained():
        # asked in SQL Lab, of the connection Superset opened
        assert seen.access_mode == [{"access_mode": "read_only"}]


def test_the_dashboard_draws_each_chart_from_the_marts_rows(superset, seen, warehouse):
    with superset.explained():
        charts = superset.second["charts"]
        assert len(seen.dashboard_canvases) == len(charts), seen.dashboard_canvases
        for canvas in seen.dashboard_canvases:
            # a drawn echarts canvas: axes, labels and the series paint well over 1 % of it
            assert canvas["canvas"] and canvas["share"] > 0.01, seen.dashboard_canvases
        assert set(seen.dashboard_data) == set(charts.values()), seen.dashboard_data.keys()
        for key, chart_id in charts.items():
            assert_same_rows(
                by_month(seen.dashboard_data[chart_id]),
                expected(warehouse, key),
                f"the dashboard's {key} chart",
            )
        assert not seen.errors, seen.errors
        # Superset's telemetry pixel is refused by the content security policy (superset_config)
        assert not seen.foreign_hosts, seen.foreign_hosts


def test_a_charts_explore_page_draws_it(superset, seen):
    with superset.explained():
        assert len(seen.explore_canvases) == 1, seen.explore_canvases
        assert seen.explore_canvases[0]["share"] > 0.01, seen.explore_canvases


def test_the_saved_charts_data_api_serves_the_marts_rows(superset, seen, warehouse):
    with superset.explained():
        for key, chart_id in superset.second["charts"].items():
            assert_same_rows(
                by_month(seen.saved_data[chart_id]),
                expected(warehouse, key),
                f"GET /api/v1/chart/{chart_id}/data/ ({key})",
            )
