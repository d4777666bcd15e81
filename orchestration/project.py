"""The cached dbt project, apart from the assets so the manifest can be built before they load."""

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

ROOT = Path(__file__).resolve().parent.parent

# dbt's own DBT_TARGET_PATH, as dagster-dbt reads it for each invocation's folder and the
# partial-parse file it copies there: the manifest must be parsed into the same place
dbt_project = DbtProject(
    project_dir=ROOT,
    profiles_dir=ROOT,
    target_path=os.environ.get("DBT_TARGET_PATH", "target"),
)
# parses only under `dagster dev`; the CLI and tests call prepare_manifest() first
dbt_project.prepare_if_dev()


# the logs of this many runs are kept (orchestration/pipeline.py), and the dbt folders of as many
RUNS_KEPT = 30
# the steps that run dbt (orchestration/dbt.py): each invocation's folder is named after its step
DBT_STEPS = ("dbt_models", "dbt_models_after_predictive")


def prune_invocation_folders(target: Path) -> None:
    """Remove all but the newest RUNS_KEPT folders of each dbt step in `target`. dagster-dbt gives
    every dbt invocation its own folder under the target path (`<step>-<ids>`: compiled SQL,
    manifest, run results, ≈ 13 MB) and leaves it: a daily schedule would fill ≈ 10 GB a year."""
    for step in DBT_STEPS:
        folders = sorted(target.glob(f"{step}-*-*"), key=lambda f: f.stat().st_mtime)
        for old in folders[: -RUNS_KEPT or None]:
            shutil.rmtree(old, ignore_errors=True)


def use_database(path: Path) -> None:
    """Point dbt's profile at the database a run builds. dbt runs as its own process and reads
    the path from the environment; parse and build must see the same profile, or each build
    starts with a full re-parse ("Unable to do partial parsing because profile has changed")."""
    os.environ["SW_WAREHOUSE"] = str(path)


def prepare_manifest(database: Path | None = None) -> Path:
    """Build target/manifest.json (`dbt parse`) for runs outside `dagster dev`; with `database`,
    parsed with the profile the run's builds will use, so they reuse the parse."""
    if database is not None:
        use_database(database)
    # the default preparer looks for `dbt` on PATH, which an un-activated venv lacks
    dbt_resource().cli(["parse"], target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
    )
