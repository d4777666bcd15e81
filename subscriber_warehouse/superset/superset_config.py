"""Superset's configuration for `make superset` (SUPERSET_CONFIG_PATH names this file; Superset
reads it in `.venv-superset`). Everything Superset keeps lives under SUPERSET_HOME
(`data/superset/` by default): the SQLite metadata database and the generated secret key."""

from __future__ import annotations

import os
import secrets
from copy import deepcopy
from pathlib import Path

# Superset loads this file at the end of its own config module, whose defaults are set by then
from superset.config import TALISMAN_CONFIG as _SUPERSET_TALISMAN_CONFIG

DATA_DIR = str(
    Path(
        os.environ.get("SUPERSET_HOME") or Path(__file__).resolve().parents[2] / "data/superset"
    ).resolve()
)
Path(DATA_DIR).mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SUPERSET_SECRET_KEY, or a key generated on first use and kept under DATA_DIR (readable by
    its owner only): it signs the sessions and encrypts the connection secrets in the metadata,
    so it must stay the same from one start to the next."""
    if key := os.environ.get("SUPERSET_SECRET_KEY"):
        return key
    path = Path(DATA_DIR) / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(42))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{Path(DATA_DIR) / 'superset.db'}?check_same_thread=false"
# the examples' database is never loaded; kept beside the metadata rather than in ~/.superset
SQLALCHEMY_EXAMPLES_URI = f"sqlite:///{Path(DATA_DIR) / 'examples.db'}?check_same_thread=false"

# Superset's defaults otherwise: no feature flags switched on, no cache, queries run in the web
# process (no Celery), the UI on 127.0.0.1 only (`superset run -h 127.0.0.1`)
FEATURE_FLAGS: dict[str, bool] = {}

# Superset's pages embed a telemetry pixel (an image from apachesuperset.gateway.scarf.sh) that no
# setting of the built front end turns off: the content security policy refuses it instead, so the
# analyst's browser asks nothing of any host but this one
TALISMAN_CONFIG = deepcopy(_SUPERSET_TALISMAN_CONFIG)
TALISMAN_CONFIG["content_security_policy"]["img-src"] = [
    source
    for source in TALISMAN_CONFIG["content_security_policy"]["img-src"]
    if "scarf.sh" not in source
]
