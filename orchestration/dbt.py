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


# the incremental dbt model and the daily raw table it is built from
INCREMENTAL_MODEL = dg.AssetKey(["marts", "fct_usage_daily"])
INCREMENTAL_SOURCE = dg.AssetKey(["raw", "usage_events"])


def build_args(tags: Mapping[str, str], loaded_since_last_build: str | None = None) -> list[str]:
    """`dbt build` for a run with these tags. Incremental models (fct_usage_daily) rebuild the
    days from var reprocess_from on, besides their lookback: the run's first partition day, or
    an earlier day loaded since the model was last built (`loaded_since_last_build`). A
    full-refresh run rebuilds them whole. dbt models are not partitioned in Dagster: every run
    updates each one as a whole table, whatever days it loaded."""
    if is_full_refresh(tags):
        return ["build", "--full-refresh"]
    days = [d for d in (*(run_days(tags) or ()), loaded_since_last_build) if d]
    if days:
        return ["build", "--vars", json.dumps({"reprocess_from": min(days)})]
    return ["build"]


def first_day_loaded_since_last_build(instance: dg.DagsterInstance) -> str | None:
    """The earliest day partition of the incremental model's raw table materialized since the
    model's last materialization: days loaded by a run whose dbt step failed, or by a backfill
    of the raw assets alone, which the next build must still catch up on."""
    last_build = instance.fetch_materializations(INCREMENTAL_MODEL, limit=1).records
    loaded = dg.AssetRecordsFilter(
        asset_key=INCREMENTAL_SOURCE,
        after_storage_id=last_build[0].storage_id if last_build else None,
    )
    first, cursor = None, None
    while True:
        page = instance.fetch_materializations(loaded, limit=1000, cursor=cursor)
        days = [r.partition_key for r in page.records if r.partition_key]
        first = min([*days, *([first] if first else [])], default=None)
        if not page.has_more:
            return first
        cursor = page.cursor


# Models built on the Python predictive marts (dbt sources `predictive`) run as a second dbt
# step after them; everything else is one step, so a run is two dbt invocations, not a split per
# dependency cycle.
AFTER_PREDICTIVE = "source:predictive+"


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
    # dbt runs as its own process: it finds the pipeline's database through the profile's env var
    os.environ["SW_WAREHOUSE"] = str(warehouse.path)
    warehouse.path.parent.mkdir(parents=True, exist_ok=True)
    caught_up = first_day_loaded_since_last_build(context.instance)
    yield from dbt.cli(build_args(context.run.tags, caught_up), context=context).stream()


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
