"""Running the CLI as a user does, and reading a warehouse file, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

CLI = str(Path(sys.executable).parent / "subscriber-warehouse")
CUSTOMERS = 1500


def cli(*args: str, tz: str = "UTC", cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TZ": tz, "LC_ALL": "C.UTF-8"}
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
    )


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
