"""Dirty mode: re-deliveries, a late-arriving file and malformed payments, all recorded.

Files (CSV, in the day folder of the horizon's last day, as if delivered with its export, and
named to sort after the regular chunk files there):
- subscription_events-99998-retries.csv: identical re-deliveries of events, then two
  conflicting re-deliveries (same event_id, quantity + 1; this copy is delivered last, so it
  wins);
- subscription_events-99999-late.csv: every event of an early month, moved (not copied) out of
  the regular files: rows that arrive long after the day they occurred;
- payments-99999-dirty.csv: one negative amount, one unparseable timestamp, one unknown
  status, each on a new payment of a real invoice.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .timeutil import DAY, add_months, civil_from_days, days_from_civil, iso_date
from .write import columns_from_rows, file_name, to_arrow, write_arrow

DUPLICATE_SHARE = 0.003
MALFORMED = (  # column, kind, replacement text (None: negate the amount)
    ("amount", "negative_amount", None),
    ("attempted_at", "unparseable_timestamp", "2024-13-45T25:61:00Z"),
    ("status", "unknown_status", "pending"),
)


def late_window(t_start: int, months: int) -> tuple[int, int]:
    """The horizon's second calendar month (its first when it has fewer than three)."""
    y, m, _ = civil_from_days(t_start // DAY)
    first = days_from_civil(y, m, 1) * DAY
    k = 1 if months >= 3 else 0
    return max(t_start, add_months(first, k)), add_months(first, k + 1)


def select_chunk_dirt(task, rows, cat) -> dict[str, pa.Table]:
    """Pick this chunk's dirt; late rows are removed from `rows` (moved, not copied)."""
    rng = np.random.default_rng(np.random.SeedSequence([task.seed, task.chunk, 7]))
    lo, hi = late_window(task.t_start, task.months)
    events = rows.subscription_events
    late = [e for e in events if lo <= e[5] < hi]
    rows.subscription_events = events = [e for e in events if not lo <= e[5] < hi]
    pick = rng.random(len(events)) < DUPLICATE_SHARE
    dups = [e for e, p in zip(events, pick, strict=True) if p]
    out = {"late": late, "duplicate": dups}
    if task.chunk == 0:
        rest = [i for i, p in enumerate(pick) if not p]
        chosen = sorted(rng.choice(rest, size=min(2, len(rest)), replace=False).tolist())
        out["conflict"] = [events[i][:7] + (events[i][7] + 1,) + events[i][8:] for i in chosen]
        paid = [p for p in rows.payments if p[6] == "succeeded"]
        chosen = sorted(rng.choice(len(paid), size=min(3, len(paid)), replace=False).tolist())
        out["payments"] = [
            (f"{paid[i][0][:-4]}{9001 + k}",) + paid[i][1:] for k, i in enumerate(chosen)
        ]
    table = {"payments": "payments"}
    return {
        kind: to_arrow(
            table.get(kind, "subscription_events"),
            columns_from_rows(table.get(kind, "subscription_events"), r),
            "csv",
        )
        for kind, r in out.items()
    }


def dirt_files(t_end: int) -> tuple[str, str, str]:
    """The retries, late and dirty payments files: in the last day's folder of the horizon."""
    day = iso_date(t_end // DAY - 1)
    return (
        file_name("subscription_events", "99998-retries", "csv", day),
        file_name("subscription_events", "99999-late", "csv", day),
        file_name("payments", "99999-dirty", "csv", day),
    )


def write_dirt(out, chunks: list[dict[str, pa.Table]], t_end: int) -> list[dict]:
    """Write the dirt files from every chunk's material (in chunk order); return the
    manifest entries (row = 1-based data row of the file, header excluded)."""
    retries_file, late_file, payments_file = dirt_files(t_end)

    def gather(kind: str) -> pa.Table | None:
        parts = [c[kind] for c in chunks if kind in c]
        return pa.concat_tables(parts) if parts else None

    entries: list[dict] = []

    def record(file, table, data, column, kind, offset=0, **extra):
        ids = data.column(0).to_pylist()
        for i, key in enumerate(ids, offset + 1):
            entries.append(
                {
                    "file": file,
                    "row": i,
                    "table": table,
                    "column": column,
                    "kind": kind,
                    "key": key,
                    **extra,
                }
            )

    dups, conflicts = gather("duplicate"), gather("conflict")
    retries = pa.concat_tables([t for t in (dups, conflicts) if t is not None])
    write_arrow(out / retries_file, retries, "csv")
    record(retries_file, "subscription_events", dups, "event_id", "duplicate")
    if conflicts is not None:
        record(
            retries_file,
            "subscription_events",
            conflicts,
            "quantity",
            "conflict",
            offset=dups.num_rows,
        )
    late = gather("late")
    write_arrow(out / late_file, late, "csv")
    record(late_file, "subscription_events", late, None, "late_arrival")

    pays = gather("payments")
    if pays is not None and pays.num_rows:
        cols = {n: pays.column(n).combine_chunks() for n in pays.column_names}
        for i, (column, kind, text) in enumerate(MALFORMED[: pays.num_rows]):
            values = cols[column].to_pylist()
            values[i] = f"-{values[i]}" if text is None else text
            cols[column] = pa.array(values, pa.string())
            record(payments_file, "payments", pays.slice(i, 1), column, kind, offset=i)
        write_arrow(out / payments_file, pa.table(cols), "csv")
    return entries


def count_rows(entries: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["table"]] = counts.get(e["table"], 0) + 1
    return counts
