"""Turn internal columns into contract-typed Arrow tables and write Parquet or CSV files.

Internal values: instants are int epoch seconds, dates int epoch days, money int minor units of
the row's currency, decimals ints scaled by 1e8; a column is a list/tuple (None = null), a numpy
array, a numpy masked array, or (for text) a pyarrow array.

Parquet types: str/json -> string, ts -> timestamp[us, UTC], date -> date32, int -> int64,
money -> decimal128(18, 2), decimal -> decimal128(18, 8).
CSV text: ISO-8601 instants with `Z` (support tickets: local time with the UTC offset), dates
YYYY-MM-DD, money with exactly the currency's minor units (1200 JPY, 12.50 USD), decimals
without trailing zeros, empty field = null.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..contract import TABLES, currency_minor_units
from .timeutil import DAY, format_ts, iso_date

MONEY_SCALE = 2
DECIMAL_SCALE = 8
CSV_OPTIONS = pacsv.WriteOptions(include_header=True, quoting_style="needed")
# extra internal columns (not written): support tickets' local UTC offset, and the currency of
# money columns when the table's currency column may be null (= the plan's)
TZ_OFFSET = "_utc_offset_minutes"
MONEY_CURRENCY = "_money_currency"
EXTRA = {"support_tickets": [TZ_OFFSET], "subscription_events": [MONEY_CURRENCY]}


def file_name(table: str, chunk: int | str, fmt: str, day: str | None = None) -> str:
    """`<table>/<table>-<chunk>.<fmt>`; a daily table's file sits in its day folder."""
    label = f"{chunk:05d}" if isinstance(chunk, int) else chunk
    folder = f"{table}/{day}" if day else table
    return f"{folder}/{table}-{label}.{fmt}"


def columns_from_rows(table: str, rows: list[tuple]) -> dict[str, object]:
    names = TABLES[table].column_names + EXTRA.get(table, [])
    if not rows:
        return {n: [] for n in names}
    return dict(zip(names, zip(*rows, strict=True), strict=True))


def _ints(values) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(values, np.ma.MaskedArray):
        return np.asarray(values.data, dtype=np.int64), np.ma.getmaskarray(values)
    if isinstance(values, np.ndarray):
        return values.astype(np.int64, copy=False), None
    mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    data = np.fromiter((0 if v is None else v for v in values), dtype=np.int64, count=len(values))
    return data, (mask if mask.any() else None)


def _texts(values) -> pa.Array:
    return values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())


def _null_where(arr: pa.Array, mask: np.ndarray | None) -> pa.Array:
    if mask is None or not mask.any():
        return arr
    return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)


def _decimal(unscaled: np.ndarray, mask: np.ndarray | None, scale: int) -> pa.Array:
    """decimal128(18, scale) from unscaled integers, built from buffers (no Python Decimal)."""
    n = len(unscaled)
    words = np.empty((n, 2), dtype="<i8")
    words[:, 0] = unscaled
    words[:, 1] = np.where(unscaled < 0, -1, 0)
    arr = pa.Array.from_buffers(pa.decimal128(18, scale), n, [None, pa.py_buffer(words)])
    return _null_where(arr, mask)


