"""Registers the published warehouse in Superset: the admin login (created when missing), the
DuckDB file as a read-only database, every table of its `marts` schema as a dataset, and a starter
dashboard (MRR, MRR movements, logo churn). `make superset-bootstrap` runs it with Superset's venv,
after `superset db upgrade` and `superset init`, as

    SUPERSET_CONFIG_PATH=$PWD/subscriber_warehouse/superset/superset_config.py \\
        SUPERSET_HOME=$PWD/data/superset .venv-superset/bin/python \\
        subscriber_warehouse/superset/bootstrap.py --warehouse $PWD/data/warehouse.duckdb \\
        --admin-user admin

Every object it makes has a fixed UUID, so a second run updates the first run's objects (a new
warehouse path, columns a mart gained, the charts' definitions) instead of adding copies. It prints
one JSON line: the ids of what it registered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

# the fixed UUIDs: uuid5 of this namespace and a name
NAMESPACE = uuid.UUID("5b0f3c2e-8a7d-4e59-9c1b-2f6d7a4e8b10")
DATABASE_NAME = "Subscriber warehouse"
SCHEMA = "marts"
METRICS_TABLE = "subscription_metrics_monthly"
DASHBOARD_TITLE = "Subscription metrics"
DASHBOARD_SLUG = "subscription-metrics"
# the pipeline replaces the file atomically: a reader holds it read-only, never for writing
ENGINE_PARAMS = {"connect_args": {"read_only": True}}


def fixed_uuid(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


def sql_metric(label: str, expression: str) -> dict[str, Any]:
    """An ad-hoc SQL metric, as Explore saves one."""
    return {
        "expressionType": "SQL",
        "sqlExpression": expression,
        "label": label,
        "hasCustomLabel": True,
        "optionName": f"metric_{label.lower().replace(' ', '_')}",
        "aggregate": None,
        "column": None,
    }


# key -> (chart name, viz type, metrics, form data beyond the common part); the amounts are
# the reporting currency's; contraction and churn are stored as positive magnitudes and drawn
# below zero
CHARTS: dict[str, tuple[str, str, list[dict[str, Any]], dict[str, Any]]] = {
    "mrr": (
        "MRR",
        "echarts_timeseries_line",
        [sql_metric("MRR", "SUM(mrr_end)")],
        {"y_axis_format": "SMART_NUMBER", "markerEnabled": True},
    ),
    "movements": (
        "MRR movements",
        "echarts_timeseries_bar",
        [
            sql_metric("New", "SUM(new_mrr)"),
            sql_metric("Expansion", "SUM(expansion_mrr)"),
            sql_metric("Reactivation", "SUM(reactivation_mrr)"),
            sql_metric("Contraction", "-SUM(contraction_mrr)"),
            sql_metric("Churned", "-SUM(churned_mrr)"),
        ],
        {"y_axis_format": "SMART_NUMBER", "stack": "Stack", "orientation": "vertical"},
    ),
    "logo_churn": (
        "Logo churn rate",
        "echarts_timeseries_line",
        [sql_metric("Logo churn rate", "AVG(logo_churn_rate)")],
        {"y_axis_format": ".1%", "markerEnabled": True},
    ),
}


def form_data(dataset_id: int, viz_type: str, metrics: list[dict[str, Any]], extra: dict) -> dict:
    """A monthly time series of `metrics` over month_start, every month, as Explore saves it."""
    return {
        "datasource": f"{dataset_id}__table",
        "viz_type": viz_type,
        "x_axis": "month_start",
        "time_grain_sqla": "P1M",
        "x_axis_sort_asc": True,
        "metrics": metrics,
        "groupby": [],
        "adhoc_filters": [
            {
                "clause": "WHERE",
                "comparator": "No filter",
                "expressionType": "SIMPLE",
                "operator": "TEMPORAL_RANGE",
                "subject": "month_start",
            }
        ],
        "row_limit": 10000,
        "order_desc": True,
        # months whose value is NULL (no churn rate before the first paying month) stay
        "show_empty_columns": True,
        "show_legend": True,
        "legendOrientation": "top",
        "legendType": "scroll",
        "rich_tooltip": True,
        "x_axis_time_format": "%b %Y",
        "tooltipTimeFormat": "%b %Y",
        "truncateXAxis": True,
        "truncate_metric": True,
        "comparison_type": "values",
        "annotation_layers": [],
        "extra_form_data": {},
        **extra,
    }


def query_context(params: dict[str, Any]) -> dict[str, Any]:
    """The query a chart's saved form data runs (what `GET /api/v1/chart/<id>/data/` replays):
    built by the port of the front end's timeseries buildQuery that Superset's own chart
    migrations use, so it is the query Explore would save."""
    from superset.migrations.shared.migrate_viz.processors import TimeseriesChart

    return TimeseriesChart(json.dumps(params))._build_query()


def ensure_admin(username: str, password: str):
    from superset import security_manager

    user = security_manager.find_user(username=username)
    if user is None:
        user = security_manager.add_user(
            username,
            "Local",
            "Admin",
            f"{username}@localhost",
            security_manager.find_role("Admin"),
            password=password,
        )
        if not user:
            raise SystemExit(f"could not create the Superset user {username}")
    return user


def by_uuid(model, key: uuid.UUID, **fallback):
    from superset.extensions import db

    found = db.session.query(model).filter_by(uuid=key).one_or_none()
    if found is None and fallback:
        found = db.session.query(model).filter_by(**fallback).one_or_none()
    if found is None:
        found = model(uuid=key)
        db.session.add(found)
    return found


def register_database(warehouse: Path):
    from superset.extensions import db
    from superset.models.core import Database

    database = by_uuid(Database, fixed_uuid("database"), database_name=DATABASE_NAME)
    database.database_name = DATABASE_NAME
    database.sqlalchemy_uri = f"duckdb:///{warehouse}"
    database.extra = json.dumps(
        {"engine_params": ENGINE_PARAMS, "allows_virtual_table_explore": True}
    )
    database.expose_in_sqllab = True
    database.allow_dml = False
    database.allow_file_upload = False
    database.allow_ctas = False
    database.allow_cvas = False
    database.allow_run_async = False
    db.session.flush()
    return database


def mart_tables(database) -> dict[str, str | None]:
    """Every table of the marts schema and its comment (the dbt model's description), read through
    the registered, read-only connection."""
    from sqlalchemy import text

    with database.get_sqla_engine() as engine, engine.connect() as con:
        rows = con.execute(
            text(
                "select table_name, comment from duckdb_tables() "
                "where database_name = current_database() and schema_name = :schema "
                "order by table_name"
            ),
            {"schema": SCHEMA},
        ).fetchall()
    return {name: comment for name, comment in rows}


def register_datasets(database, owner) -> dict[str, Any]:
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db

    tables = mart_tables(database)
    if METRICS_TABLE not in tables:
        raise SystemExit(f"{database.sqlalchemy_uri} has no {SCHEMA}.{METRICS_TABLE}")
    datasets = {}
    for name, comment in tables.items():
        dataset = by_uuid(
            SqlaTable,
            fixed_uuid(f"dataset:{SCHEMA}.{name}"),
            database_id=database.id,
            schema=SCHEMA,
            table_name=name,
        )
        dataset.database = database
        dataset.schema = SCHEMA
        dataset.table_name = name
        dataset.description = comment
        if owner not in dataset.owners:
            dataset.owners.append(owner)
        db.session.flush()
        dataset.fetch_metadata()
        datasets[name] = dataset
    db.session.flush()
    return datasets


def register_charts(dataset, owner) -> dict[str, Any]:
    from superset.extensions import db
    from superset.models.slice import Slice

    charts = {}
    for key, (name, viz_type, metrics, extra) in CHARTS.items():
        chart = by_uuid(Slice, fixed_uuid(f"chart:{key}"))
        params = form_data(dataset.id, viz_type, metrics, extra)
        chart.slice_name = name
        chart.viz_type = viz_type
        chart.datasource_id = dataset.id
        chart.datasource_type = "table"
        chart.datasource_name = f"{SCHEMA}.{dataset.table_name}"
        chart.params = json.dumps(params)
        chart.query_context = json.dumps(query_context(params))
        if owner not in chart.owners:
            chart.owners.append(owner)
        charts[key] = chart
    db.session.flush()
    return charts


def layout(charts: dict[str, Any]) -> dict[str, Any]:
    """MRR across the top; movements and logo churn side by side below it."""
    rows = [["mrr"], ["movements", "logo_churn"]]
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {
            "type": "GRID",
            "id": "GRID_ID",
            "children": [f"ROW-{i}" for i in range(len(rows))],
            "parents": ["ROOT_ID"],
        },
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": DASHBOARD_TITLE}},
    }
    for i, keys in enumerate(rows):
        row = f"ROW-{i}"
        position[row] = {
            "type": "ROW",
            "id": row,
            "children": [f"CHART-{key}" for key in keys],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for key in keys:
            chart = charts[key]
            position[f"CHART-{key}"] = {
                "type": "CHART",
                "id": f"CHART-{key}",
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row],
                "meta": {
                    "chartId": chart.id,
                    "uuid": str(chart.uuid),
                    "sliceName": chart.slice_name,
                    "width": 12 // len(keys),
                    "height": 50,
                },
            }
    return position


def register_dashboard(charts: dict[str, Any], owner):
    from superset.extensions import db
    from superset.models.dashboard import Dashboard

    dashboard = by_uuid(Dashboard, fixed_uuid("dashboard"), slug=DASHBOARD_SLUG)
    dashboard.dashboard_title = DASHBOARD_TITLE
    dashboard.slug = DASHBOARD_SLUG
    dashboard.description = (
        "Starter dashboard of the published subscriber warehouse (make superset)."
    )
    dashboard.position_json = json.dumps(layout(charts))
    dashboard.json_metadata = json.dumps(
        {
            "refresh_frequency": 0,
            "timed_refresh_immune_slices": [],
            "expanded_slices": {},
            "label_colors": {},
            "color_scheme": "",
            "native_filter_configuration": [],
            "cross_filters_enabled": False,
        }
    )
    dashboard.published = True
    dashboard.slices = list(charts.values())
    if owner not in dashboard.owners:
        dashboard.owners.append(owner)
    db.session.flush()
    return dashboard


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", required=True, type=Path, help="the published DuckDB file")
    parser.add_argument("--admin-user", default="admin")
    args = parser.parse_args(argv)
    warehouse = args.warehouse.resolve()
    if not warehouse.is_file():
        parser.error(f"{warehouse} does not exist: `make run` builds it")
    password = os.environ.get("SUPERSET_ADMIN_PASSWORD") or "admin"

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset.extensions import db

        owner = ensure_admin(args.admin_user, password)
        database = register_database(warehouse)
        datasets = register_datasets(database, owner)
        charts = register_charts(datasets[METRICS_TABLE], owner)
        dashboard = register_dashboard(charts, owner)
        db.session.commit()
        print(
            json.dumps(
                {
                    "database_id": database.id,
                    "datasets": {name: d.id for name, d in datasets.items()},
                    "charts": {key: c.id for key, c in charts.items()},
                    "dashboard_id": dashboard.id,
                    "dashboard_url": f"/superset/dashboard/{DASHBOARD_SLUG}/",
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
