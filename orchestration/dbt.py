"""The dbt project as Dagster assets: every model an asset, every dbt test an asset check."""

import logging
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    DAGSTER_DBT_SELECTOR_METADATA_KEY,
    get_manifest_and_translator_from_dbt_assets,
    get_subset_selection_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from orchestration.dbt_in_process import command, stream
from orchestration.dbt_runs import (
    PREVIEWED_SCHEMAS,
    REPROCESS_FROM_ENV,
    broken_rules,
    build_args,
    first_day_loaded_since_last_build,
    reprocess_from,
    table_metadata,
)
from orchestration.freshness import MART_FRESHNESS
from orchestration.progress import DBT_NODES_LOGGER, DBT_STEP_ATTR
from orchestration.project import (
    dbt_environment,
    dbt_project,
    invocation_folder,
    prepare_manifest,
)
from orchestration.resources import WAREHOUSE_POOL, Warehouse
from subscriber_warehouse.dbt_target import PROJECT_ROOT
from subscriber_warehouse.publish import make_working_folder


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


# Models built on the Python predictive marts (dbt sources `predictive`) run as a second dbt
# step after them; everything else is one step, so a run is two dbt invocations, not a split per
# dependency cycle.
AFTER_PREDICTIVE = "source:predictive+"

_nodes = logging.getLogger(DBT_NODES_LOGGER)


def _build(context: dg.AssetExecutionContext, warehouse: Warehouse):
    step = context.op_execution_context.op.name
    make_working_folder(warehouse.published)
    os.environ[REPROCESS_FROM_ENV] = reprocess_from(
        context.run.tags, first_day_loaded_since_last_build(context.instance)
    )
    manifest, _, project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    target = invocation_folder(warehouse.published, step)
    args = command(
        [*build_args(context.run.tags), *selection_args(context, manifest)], PROJECT_ROOT, target
    )
    # dbt holds the DuckDB file until it is done: row counts and previews are read after that,
    # and what succeeded before a failure is still reported before the failure is raised
    events, failure = [], None
    try:
        parsed = prepare_manifest()
        with dbt_environment(warehouse.path):
            for raw in stream(parsed, args):
                result = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
                for event in result.to_default_asset_events(
                    manifest=manifest,
                    dagster_dbt_translator=translator,
                    context=context,
                    target_path=target,
                    project=project,
                ):
                    events.append(event)
                    _nodes.debug("dbt node done", extra={DBT_STEP_ATTR: step})
    except Exception as error:
        failure = error
    if failure and not events:
        raise failure
    with warehouse.reader() as con:
        for event in events:
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name)
                if key.path[0] in PREVIEWED_SCHEMAS:
                    event = event.with_metadata({**event.metadata, **table_metadata(con, key)})
            elif isinstance(event, dg.AssetCheckResult):
                event = broken_rules(con, target, event)
            yield event
    if failure:
        raise failure


def selection_args(context: dg.AssetExecutionContext, manifest: Mapping[str, Any]) -> list[str]:
    """What dbt selects for this step: its assets definition's selection, or, when the run
    selects some of its assets or checks (from the UI), those, by dagster-dbt's rules. dbt runs
    in this process, so a long selection is passed as it is (dagster-dbt's subprocess writes one
    above 200 nodes into a selector in a copy of the project, which dbt would parse again)."""
    tags = context.op_execution_context.op.tags
    selection, indirect = get_subset_selection_for_context(
        context=context,
        manifest=manifest,
        select=tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
        exclude=tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY),
        selector=tags.get(DAGSTER_DBT_SELECTOR_METADATA_KEY),
        dagster_dbt_translator=translator,
        current_dbt_indirect_selection_env=None,
    )
    return [*selection, *(["--indirect-selection", indirect] if indirect else [])]


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude=AFTER_PREDICTIVE,
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, warehouse: Warehouse):
    yield from _build(context, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=AFTER_PREDICTIVE,
    name="dbt_models_after_predictive",
    pool=WAREHOUSE_POOL,
)
def dbt_models_after_predictive(context: dg.AssetExecutionContext, warehouse: Warehouse):
    yield from _build(context, warehouse)


DBT_ASSETS = [dbt_models, dbt_models_after_predictive]


def dbt_nodes_per_step() -> dict[str, int]:
    """Each dbt step's models, seeds, snapshots and tests: what a progress display counts to."""
    return {assets.op.name: len(assets.keys) + len(assets.check_keys) for assets in DBT_ASSETS}
