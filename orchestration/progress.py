"""What a CLI run shows while it runs: a line as each step ends (its time, rows loaded, dbt nodes
built and tested, checks failed) and, on a terminal, a live bar of the steps and of dbt's nodes.

It is a Dagster logger (the run's events reach every logger of the job), added to the job only by
the CLI; runs of the schedule, the sensors and the UI show their progress in the UI."""

from __future__ import annotations

import logging
import time
from typing import TextIO

import dagster as dg
from tqdm import tqdm

# where a log record carries its Dagster event (dagster/_core/log_manager.py)
_META, _EVENT = "dagster_meta", "dagster_event"
# Dagster sees a dbt step's nodes only once dbt has exited (orchestration/dbt.py): the step logs
# each node as dbt reports it to this Python logger, a record naming the step in this attribute
DBT_NODES_LOGGER, DBT_STEP_ATTR = "orchestration.dbt.nodes", "dbt_step"


class RunProgress(logging.Handler):
    def __init__(self, stream: TextIO, steps: int, dbt_nodes: dict[str, int]):
        """`steps`: how many steps the run has; `dbt_nodes`: per dbt step, its models, seeds,
        snapshots and tests (the bar's total while that step runs)."""
        super().__init__(level=logging.DEBUG)
        self.stream, self.dbt_nodes = stream, dbt_nodes
        self.start = time.monotonic()
        self.started: dict[str, float] = {}
        self.done: dict[str, list[str]] = {}
        self.nodes: dict[str, int] = {}
        self.bar = (
            tqdm(total=steps, file=stream, unit="step", dynamic_ncols=True, leave=False)
            if stream.isatty()
            else None
        )

    def emit(self, record: logging.LogRecord) -> None:
        if step := getattr(record, DBT_STEP_ATTR, None):
            self.count_node(step)
            return
        event = (getattr(record, _META, None) or {}).get(_EVENT)
        if isinstance(event, dg.DagsterEvent) and event.step_key:
            self.on_event(event)

    def on_event(self, event: dg.DagsterEvent) -> None:
        step, kind = event.step_key, event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self.started[step] = time.monotonic()
            self.show(step)
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            rows = event.event_specific_data.materialization.metadata.get("rows_loaded")
            if rows is not None and step not in self.done:
                self.done[step] = [f"{rows.value:,} rows loaded"]
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                warned = evaluation.severity == dg.AssetCheckSeverity.WARN
                outcome = "warned" if warned else "failed"
                self.done.setdefault(step, []).append(f"check {evaluation.check_name} {outcome}")
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            self.finish(step, "done" if kind == dg.DagsterEventType.STEP_SUCCESS else "FAILED")

    def count_node(self, step: str) -> None:
        if step in self.dbt_nodes:
            self.nodes[step] = self.nodes.get(step, 0) + 1
            self.show(step)

    def show(self, step: str) -> None:
        if self.bar is None:
            return
        nodes = (
            f" [{self.nodes.get(step, 0)}/{self.dbt_nodes[step]}]" if step in self.dbt_nodes else ""
        )
        self.bar.set_description_str(f"{step}{nodes}", refresh=True)

    def finish(self, step: str, outcome: str) -> None:
        took = time.monotonic() - self.started.get(step, self.start)
        details = list(self.done.get(step, []))
        if step in self.dbt_nodes:
            details.insert(0, f"{self.nodes.get(step, 0)} dbt nodes built or tested")
        line = f"[{time.monotonic() - self.start:6.1f} s] {step}: {outcome} in {took:.1f} s"
        line += "".join(f", {d}" for d in details)
        if self.bar is None:
            print(line, file=self.stream, flush=True)
        else:
            self.bar.write(line, file=self.stream)
            self.bar.update(1)

    # Not in close(): logging calls every handler's close() whenever logging is configured, as
    # Dagster does when a run starts on an instance with a dagster.yaml; the run's nodes would
    # then go uncounted
    def __enter__(self) -> RunProgress:
        return self

    def __exit__(self, *_exc) -> None:
        logging.getLogger(DBT_NODES_LOGGER).removeHandler(self)
        if self.bar is not None:
            self.bar.close()
        self.close()


def progress_logger(progress: RunProgress) -> dg.LoggerDefinition:
    """The Dagster logger that feeds `progress`, which also hears the dbt steps' nodes."""
    nodes = logging.getLogger(DBT_NODES_LOGGER)
    nodes.setLevel(logging.DEBUG)
    nodes.addHandler(progress)

    @dg.logger
    def run_progress(_init_context) -> logging.Logger:
        logger = logging.Logger("run_progress", level=logging.DEBUG)
        logger.addHandler(progress)
        return logger

    return run_progress
