"""The cached dbt project, apart from the assets so the manifest can be built before they load."""

import hashlib
import importlib.metadata
import os
import re
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev
from dbt.contracts.graph.manifest import Manifest

from orchestration.dbt_in_process import parse
from orchestration.dbt_runs import REPROCESS_FROM_ENV
from subscriber_warehouse.dbt_target import PROJECT_ROOT, dbt_target_path
from subscriber_warehouse.publish import WORKING_DATABASE, working_path

dbt_project = DbtProject(
    project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT, target_path=dbt_target_path()
)


def invocation_folder(published: Path, step: str) -> Path:
    """Where a dbt step of a warehouse's runs writes (compiled SQL, run results, dbt's log):
    one folder per step beside the working database, reused by every run.
    dagster-dbt's default, a new folder in the checkout's target/ for every dbt call (~13 MB),
    grew to 370 MB in an hour of runs."""
    return working_path(published).parent / "dbt" / step


# dbt parses with the profile's database named WORKING_DATABASE, the same for every warehouse: a
# first run on a new warehouse then starts from the project's parse (a full parse, "Unable to do
# partial parsing because profile has changed", took 9 s). The builds, which do not parse, open
# the warehouse's working database by its path.
DATABASE_ENV = "SW_DBT_DATABASE"


@contextmanager
def dbt_environment(database: Path | None = None):
    """The environment of the dbt commands run inside: the profile's database is `database`,
    or WORKING_DATABASE for a parse. Restored after, so that a dbt started by hand later in the
    same process (tests do) reads SW_WAREHOUSE as before."""
    saved = os.environ.get(DATABASE_ENV)
    os.environ[DATABASE_ENV] = str(database) if database else WORKING_DATABASE
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(DATABASE_ENV, None)
        else:
            os.environ[DATABASE_ENV] = saved


# the parsed project of this process, by the fingerprint of what it was parsed from
_parsed: dict[str, Manifest] = {}


def prepare_manifest() -> Manifest:
    """The parsed dbt project, which the dbt steps build from, with target/manifest.json, which
    the dbt assets are defined from. Parsed once per process while nothing dbt parses changes,
    and manifest.json written only when something has: its partial parse took dbt ~1 s."""
    stamp = Path(dbt_project.target_path) / PARSE_STAMP
    with dbt_environment():
        files, environment = _digests(PROJECT_ROOT, os.environ)
        inputs = _inputs(files, environment)
        if inputs not in _parsed:
            written = dbt_project.manifest_path.exists() and stamp.is_file()
            fresh = written and stamp.read_text() == inputs
            if not fresh:
                stamp.unlink(missing_ok=True)
            _parsed.clear()
            target = Path(dbt_project.target_path)
            use_partial_parse_of(target, _environment_name(environment))
            _parsed[inputs] = parse(PROJECT_ROOT, target, not fresh)
            stamp.write_text(inputs)
    return _parsed[inputs]


# beside the manifest: the fingerprint of what it was parsed from
PARSE_STAMP = "manifest.inputs"
PARSED_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "dbt_project", "seeds")
_ENV_VAR = re.compile(r"""env_var\(\s*['"](\w+)['"]""")


def parse_inputs(root: Path, environ: Mapping[str, str]) -> str:
    """A fingerprint of what `dbt parse` reads: the project's files, dbt's version, and the
    environment variables the files name (their values), but for those read only when a model
    runs (REPROCESS_FROM_ENV: a daily run's changes every day)."""
    return _inputs(*_digests(root, environ))


def parse_environment(root: Path, environ: Mapping[str, str]) -> str:
    """A fingerprint of the environment variables the project's files name, and their values
    (but REPROCESS_FROM_ENV): dbt parses in full when one has changed since its last parse."""
    return _environment_name(_digests(root, environ)[1])


def _inputs(files: str, environment: str) -> str:
    return hashlib.sha256(f"{files}\0{environment}".encode()).hexdigest()


def _environment_name(environment: str) -> str:
    return environment[:16]


def _digests(root: Path, environ: Mapping[str, str]) -> tuple[str, str]:
    files = hashlib.sha256(importlib.metadata.version("dbt-core").encode())
    names = set()
    for top in PARSED_FILES:
        path = root / top
        for file in sorted([path] if path.is_file() else path.rglob("*")):
            if file.is_file():
                content = file.read_bytes()
                names.update(_ENV_VAR.findall(content.decode(errors="replace")))
                files.update(f"{file.relative_to(root)}\0{len(content)}\0".encode())
                files.update(content)
    environment = hashlib.sha256()
    for name in sorted(names - {REPROCESS_FROM_ENV}):
        environment.update(f"{name}={environ.get(name)}\0".encode())
    return files.hexdigest(), environment.hexdigest()


PARTIAL_PARSE = "partial_parse.msgpack"
# which environment the partial parse in place was parsed in (parse_environment)
PARTIAL_PARSE_ENVIRONMENT = "partial_parse.environment"
PARTIAL_PARSES_KEPT = 4


def use_partial_parse_of(target: Path, environment: str) -> None:
    """Put in place the partial parse dbt last made in `environment`, keeping the one in place
    beside it. dbt keeps one, and parses in full (6 s for this project) after a change of the
    environment variables the project names: each run on another billing source (its name
    enables its models) or with another memory limit did. The newest PARTIAL_PARSES_KEPT are
    kept."""
    current, owner = target / PARTIAL_PARSE, target / PARTIAL_PARSE_ENVIRONMENT
    previous = owner.read_text() if owner.is_file() else None
    if previous == environment:
        return
    if previous and current.is_file():
        current.replace(target / f"partial_parse.{previous}.msgpack")
    kept = target / f"partial_parse.{environment}.msgpack"
    if kept.is_file():
        kept.replace(current)
    target.mkdir(parents=True, exist_ok=True)
    owner.write_text(environment)
    others = sorted(target.glob("partial_parse.*.msgpack"), key=lambda f: f.stat().st_mtime)
    for old in others[: -(PARTIAL_PARSES_KEPT - 1) or None]:
        old.unlink()


# `dagster dev` loads the definitions without a manifest: parse it here (dagster-dbt's own
# prepare_if_dev() looks for `dbt` on PATH, which an un-activated venv lacks). The CLI and tests
# call prepare_manifest().
if using_dagster_dev():
    prepare_manifest()
