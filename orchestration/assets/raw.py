"""One asset per raw table of the run's billing source: landing files -> DuckDB `raw.<table>`
(the raw contract's tables) or `raw_<source>.<table>` (a billing system's own: sources.py).

The daily tables (usage_events, subscription_events, payments) are partitioned by day folder: a
run loads the days of its partition key or range, in one run whatever its length (single-run
backfills), and keeps the other days. A full-refresh run (the CLI's), or one without a
partition, rebuilds them from every file, top-level bulk history included. The other tables are
small and rebuilt by every run.
"""

import warnings

import dagster as dg

from orchestration.freshness import RAW_FRESHNESS
from orchestration.partitions import daily_partitions, is_full_refresh
from orchestration.resources import WAREHOUSE_POOL, Warehouse
from subscriber_warehouse.contract import Table
from subscriber_warehouse.load import LoadError, TableResult, load_table
from subscriber_warehouse.sources import raw_tables

# A lock held by another DuckDB process or a landing share briefly unavailable passes; a few
# seconds apart, two more attempts ride it out. Contract errors (LoadError) are not retried.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=5)


# A range run repeats its metadata on every day's materialization, so a table of every file
# would grow with the square of the history (730 days: 730 events of 730 rows each). Every
# file's counts are in raw.load_files.
FILES_SHOWN = 20


def _files_table(result: TableResult) -> str:
    """Markdown of the files with quarantined rows first, then the others, up to FILES_SHOWN."""
    files = sorted(result.files, key=lambda f: f.rows_rejected == 0)
    lines = ["| file | read | loaded | rejected |", "|---|---|---|---|"]
    lines += [
        f"| {f.file} | {f.rows_read} | {f.rows_loaded} | {f.rows_rejected} |"
        for f in files[:FILES_SHOWN]
    ]
    if len(files) > FILES_SHOWN:
        lines.append(f"| … {len(files) - FILES_SHOWN} more files: raw.load_files | | | |")
    return "\n".join(lines)


def load_metadata(result: TableResult) -> dict:
    unknown = sorted({c for f in result.files for c in f.unknown_columns})
    metadata = {
        "files_seen": len(result.files),
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        "dagster/row_count": result.rows_loaded,
        "unknown_columns": ", ".join(unknown) or "none",
        "files": dg.MetadataValue.md(_files_table(result)),
    }
    if result.days is not None:
        # the range this run replaced; the table's other days were kept
        metadata["days_replaced"] = len(result.days)
        metadata["first_day"] = result.days[0] if result.days else ""
        metadata["last_day"] = result.days[-1] if result.days else ""
        metadata["days_with_files"] = len({f.file.split("/")[1] for f in result.files})
    return metadata


def _raw_asset(table: Table) -> dg.AssetsDefinition:
    daily = table.day_column is not None

    @dg.asset(
        key=[table.schema, table.name],
        group_name=table.schema,
        kinds={"duckdb"},
        owners=["team:data-platform"],
        description=f"Raw `{table.label}` as landed, typed per its contract; {table.grain}. "
        "Rows breaking a contract rule are in raw.rejected_rows."
        + (
            f" Partitioned by the day folders of {table.name}/ (one run per range)."
            if daily
            else ""
        ),
        retry_policy=TRANSIENT_RETRY,
        freshness_policy=RAW_FRESHNESS,
        partitions_def=daily_partitions if daily else None,
        backfill_policy=dg.BackfillPolicy.single_run() if daily else None,
        pool=WAREHOUSE_POOL,
    )
    def _load(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        # a run without days (no partition, or a full refresh) loads every file
        days = None
        partitioned = context.has_partition_key or context.has_partition_key_range
        if daily and partitioned and not is_full_refresh(context.run.tags):
            days = context.partition_keys
        try:
            database = None if table.schema == "raw" else warehouse.source_tables_database
            with warehouse.connection() as con:
                result = load_table(con, warehouse.landing, table, warehouse.now(), days, database)
        except LoadError as e:
            # a broken landing file stays broken: fail now, naming it, instead of retrying
            raise dg.Failure(description=str(e), allow_retries=False) from None
        if result.rows_rejected:
            context.log.warning(
                f"{table.label}: {result.rows_rejected} of {result.rows_read} rows quarantined "
                "to raw.rejected_rows"
            )
        return dg.MaterializeResult(metadata=load_metadata(result))

    return _load


def raw_assets(billing_source: str) -> list[dg.AssetsDefinition]:
    # backfill_policy is still marked beta in Dagster 1.13; single-run backfills are what the
    # daily tables need (a range loads in one run), so the warning is only noise in every run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return [_raw_asset(t) for t in raw_tables(billing_source)]
