"""Metrics by name from the published warehouse: MetricFlow's engine over the semantic manifest
dbt wrote (target/semantic_manifest.json) and a read-only DuckDB connection.

`mf query` gives the same numbers, but first loads the whole dbt project and runs `dbt debug`
(~5 s before any SQL); this reads the two files it needs. And where `mf` prints blanks, it says
which metric had no value for which rows, and why that usually is."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

from subscriber_warehouse.publish import open_published

SEMANTIC_MANIFEST = "semantic_manifest.json"
NO_PARAMETERS = SqlBindParameterSet()


class PublishedSqlClient:
    """MetricFlow's SqlClient over a read-only connection to the published file."""

    sql_engine_type = SqlEngine.DUCKDB
    sql_plan_renderer = DuckDbSqlPlanRenderer()

    def __init__(self, published: Path):
        self._con = open_published(published)
        self.database = self._con.execute("select current_database()").fetchall()[0][0]

    def query(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> MetricFlowDataTable:
        cursor = self._con.execute(stmt, dict(sql_bind_parameter_set.param_dict) or None)
        columns = [description[0] for description in cursor.description]
        return MetricFlowDataTable.create_from_rows(column_names=columns, rows=cursor.fetchall())

    def execute(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        self._con.execute(stmt, dict(sql_bind_parameter_set.param_dict) or None)

    def dry_run(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        self._con.execute(f"explain {stmt}", dict(sql_bind_parameter_set.param_dict) or None)

    def close(self) -> None:
        self._con.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"


def semantic_manifest(target: Path, database: str) -> SemanticManifestLookup:
    """The semantic manifest in dbt's `target` folder, its tables read from `database`: dbt
    names them in the database it parsed with (the file name of the run's warehouse), and the
    manifest may be another warehouse's."""
    source = target / SEMANTIC_MANIFEST
    if not source.is_file():
        raise FileNotFoundError(
            f"{source} does not exist: `subscriber-warehouse run` (or `dbt parse`) writes it"
        )
    manifest = json.loads(source.read_text())
    spines = manifest["project_configuration"]["time_spines"]
    for model in [*manifest["semantic_models"], *spines]:
        relation = model["node_relation"]
        relation["database"] = database
        relation["relation_name"] = ".".join(
            f'"{part}"' for part in (database, relation["schema_name"], relation["alias"])
        )
    return SemanticManifestLookup(parse_manifest_from_dbt_generated_manifest(json.dumps(manifest)))


@dataclass(frozen=True)
class MetricsQuery:
    metrics: Sequence[str] = ()
    group_by: Sequence[str] = ()
    where: Sequence[str] = ()
    order_by: Sequence[str] = ()
    limit: int | None = None
    saved_query: str | None = None


def query(published: Path, target: Path, request: MetricsQuery) -> MetricFlowDataTable:
    client = PublishedSqlClient(published)
    try:
        lookup = semantic_manifest(target, client.database)
        engine = MetricFlowEngine(semantic_manifest_lookup=lookup, sql_client=client)
        result = engine.query(
            MetricFlowQueryRequest.create(
                saved_query_name=request.saved_query,
                metric_names=request.metrics or None,
                group_by_names=request.group_by or None,
                where_constraints=request.where or None,
                order_by_names=request.order_by or None,
                limit=request.limit,
            )
        )
    finally:
        client.close()
    return result.result_df


def blank_metrics(table: MetricFlowDataTable, request: MetricsQuery) -> list[str]:
    """A warning for each metric with no value in some rows: what `mf` shows as blanks."""
    warnings = []
    # a result's dimension columns are entity__dimension or metric_time__grain; metrics are not
    metrics = [(i, c) for i, c in enumerate(table.column_names) if "__" not in c]
    for index, metric in metrics:
        blanks = sum(value is None for value in table.column_values_iterator(index))
        if not blanks:
            continue
        rows = "every row" if blanks == table.row_count else f"{blanks} of {table.row_count} rows"
        warnings.append(f"{metric} has no value in {rows}: {_why_blank(request)}")
    return warnings


def _why_blank(request: MetricsQuery) -> str:
    grouped = " ".join(request.group_by)
    if "cohort_month" in grouped and "metric_time" not in grouped:
        return (
            "without metric_time a stock in its formula (mrr_start, customers_start) is the first "
            "month's, before any cohort paid; for retention by cohort query "
            "cohort_revenue_retention or cohort_logo_retention --group-by "
            "metric_time__month,cohort__months_since_start"
        )
    if request.group_by and "metric_time" not in grouped:
        return (
            "without metric_time a stock in its formula is the first month's: add "
            "metric_time__month to --group-by"
        )
    return "its denominator is zero there (no customers or MRR at the start, nothing lost)"
