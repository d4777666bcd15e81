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
progress.close()
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
