"""The dbt project as Dagster assets: every model an asset, every dbt test an asset check."""

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.freshness import MART_FRESHNESS
from orchestration.partitions import is_full_refresh, run_days
from orchestration.project import dbt_project
from orchestration.resources import WAREHOUSE_POOL, Warehouse


class MetaTranslator(DagsterDbtTranslator):
    """Groups and owners come from each model's `meta.dagster` in dbt, not from its name."""

    @staticmethod
    def _meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
        return (props.get("config", {}).get("meta") or props.get("meta") or {}).get("dagster", {})

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return self._meta(dbt_resource_props).get("group") or super().get_group_name(
            dbt_resource_props
        )

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return self._meta(dbt_resource_props).get("owners") or ["team:analytics-engineering"]

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        # BI reads the marts: a stale one is a failure in the UI (orchestration/freshness.py)
        if spec.key.path[0] == "marts":
            return spec.replace_attributes(freshness_policy=MART_FRESHNESS)
        return spec


translator = MetaTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def build_args(tags: Mapping[str, str]) -> list[str]:
    """`dbt build` for a run with these tags. Incremental models (fct_usage_daily) rebuild the
    days from the run's first partition day on (var reprocess_from), besides their lookback; a
    full-refresh run rebuilds them whole. dbt models are not partitioned in Dagster: every run
    updates each one as a whole table, whatever days it loaded."""
    if is_full_refresh(tags):
        return ["build", "--full-refresh"]
    days = run_days(tags)
    if days:
        return ["build", "--vars", json.dumps({"reprocess_from": days[0]})]
    return ["build"]


# Models built on the Python predictive marts (dbt sources `predictive`) run as a second dbt
# step after them; everything else is one step, so a run is two dbt invocations, not a split per
# dependency cycle.
AFTER_PREDICTIVE = "source:predictive+"


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    # dbt runs as its own process: it finds the pipeline's database through the profile's env var
    os.environ["SW_WAREHOUSE"] = str(warehouse.path)
    warehouse.path.parent.mkdir(parents=True, exist_ok=True)
    yield from dbt.cli(build_args(context.run.tags), context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude=AFTER_PREDICTIVE,
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    yield from _build(context, dbt, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=AFTER_PREDICTIVE,
    name="dbt_models_after_predictive",
    pool=WAREHOUSE_POOL,
)
def dbt_models_after_predictive(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
):
    yield from _build(context, dbt, warehouse)


DBT_ASSETS = [dbt_models, dbt_models_after_predictive]
