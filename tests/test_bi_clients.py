"""BI tools open the published file: a DuckDB 1.0 client (its own venv, `make duckdb1-client`)
reads every published table read-only, with the dbt descriptions as table and column comments."""

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from flow import query

ROOT = Path(__file__).resolve().parent.parent
DUCKDB1_PYTHON = ROOT / ".venv-duckdb1" / "bin" / "python"

# runs in the DuckDB 1.0 client: what a BI tool asks of the file
CLIENT = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
tables = con.execute(
    "select schema_name, table_name, comment from duckdb_tables() order by all"
).fetchall()
print(json.dumps({
    "version": duckdb.__version__,
    "rows": {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0]
             for s, t, _ in tables},
    "table_comments": {f"{s}.{t}": c for s, t, c in tables},
    "column_comments": {f"{s}.{t}.{c}": comment for s, t, c, comment in con.execute(
        "select schema_name, table_name, column_name, comment from duckdb_columns()"
    ).fetchall()},
}))
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def seen_by_duckdb1(warehouse) -> dict:
    done = subprocess.run(
        [str(DUCKDB1_PYTHON), "-c", CLIENT, str(warehouse)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_a_duckdb_1_0_client_reads_every_published_table(warehouse, seen_by_duckdb1):
    assert seen_by_duckdb1["version"] == "1.0.0"
    tables = query(
        warehouse,
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database()",
    )
    expected = {
        f"{s}.{t}": query(warehouse, f'select count(*) from "{s}"."{t}"')[0][0] for s, t in tables
    }
    assert seen_by_duckdb1["rows"] == expected
    assert expected["marts.subscription_metrics_monthly"] > 0


def test_dbt_descriptions_are_the_tables_and_columns_comments(seen_by_duckdb1):
    models = yaml.safe_load(
        (ROOT / "dbt_project/models/marts/metrics/_metrics__models.yml").read_text()
    )["models"]
    (metrics,) = [m for m in models if m["name"] == "subscription_metrics_monthly"]
    (mrr_end,) = [c for c in metrics["columns"] if c["name"] == "mrr_end"]
    table = "marts.subscription_metrics_monthly"
    assert seen_by_duckdb1["table_comments"][table] == metrics["description"].strip()
    assert seen_by_duckdb1["column_comments"][f"{table}.mrr_end"] == mrr_end["description"].strip()
    # the Python steps' tables carry their dbt source's description
    assert seen_by_duckdb1["table_comments"]["marts.churn_risk_scores"]
