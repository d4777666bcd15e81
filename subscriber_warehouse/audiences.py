"""Campaign audience exports: one CSV and one Parquet file per audience and channel.

A channel's file holds only the customers opted in to that channel (no recorded preference is
no consent), so a campaign tool loading `audience_<name>__email.csv` can never reach someone who
opted out of e-mail. A run's files are written into a hidden folder and renamed into place, so a
reader never sees half an export.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from subscriber_warehouse.load.validate import sql_str
from subscriber_warehouse.publish import open_published

AUDIENCES = (
    "at_risk_high_value",
    "win_back",
    "dunning",
    "trial_not_converted",
    "upsell",
    "re_engage",
)
# channel -> who its file holds: the consenting, and for e-mail those with an address (a
# billing source's customer may have none)
CHANNELS = {"email": "is_email_opt_in and email_hash is not null", "sms": "is_sms_opt_in"}
COLUMNS = "customer_id, email_hash, reason, preferred_channel"


def export_audiences(published: Path, out_dir: Path) -> dict[str, dict[str, int]]:
    """Write every audience × channel from the published warehouse into `out_dir` (which must
    not exist yet); return the rows per audience and channel, also written to manifest.json."""
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} exists: every run exports into a folder of its own")
    staging = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    counts: dict[str, dict[str, int]] = {}
    con = open_published(published)
    try:
        for audience in AUDIENCES:
            counts[audience] = {}
            for channel, consent in CHANNELS.items():
                select = (
                    f"select {COLUMNS} from marts.audience_{audience} "
                    f"where {consent} order by customer_id"
                )
                base = staging / f"audience_{audience}__{channel}"
                # a path is a literal, whatever it holds (a quote in a folder name included)
                csv, parquet = sql_str(f"{base}.csv"), sql_str(f"{base}.parquet")
                con.execute(f"copy ({select}) to {csv} (header, delimiter ',')")
                con.execute(f"copy ({select}) to {parquet} (format parquet)")
                counts[audience][channel] = con.execute(
                    f"select count(*) from ({select})"
                ).fetchall()[0][0]
    finally:
        con.close()
    (staging / "manifest.json").write_text(json.dumps({"rows": counts}, indent=2) + "\n")
    staging.rename(out_dir)
    return counts
