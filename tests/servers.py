"""Starting a long-running command (`make dev`, `make superset`) for a test, and stopping it."""

from __future__ import annotations

import os
import signal
import subprocess


def _default_signals() -> None:
    # a pytest-xdist worker ignores SIGINT and SIGTERM, and an ignored signal stays ignored in
    # every child: reset both so the server shuts down when told to
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(command: list[str], **popen) -> subprocess.Popen:
    """`command` in a process group of its own, so `stop` reaches its children too."""
    return subprocess.Popen(command, start_new_session=True, preexec_fn=_default_signals, **popen)


def stop(server: subprocess.Popen) -> None:
    """Ask the group to stop as Ctrl-C would; kill it if it has not in 15 s."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)