def fixed_text(v: np.ndarray, scale: np.ndarray | int, trim: bool) -> pa.Array:
    """Plain decimal text of unscaled integers: `scale` digits after the point (per row),
    trailing zeros dropped when `trim`."""
    scale = np.broadcast_to(np.asarray(scale, dtype=np.int64), v.shape)
    neg = v < 0
    a = np.abs(v)
    out = None
    for s in np.unique(scale) if len(v) else [0]:
        ip = pc.cast(pa.array(a // 10 ** int(s)), pa.string())
        txt = ip
        if s > 0:
            fr = pc.utf8_lpad(pc.cast(pa.array(a % 10 ** int(s)), pa.string()), int(s), "0")
            if trim:
                fr = pc.utf8_rtrim(fr, characters="0")
            txt = pc.if_else(pc.equal(fr, ""), ip, pc.binary_join_element_wise(ip, fr, "."))
        out = txt if out is None else pc.if_else(pa.array(scale == s), txt, out)
    if neg.any():
        out = pc.if_else(pa.array(neg), pc.binary_join_element_wise("-", out, ""), out)
    return out


def to_arrow(table: str, cols: dict[str, object], fmt: str) -> pa.Table:
    spec = TABLES[table]
    minor = None
    if spec.money_currency:
        cur = cols.get(MONEY_CURRENCY, cols[spec.money_currency])
        units = currency_minor_units()
        cur_list = cur.to_pylist() if isinstance(cur, pa.Array) else cur
        minor = np.fromiter((units[c] for c in cur_list), dtype=np.int64, count=len(cur_list))
        if (minor > MONEY_SCALE).any():
            raise ValueError(f"{table}: a currency has more than {MONEY_SCALE} decimals")
    arrays = []
    for col in spec.columns:
        values = cols[col.name]
        if col.type in ("str", "json"):
            arr = _texts(values)
        elif col.type == "int":
            data, mask = _ints(values)
            arr = pa.array(data, pa.int64(), mask=mask)
        elif col.type == "date":
            data, mask = _ints(values)
            arr = pa.array(data.astype(np.int32), pa.date32(), mask=mask)
        elif col.type == "ts":
            data, mask = _ints(values)
            if fmt == "parquet":
                arr = pa.array(data * 1_000_000, pa.timestamp("us", tz="UTC"), mask=mask)
            else:
                offsets = None
                if table == "support_tickets":
                    offsets = np.asarray(cols[TZ_OFFSET], dtype=np.int64)
                arr = _null_where(pa.array(format_ts(data, offsets), pa.string()), mask)
        elif col.type == "money":
            data, mask = _ints(values)
            if fmt == "parquet":
                arr = _decimal(data * 10 ** (MONEY_SCALE - minor), mask, MONEY_SCALE)
            else:
                arr = _null_where(fixed_text(data, minor, trim=False), mask)
        elif col.type == "decimal":
            data, mask = _ints(values)
            if fmt == "parquet":
                arr = _decimal(data, mask, DECIMAL_SCALE)
            else:
                arr = _null_where(fixed_text(data, DECIMAL_SCALE, trim=True), mask)
        else:
            raise ValueError(f"unknown logical type {col.type}")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=spec.column_names)


def write_arrow(path: Path, data: pa.Table, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(data, path, compression="zstd")
    else:
        pacsv.write_csv(data, path, CSV_OPTIONS)


def write_daily(out: Path, table: str, chunk: int, data: pa.Table, seconds, fmt: str) -> None:
    """A daily table as its exports arrive: one file per UTC day of `seconds` (the rows' day
    column, epoch seconds), in that day's folder; rows keep their order within a day."""
    days = np.asarray(seconds, dtype=np.int64) // DAY
    order = np.argsort(days, kind="stable")
    days, data = days[order], data.take(pa.array(order))
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]]) if len(days) else []
    for start, end in zip(starts, [*starts[1:], len(days)], strict=True):
        path = out / file_name(table, chunk, fmt, iso_date(int(days[start])))
        write_arrow(path, data.slice(start, end - start), fmt)


def merge_day(folder: Path, table: str, fmt: str) -> None:
    """Replace a day folder's per-chunk files by one file, `<table>-<day>.<fmt>`, rows in chunk
    order: an exporter delivers a day as one file, and a thousand tiny files per day would make
    any reader slow."""
    parts = sorted(folder.glob(f"{table}-*.{fmt}"))
    target = folder / f"{table}-{folder.name}.{fmt}"
    if fmt == "parquet":
        merged = pa.concat_tables(pq.read_table(f) for f in parts)
        pq.write_table(merged, target, compression="zstd")
    else:
        with open(target, "wb") as out:
            for i, part in enumerate(parts):
                with open(part, "rb") as src:
                    if i:
                        src.readline()  # the header, written once
                    out.write(src.read())
    for part in parts:
        part.unlink()
