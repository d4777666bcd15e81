"""The metric marts built on Spark equal the DuckDB build, row for row (`make test-spark`).

One sample (300 customers, seed 5) is loaded by the normal loader into DuckDB; the same raw
tables are copied into Spark (subscriber_warehouse.spark_load, as `subscriber-warehouse
spark-load` does). The same dbt selection is built on both engines, with its tests, and
fct_customer_mrr_monthly, subscription_metrics_monthly and cohort_retention_monthly are compared:
same columns and types, same rows in key order, amounts equal to the cent (decimal(18,2) on both),
rates within 1e-9.

Marked `spark`: it needs the spark extra (.venv-spark) and is not part of the default run.
Spark runs in this process (dbt-spark `method: session` reuses the loader's session).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from subscriber_warehouse import spark_load

pytestmark = [
    pytest.mark.spark,
    # pyspark 4.3 warns about pandas 3 on import; this test never converts to pandas
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "subscriber-warehouse")
SELECT = [
    "--select",
    "+fct_customer_mrr_monthly",
    "+subscription_metrics_monthly",
    "+cohort_retention_monthly",
    # tests of models outside the selection (relationships to unbuilt staging models) stay out
    "--indirect-selection",
    "cautious",
    # as the spark selector (selectors.yml) says why
    "--exclude",
    "unit_test:plan_versions_and_monthly_factors",
]
MARTS = {
    "fct_customer_mrr_monthly": ["customer_id", "month_start"],
    "subscription_metrics_monthly": ["month_start"],
    "cohort_retention_monthly": ["cohort_month", "month_start"],
}
RATE_TOLERANCE = 1e-9


def run_dbt(args: list[str], tmp: Path, name: str):
    from dbt.cli.main import dbtRunner

    common = ["--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
    paths = ["--target-path", str(tmp / f"target-{name}"), "--log-path", str(tmp / "logs")]
    quiet = ["--no-send-anonymous-usage-stats", "--no-use-colors", "--quiet"]
    res = dbtRunner().invoke([*args, *common, *paths, *quiet])
    assert res.exception is None, res.exception
    not_ok = {r.node.unique_id: str(r.status) for r in res.result} if res.result else {}
    not_ok = {k: s for k, s in not_ok.items() if s not in ("success", "pass")}
    assert res.success and not not_ok, not_ok
    return res


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """(DuckDB marts, Spark marts): per mart, column types and rows in key order."""
    pytest.importorskip("pyspark", reason="needs the spark extra: make test-spark")
    tmp = tmp_path_factory.mktemp("spark")
    landing = tmp / "landing"
    env = {**os.environ, "TZ": "UTC", "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        [CLI, "generate", "--customers", "300", "--seed", "5", "--out", str(landing)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr

    # the normal raw load, once: the DuckDB build runs on a copy, Spark reads the original
    raw = tmp / "raw_load.duckdb"
    loaded = spark_load.load_landing(landing, raw, datetime.now(UTC).replace(tzinfo=None))
    assert all(rows > 0 for rows, _ in loaded.values()), loaded
    warehouse = tmp / "warehouse.duckdb"
    warehouse.write_bytes(raw.read_bytes())

    spark_dir = tmp / "spark"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SW_WAREHOUSE", str(warehouse))
        mp.setenv("SW_SPARK_DIR", str(spark_dir))
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        run_dbt(["build", "--target", "duckdb", *SELECT], tmp, "duckdb")
        # read-write: dbt-duckdb may still hold the file open in this process
        con = duckdb.connect(str(warehouse))
        try:
            duck = {name: _duckdb_mart(con, name, keys) for name, keys in MARTS.items()}
        finally:
            con.close()

        spark = spark_load.session(spark_dir)
        try:
            counts = spark_load.copy_raw(raw, spark)
            assert counts["subscription_events"] == loaded["subscription_events"][0]
            run_dbt(["build", "--target", "spark", *SELECT], tmp, "spark")
            on_spark = {name: _spark_mart(spark, name, keys) for name, keys in MARTS.items()}
        finally:
            spark.stop()
    return duck, on_spark


def _duckdb_mart(con, name: str, keys: list[str]):
    columns = [(c[0], c[1].lower()) for c in con.execute(f"describe marts.{name}").fetchall()]
    rows = con.execute(f"select * from marts.{name} order by {', '.join(keys)}").fetchall()
    return columns, rows


def _spark_mart(spark, name: str, keys: list[str]):
    frame = spark.table(f"marts.{name}")
    columns = [(f.name, f.dataType.simpleString()) for f in frame.schema.fields]
    return columns, [tuple(r) for r in frame.orderBy(*keys).collect()]


# DuckDB's type names -> Spark's, for the types the three marts use
SPARK_TYPE = {"varchar": "string", "integer": "int"}


@pytest.mark.parametrize("mart", list(MARTS))
def test_mart_has_the_same_columns_and_types(builds, mart):
    duck, on_spark = builds
    duck_columns = [(n, SPARK_TYPE.get(t, t)) for n, t in duck[mart][0]]
    assert duck_columns == on_spark[mart][0]


@pytest.mark.parametrize("mart", list(MARTS))
def test_mart_equals_the_duckdb_build_row_for_row(builds, mart):
    duck, on_spark = builds
    names = [n for n, _ in duck[mart][0]]
    duck_rows, spark_rows = duck[mart][1], on_spark[mart][1]
    assert len(duck_rows) > 0
    assert len(spark_rows) == len(duck_rows)
    differences = []
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        for name, a, b in zip(names, duck_row, spark_row, strict=True):
            if not _equal(a, b):
                differences.append((duck_row[:2], name, a, b))
    assert not differences, differences[:20]


def _equal(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=RATE_TOLERANCE, abs_tol=RATE_TOLERANCE)
    if isinstance(a, Decimal):
        # money is decimal(18,2) on both engines: equal to the cent, no rounding allowed
        return isinstance(b, Decimal) and a == b
    return type(a) is type(b) and a == b
