"""The `subscriber-warehouse` command: generate sample data, run the pipeline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

DEFAULT_LANDING = "data/landing"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"


@click.group()
def main() -> None:
    """Subscriber Warehouse: MRR, churn, retention and CLV from your billing exports."""


@main.command()
@click.option("--customers", default=10_000, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option(
    "--start",
    default="2024-01-01",
    show_default=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day of the simulated history.",
)
@click.option("--months", default=24, show_default=True, type=click.IntRange(min=1))
@click.option("--out", default=DEFAULT_LANDING, show_default=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", default="parquet", show_default=True, type=click.Choice(["parquet", "csv"])
)
@click.option(
    "--dirty", is_flag=True, help="Add realistic dirt: re-deliveries, a late file, bad rows."
)
@click.option(
    "--workers", default=os.cpu_count() or 1, show_default=True, type=click.IntRange(min=1)
)
def generate(customers, seed, start, months, out, fmt, dirty, workers) -> None:
    """Write a landing folder of realistic sample data that obeys the raw contract."""
    from subscriber_warehouse.generate import generate as run_generator

    if out.exists() and any(out.iterdir()):
        raise click.ClickException(f"{out} is not empty: choose an empty or new folder")
    manifest = run_generator(
        out,
        customers=customers,
        seed=seed,
        start=start.date(),
        months=months,
        fmt=fmt,
        dirty=dirty,
        workers=workers,
        progress=sys.stderr.isatty(),
    )
    rows = manifest["rows"]
    click.echo(f"wrote {sum(rows.values()):,} rows in {len(rows)} tables to {out}")


@main.command()
@click.option(
    "--landing", default=DEFAULT_LANDING, show_default=True, type=click.Path(path_type=Path)
)
@click.option(
    "--warehouse", default=DEFAULT_WAREHOUSE, show_default=True, type=click.Path(path_type=Path)
)
def run(landing: Path, warehouse: Path) -> None:
    """Run the whole pipeline in-process: the same assets and checks a scheduled run uses."""
    from subscriber_warehouse.pipeline import PipelineFailed, run_log, run_pipeline

    if not landing.is_dir() or not any(landing.iterdir()):
        raise click.ClickException(
            f"landing folder {landing} is missing or empty: land your exports there "
            "(docs/raw-contract.md) or create sample data with `subscriber-warehouse generate`"
        )
    try:
        summary = run_pipeline(landing, warehouse, load_time=os.environ.get("SW_LOAD_TIME", ""))
    except PipelineFailed as failed:
        click.echo(
            f"pipeline FAILED ({len(failed.errors)} step(s)); nothing was published:", err=True
        )
        for step, message in failed.errors:
            click.echo(f"  {step}: {message}", err=True)
        if failed.quality:
            click.echo(failed.quality, err=True)
        click.echo(f"full log: {run_log(warehouse)}", err=True)
        sys.exit(1)
    click.echo(summary)


if __name__ == "__main__":
    main()
