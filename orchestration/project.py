"""The cached dbt project, apart from the assets so the manifest can be built before they load."""

import hashlib
import importlib.metadata
import os
import re
import sys
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import using_dagster_dev
from packaging import version

from orchestration.dbt_in_folder import FOLDER_ENV
from orchestration.dbt_runs import REPROCESS_FROM_ENV
from subscriber_warehouse.dbt_target import PROJECT_ROOT, dbt_target_path
from subscriber_warehouse.publish import WORKING_DATABASE, working_path

# dagster-dbt copies the partial-parse file from here into each invocation's folder: the
# manifest must be parsed into the same place
dbt_project = DbtProject(
    project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT, target_path=dbt_target_path()
)


def invocation_folder(published: Path, step: str) -> Path:
    """Where a dbt step of a warehouse's runs writes (compiled SQL, run results, dbt's log and
    partial parse): one folder per step beside the working database, reused by every run.
    dagster-dbt's default, a new folder in the checkout's target/ for every dbt call (~13 MB),
    grew to 370 MB in an hour of runs."""
    return working_path(published).parent / "dbt" / step


# dbt, as the pipeline runs it, opens the working database by its file name from the database's
# folder (orchestration/dbt_in_folder.py): the profile, and so the parse, is then the same for
# every warehouse, and a first run on a new one does not parse the project again (a full parse,
# "Unable to do partial parsing because profile has changed", took 9 s)
DATABASE_ENV = "SW_DBT_DATABASE"


@contextmanager
def dbt_environment(folder: Path | None = None):
    """The environment of the dbt processes started inside: the profile's database is the
    working database's name, opened from `folder`. Restored after, so that a dbt started by
    hand later in the same process (tests do) reads SW_WAREHOUSE as before."""
    values = {DATABASE_ENV: WORKING_DATABASE, FOLDER_ENV: str(folder) if folder else None}
    saved = {name: os.environ.get(name) for name in values}
    _set(values)
    try:
        yield
    finally:
        _set(saved)


def _set(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def prepare_manifest() -> Path:
    """Build target/manifest.json (`dbt parse`) for runs outside `dagster dev`, with the profile
    the runs' builds use, so they reuse the parse. Not again when nothing dbt parses has changed
    since: even a partial parse takes dbt ~6 s."""
    stamp = Path(dbt_project.target_path) / PARSE_STAMP
    with dbt_environment():
        inputs = parse_inputs(PROJECT_ROOT, os.environ)
        if dbt_project.manifest_path.exists() and stamp.is_file() and stamp.read_text() == inputs:
            return dbt_project.manifest_path
        stamp.unlink(missing_ok=True)
        dbt_resource().cli(["parse"], target_path=dbt_project.target_path).wait()
    stamp.write_text(inputs)
    return dbt_project.manifest_path


# beside the manifest: the fingerprint of what it was parsed from
PARSE_STAMP = "manifest.inputs"
PARSED_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "dbt_project", "seeds")
_ENV_VAR = re.compile(r"""env_var\(\s*['"](\w+)['"]""")


def parse_inputs(root: Path, environ: Mapping[str, str]) -> str:
    """A fingerprint of what `dbt parse` reads: the project's files, dbt's version, and the
    environment variables the files name (their values), but for those read only when a model
    runs (REPROCESS_FROM_ENV: a daily run's changes every day)."""
    digest = hashlib.sha256(importlib.metadata.version("dbt-core").encode())
    names = set()
    for top in PARSED_FILES:
        path = root / top
        for file in sorted([path] if path.is_file() else path.rglob("*")):
            if file.is_file():
                content = file.read_bytes()
                names.update(_ENV_VAR.findall(content.decode(errors="replace")))
                digest.update(f"{file.relative_to(root)}\0{len(content)}\0".encode())
                digest.update(content)
    for name in sorted(names - {REPROCESS_FROM_ENV}):
        digest.update(f"{name}={environ.get(name)}\0".encode())
    return digest.hexdigest()


class VenvDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource without two costs of every dbt call that a run does not use:
    `dbt --version` in a subprocess to learn dbt's version (2.7 s a call; it is the installed
    dbt-core's), and an in-process dbt adapter, there only to fetch row counts and column
    metadata, which the dbt steps read from DuckDB once dbt exits (4.3 s a call). At 10k
    customers they were 14 s of a 107 s run."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


# the console script of orchestration/dbt_in_folder.py (pyproject.toml)
DBT_IN_FOLDER = "sw-dbt"


def dbt_resource() -> DbtCliResource:
    return VenvDbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / DBT_IN_FOLDER)
    )


# `dagster dev` loads the definitions without a manifest: parse it here (dagster-dbt's own
# prepare_if_dev() looks for `dbt` on PATH, which an un-activated venv lacks). The CLI and tests
# call prepare_manifest().
if using_dagster_dev():
    prepare_manifest()
