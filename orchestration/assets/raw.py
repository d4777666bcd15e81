"""One asset per raw contract table: landing files -> DuckDB `raw.<table>`."""

import dagster as dg

from orchestration.freshness import RAW_FRESHNESS
from orchestration.resources import Warehouse
from subscriber_warehouse.contract import TABLES, Table
from subscriber_warehouse.load import LoadError, TableResult, load_table

# A lock held by another DuckDB process or a landing share briefly unavailable passes; a few
# seconds apart, two more attempts ride it out. Contract errors (LoadError) are not retried.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=5)


def load_metadata(result: TableResult) -> dict:
    unknown = sorted({c for f in result.files for c in f.unknown_columns})
    return {
        "files_seen": len(result.files),
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "dagster/row_count": result.rows_loaded,
        "unknown_columns": ", ".join(unknown) or "none",
        "files": dg.MetadataValue.md(
            "| file | read | loaded | rejected |\n|---|---|---|---|\n"
            + "\n".join(
                f"| {f.file} | {f.rows_read} | {f.rows_loaded} | {f.rows_rejected} |"
                for f in result.files
            )
        ),
    }


def _raw_asset(table: Table) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", table.name],
        group_name="raw",
        kinds={"duckdb"},
        owners=["team:data-platform"],
        description=f"Raw `{table.name}` as landed, typed per the raw contract; {table.grain}. "
        "Rows breaking a contract rule are in raw.rejected_rows.",
        retry_policy=TRANSIENT_RETRY,
        freshness_policy=RAW_FRESHNESS,
    )
    def _load(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        try:
            with warehouse.connection() as con:
                result = load_table(con, warehouse.landing, table.name, warehouse.now())
        except LoadError as e:
            # a broken landing file stays broken: fail now, naming it, instead of retrying
            raise dg.Failure(description=str(e), allow_retries=False) from None
        if result.rows_rejected:
            context.log.warning(
                f"{table.name}: {result.rows_rejected} of {result.rows_read} rows quarantined "
                "to raw.rejected_rows"
            )
        return dg.MaterializeResult(metadata=load_metadata(result))

    return _load


raw_assets = [_raw_asset(t) for t in TABLES.values()]
