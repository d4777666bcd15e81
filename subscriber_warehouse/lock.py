"""One run at a time per warehouse: an exclusive lock on `<warehouse>.lock`, held by the process
for the whole run.

The lock is the kernel's (flock): it is released on any exit of the process, SIGKILL included,
so a lock file left behind by a dead run is stale by construction and the next run takes it.
The file records who holds it (PID, run, start), for the message a second run fails with at
once. Re-entrant within a process: the CLI takes it before Dagster starts, and the run's
warehouse resource (which guards runs the schedule and sensors start) takes it again.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse."""


_held: dict[Path, int] = {}  # lock path -> holders in this process


def lock_path(published: Path) -> Path:
    return Path(published).resolve().with_name(Path(published).name + ".lock")


def _holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "another run"
    if not holder:
        return "another run"
    return (
        f"run {holder.get('run', '?')} (pid {holder.get('pid', '?')} on "
        f"{holder.get('host', '?')}, started {holder.get('started_at', '?')})"
    )


@contextmanager
def warehouse_lock(published: Path, run: str = "") -> Iterator[None]:
    """Hold the warehouse for a run; WarehouseBusy (naming the holder) if another has it."""
    path = lock_path(published)
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseBusy(
                f"{published} is being built by {_holder(path)}: one run at a time per "
                "warehouse; try again when it has finished"
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "run": run,
            "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder).encode())
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
