"""dbt inside the run's process (dbt's programmatic `dbtRunner`), on a manifest parsed once per
process. A dbt subprocess spent ~4.5 s of every call before its first node (starting Python,
importing dbt, loading the partial parse, writing the manifest), and a run made three calls (the
parse and two builds).

dbt's programmatic invocations must not run concurrently in one process: the pipeline's executor
runs one step at a time, and the dbt steps share a pool of one (WAREHOUSE_POOL)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner
from dbt.contracts.graph.manifest import Manifest
from dbt_common.events.base_types import EventMsg
from dbt_common.events.functions import msg_to_dict

# the events dagster-dbt turns into materializations and check results (DbtCoreCliEventMessage)
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})


class DbtFailed(Exception):
    """A dbt command that did not succeed: dbt's error messages and where its log is."""


def command(args: Sequence[str], project_dir: Path, target: Path) -> list[str]:
    """`dbt <args>` reading the project and profile in `project_dir`, writing its artifacts and
    log to `target`; without anonymous usage statistics (a network call at the end of every
    command) and without colours (its messages go into errors and log files)."""
    return [
        *args, "--no-send-anonymous-usage-stats", "--no-use-colors",
        "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
        "--target-path", str(target), "--log-path", str(target),
    ]  # fmt: skip


def parse(project_dir: Path, target: Path, write_manifest: bool) -> Manifest:
    """`dbt parse`, partial from `target`'s partial_parse.msgpack; manifest.json written there
    only if `write_manifest`."""
    args = ["parse", *([] if write_manifest else ["--no-write-json"])]
    result = dbtRunner().invoke(command(args, project_dir, target))
    if not result.success:
        raise DbtFailed(f"dbt parse failed: {result.exception}\ndbt's log: {target / 'dbt.log'}")
    return result.result


def stream(manifest: Manifest, args: Sequence[str]) -> Iterator[dict]:
    """Run dbt (`args` as command() builds them) on `manifest`, without parsing, yielding each
    node's result event as dbt's JSON log writes it when the node finishes; then raise
    DbtFailed if the command failed."""
    _uncompiled(manifest)
    results: queue.SimpleQueue = queue.SimpleQueue()
    errors: list[str] = []

    def callback(msg: EventMsg) -> None:
        if msg.info.name in RESULT_EVENTS:
            results.put(msg_to_dict(msg))
        elif msg.info.level == "error":
            errors.append(msg.info.msg)

    def invoke() -> None:
        try:
            results.put(dbtRunner(manifest=manifest, callbacks=[callback]).invoke(list(args)))
        except BaseException as error:  # raised in the caller's thread
            results.put(error)

    # in a thread, so the step reports each node while the next ones run
    thread = threading.Thread(target=invoke, name="dbt", daemon=True)
    thread.start()
    try:
        while isinstance(item := results.get(), dict):
            yield item
        thread.join()
    finally:
        _close_database()
    if isinstance(item, BaseException):
        raise item
    if not item.success:
        log = Path(args[args.index("--log-path") + 1]) / "dbt.log"
        reasons = "\n".join(errors) or str(item.exception or "")
        raise DbtFailed(f"dbt {args[0]} failed:\n{reasons}\ndbt's log: {log}")


def _uncompiled(manifest: Manifest) -> None:
    """dbt compiles into the manifest's nodes, and marks a node once the CTEs of the ephemeral
    models it reads are injected: compiled again by a later command, it would be left without
    them. (A copy of the manifest is no way out: dbt 1.11's Manifest.__reduce_ex__, which
    copy and pickle use, puts its lookups in the wrong fields.)"""
    for node in manifest.nodes.values():
        if getattr(node, "extra_ctes_injected", False):
            node.extra_ctes_injected = False
            node.extra_ctes = []


def _close_database() -> None:
    """dbt-duckdb keeps the database open in the process after a command (its profile's
    `keep_open` is true by default, so that the file is not closed and opened between nodes):
    close it, so that this process may open it read-only and others at all."""
    try:
        environment = DuckDBConnectionManager.env()
    except Exception:  # no dbt command opened one
        return
    environment.close()
    DuckDBConnectionManager.close_all_connections()
