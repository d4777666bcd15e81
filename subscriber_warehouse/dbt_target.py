"""Where dbt writes the project's artifacts (manifest, semantic manifest, partial parse)."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def dbt_target_path() -> Path:
    """dbt's own DBT_TARGET_PATH (relative to the project, as dbt reads it), else target/."""
    return PROJECT_ROOT / os.environ.get("DBT_TARGET_PATH", "target")
