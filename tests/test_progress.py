"""The run's progress display: on a terminal a live bar naming the running step and the dbt step's
node count, and a line per finished step (tests/test_pipeline.py checks the lines of a real run).
"""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# what the run's events make the display do: a raw step, then two of a dbt step's five nodes
SHOW = """
import sys
from orchestration.progress import RunProgress
progress = RunProgress(sys.stderr, 3, {"dbt_models": 5})
progress.show("raw__customers")
progress.count_node("dbt_models")
progress.count_node("dbt_models")
progress.finish("dbt_models", "done")
progress.__exit__()
"""

# as a run counts them: dbt's nodes logged by the step, after Dagster configured Python logging
# (it does when a run starts on an instance with a dagster.yaml), which closes every handler
COUNTED = """
import logging, logging.config, sys
from orchestration.progress import DBT_NODES_LOGGER, DBT_STEP_ATTR, RunProgress, progress_logger
with RunProgress(sys.stderr, 1, {"dbt_models": 2}) as progress:
    progress_logger(progress)
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    for _ in range(2):
        logging.getLogger(DBT_NODES_LOGGER).debug("node", extra={DBT_STEP_ATTR: "dbt_models"})
    progress.finish("dbt_models", "done")
"""


def test_on_a_terminal_a_live_bar_shows_the_step_and_dbts_nodes():
    terminal, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    subprocess.run([sys.executable, "-c", SHOW], stdin=child, stdout=child, stderr=child, cwd=ROOT)
    os.close(child)
    shown = os.read(terminal, 65536).decode()
    os.close(terminal)
    frames = [frame.strip() for frame in shown.split("\r") if frame.strip()]
    assert any(frame.startswith("raw__customers:") for frame in frames)
    assert any(frame.startswith("dbt_models [1/5]:") for frame in frames)
    assert any(frame.startswith("dbt_models [2/5]:") for frame in frames)
    assert "dbt_models: done in 0.0 s, 2 dbt nodes built or tested" in shown


def test_off_a_terminal_only_a_line_per_step():
    done = subprocess.run(
        [sys.executable, "-c", SHOW], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stderr.splitlines() == [
        "[   0.0 s] dbt_models: done in 0.0 s, 2 dbt nodes built or tested"
    ]


def test_dbts_nodes_are_counted_after_logging_is_configured():
    done = subprocess.run(
        [sys.executable, "-c", COUNTED], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stderr.splitlines() == [
        "[   0.0 s] dbt_models: done in 0.0 s, 2 dbt nodes built or tested"
    ]
