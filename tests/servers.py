"""Starting a long-running command (`make dev`, `make superset`) for a test, and stopping it."""

from __future__ import annotations

import os
import signal
import subprocess


def start(command: list[str], **popen) -> subprocess.Popen:
    """`command` in a process group of its own, so `stop` reaches its children too."""
    return subprocess.Popen(command, start_new_session=True, **popen)


def stop(server: subprocess.Popen) -> None:
    """Ask the group to stop; kill it if it has not in 15 s. Alone, `make dev` stops in under
    2 s; inside the full suite both servers outlived a 60 s wait (cause not found), and a test
    does not need their graceful shutdown."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)
