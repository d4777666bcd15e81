"""Raw tables into Spark: the DuckDB loader's `raw.*` copied to Spark database `raw`.

The landing files are validated by the normal loader (subscriber_warehouse.load) into a DuckDB
file, so the raw contract, the quarantine and the accounting are the same on both engines. Each
`raw.<table>` is then exported to Parquet and written as a Parquet table `raw.<table>` of the
Spark session dbt's `spark` target uses (profiles.yml): same master, warehouse directory, Hive
metastore (embedded Derby under SW_SPARK_DIR) and UTC session time zone. Derby admits one
process at a time, so this finishes (and stops its session) before dbt starts.

Needs the `spark` extra (pyspark): `make test-spark` builds `.venv-spark` with it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import jinja2
import yaml

from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load import connect, load_table
from subscriber_warehouse.load.validate import sql_str

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ROOT / "profiles.yml"
DEFAULT_SPARK_DIR = "data/spark"
# set by dbt-spark on every session it opens (connections.py): the loader runs the same way
DBT_SPARK_FORCED = {"spark.sql.ansi.enabled": "false"}


def spark_dir() -> Path:
    """The folder of the Spark warehouse and metastore: SW_SPARK_DIR, made absolute."""
    return Path(os.environ.get("SW_SPARK_DIR", DEFAULT_SPARK_DIR)).resolve()


def spark_conf(directory: Path | None = None, profiles: Path = PROFILES) -> dict[str, str]:
    """The `spark` target's server_side_parameters, rendered as dbt renders them.

    SW_SPARK_DIR is set to `directory` (absolute) for the rendering, so the loader and a dbt run
    given the same SW_SPARK_DIR open the same metastore and warehouse directory.
    """
    directory = (directory or spark_dir()).resolve()
    env = {**os.environ, "SW_SPARK_DIR": str(directory)}

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}")
        return default

    text = jinja2.Template(profiles.read_text()).render(env_var=env_var)
    target = yaml.safe_load(text)["subscriber_warehouse"]["outputs"]["spark"]
    conf = {str(k): str(v) for k, v in target["server_side_parameters"].items()}
    return {**conf, **DBT_SPARK_FORCED}


def session(directory: Path | None = None) -> SparkSession:
    """A Spark session with Hive support, configured like the dbt `spark` target."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    directory = (directory or spark_dir()).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.appName("subscriber-warehouse").enableHiveSupport()
    for key, value in spark_conf(directory).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _spark_type(duckdb_type: str) -> str:
    """The Spark type of a DuckDB column type (raw tables: the contract's types, and lists)."""
    t = duckdb_type.upper()
    if t.endswith("[]"):
        return f"array<{_spark_type(t[:-2])}>"
    if t.startswith("DECIMAL"):
        return t.lower()
    return {
        "VARCHAR": "string",
        "BIGINT": "bigint",
        "INTEGER": "int",
        "DOUBLE": "double",
        "BOOLEAN": "boolean",
        "DATE": "date",
        # naive UTC in DuckDB; a Spark timestamp read in the UTC session time zone
        "TIMESTAMP": "timestamp",
    }[t]


def copy_raw(duckdb_path: Path, spark: SparkSession, tables: Iterable[str] | None = None) -> dict:
    """Replace Spark `raw.<table>` with DuckDB `raw.<table>` for each table; row counts."""
    con = duckdb.connect(str(duckdb_path), read_only=True)
    counts: dict[str, int] = {}
    try:
        con.execute("set TimeZone = 'UTC'")
        present = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw' order by table_name"
            ).fetchall()
        ]
        wanted = present if tables is None else [t for t in tables if t in present]
        spark.sql("create database if not exists raw")
        with tempfile.TemporaryDirectory(prefix="sw-spark-load-") as tmp:
            for name in wanted:
                if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                    raise ValueError(f"unexpected raw table name {name!r}")
                columns = con.execute(f"describe raw.{name}").fetchall()
                path = Path(tmp) / f"{name}.parquet"
                con.execute(f"copy raw.{name} to {sql_str(str(path))} (format parquet)")
                # DuckDB's naive timestamps arrive as timestamp_ntz: cast every column to the
                # Spark type the models expect (timestamps in the UTC session time zone)
                casts = [f"cast(`{c}` as {_spark_type(t)}) as `{c}`" for c, t, *_ in columns]
                frame = spark.read.parquet(str(path)).selectExpr(*casts)
                spark.sql(f"drop table if exists raw.{name}")
                frame.write.format("parquet").saveAsTable(f"raw.{name}")
                counts[name] = spark.table(f"raw.{name}").count()
                expected = con.execute(f"select count(*) from raw.{name}").fetchone()[0]
                if counts[name] != expected:
                    raise RuntimeError(
                        f"raw.{name}: {counts[name]} rows in Spark, {expected} in DuckDB"
                    )
    finally:
        con.close()
    return counts


def load_landing(landing: Path, duckdb_path: Path, now: datetime) -> dict[str, tuple[int, int]]:
    """The normal raw load (every contract table) into a DuckDB file; (loaded, rejected)."""
    con = connect(duckdb_path)
    try:
        results = {}
        for name in TABLES:
            result = load_table(con, landing, name, now)
            results[name] = (result.rows_loaded, result.rows_rejected)
        return results
    finally:
        con.close()
