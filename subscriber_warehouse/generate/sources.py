"""`generate --format stripe | chargebee`: the simulated business written as a billing system
exports it. The business is generated as the raw contract's files first (in a hidden folder of
the output, removed afterwards), then written in the source's shape beside the raw contract's
other tables, so the native and the source landing of one seed are the same business."""

from __future__ import annotations

import shutil
from pathlib import Path

from subscriber_warehouse.generate.chargebee import write_chargebee
from subscriber_warehouse.generate.run import generate
from subscriber_warehouse.generate.stripe import write_stripe

WRITERS = {"stripe": write_stripe, "chargebee": write_chargebee}


def generate_source(out: Path, source: str, *, dirty: bool = False, **options) -> dict:
    """Generate the business, write it in `source`'s shape to `out`; the manifest of rows."""
    out = Path(out)
    native = out / f".native-{source}"
    shutil.rmtree(native, ignore_errors=True)
    try:
        manifest = generate(native, fmt="parquet", dirty=False, **options)
        rows = WRITERS[source](native, out, dirty=dirty)
    finally:
        shutil.rmtree(native, ignore_errors=True)
    copied = {t: n for t, n in manifest["rows"].items() if (out / t).exists()}
    return {
        **manifest,
        "source": source,
        "rows": {**copied, **{f"{source}.{t}": n for t, n in rows.items()}},
    }
