"""SQL that types one landing file's rows per the contract and names every broken rule.

The same SQL serves CSV (all strings) and Parquet (typed) sources: every value is read through
its text form, so a rule has one definition whatever the file format.
"""

from __future__ import annotations

from datetime import datetime

from subscriber_warehouse.contract import (
    EARLIEST_ACCEPTED,
    LATEST_ACCEPTED,
    Column,
    Table,
    country_codes,
    currency_minor_units,
)

_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)"
# date, optional time with fraction, optional Z or offset (Parquet's typed values read as
# '2024-03-01 09:15:02+00'); words DuckDB would cast (epoch, infinity, zone names) are not ISO
_ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?"
_SCALE = {"money": 4, "decimal": 8}
# seconds from 1970 beyond which an instant is past year 9999 either way
_MAX_EPOCH = 253_402_300_800


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _in_list(values) -> str:
    return "(" + ", ".join(sql_str(v) for v in sorted(values)) + ")"


def _shown(raw: str) -> str:
    """The offending value as a reason shows it: quoted, cut to 40 characters."""
    return f"'''' || left({raw}, 40) || ''''"


def _parse(col: Column, raw: str) -> str:
    if col.type == "ts":
        # offsets and Z convert to UTC; no offset means UTC (the session time zone is UTC)
        return (
            f"case when regexp_full_match({raw}, '{_ISO_TIMESTAMP}') "
            f"then try_cast({raw} as timestamptz) at time zone 'UTC' end"
        )
    if col.type == "date":
        iso_date = "'\\d{4}-\\d{2}-\\d{2}'"
        return f"case when regexp_full_match({raw}, {iso_date}) then try_cast({raw} as date) end"
    if col.type == "int":
        return f"case when regexp_full_match({raw}, '[+-]?\\d+') then try_cast({raw} as bigint) end"
    if col.type == "bool":
        return f"case lower({raw}) when 'true' then true when 'false' then false end"
    if col.type == "epoch":
        seconds = f"try_cast({raw} as bigint)"
        # within what a timestamp holds: the accepted-dates rule then speaks for the rest
        return (
            f"case when regexp_full_match({raw}, '[+-]?\\d+') and abs({seconds}) < {_MAX_EPOCH} "
            f"then make_timestamp({seconds} * 1000000) end"
        )
    if col.type in _SCALE:
        return (
            f"case when regexp_full_match({raw}, '{_NUMBER}') "
            f"then try_cast({raw} as {col.duckdb_type}) end"
        )
    return raw


_JSON_KINDS = {"json": ("OBJECT", "a JSON object"), "json_array": ("ARRAY", "a JSON array")}
_TYPE_WORDS = {
    "ts": "an ISO-8601 timestamp",
    "date": "a YYYY-MM-DD date",
    "int": "a whole number",
    "money": "a decimal amount",
    "decimal": "a decimal number",
    "bool": "true or false",
    "epoch": "a UNIX timestamp (whole seconds)",
}


def _column_reasons(col: Column, raw: str, val: str, now: datetime) -> list[str]:
    name = col.name
    out = []
    if not col.nullable:
        out.append(f"case when {raw} is null then '{name}: required value is missing' end")
    if col.type in _TYPE_WORDS:
        out.append(
            f"case when {raw} is not null and {val} is null then "
            f"'{name}: ' || {_shown(raw)} || ' is not {_TYPE_WORDS[col.type]}' end"
        )
    if col.type in _SCALE:
        places = _SCALE[col.type]
        out.append(
            f"case when regexp_matches({raw}, '\\.\\d{{{places + 1},}}$') then "
            f"'{name}: ' || {_shown(raw)} || ' has more than {places} decimal places' end"
        )
    if col.type in _JSON_KINDS:
        kind, words = _JSON_KINDS[col.type]
        out.append(
            f"case when {raw} is not null and not (case when json_valid({raw}) "
            f"then json_type({raw}) = '{kind}' else false end) "
            f"then '{name}: ' || {_shown(raw)} || ' is not {words}' end"
        )
    if col.enum:
        out.append(
            f"case when {val} not in {_in_list(col.enum)} then '{name}: unknown value ' || "
            f"{_shown(raw)} || ' (expected one of {', '.join(col.enum)})' end"
        )
    code = f"upper({val})" if col.code_any_case else val
    if col.code == "currency":
        out.append(
            f"case when {code} not in {_in_list(currency_minor_units())} then '{name}: ' || "
            f"{_shown(raw)} || ' is not an ISO-4217 currency code' end"
        )
    if col.code == "country":
        out.append(
            f"case when {code} not in {_in_list(country_codes())} then '{name}: ' || "
            f"{_shown(raw)} || ' is not an ISO-3166 alpha-2 country code' end"
        )
    if col.min is not None:
        op, words = (
            ("<=", "must be greater than") if col.min_exclusive else ("<", "must be at least")
        )
        out.append(
            f"case when {val} {op} {col.min} then '{name}: ' || {raw} || ' {words} {col.min:g}' end"
        )
    if col.max is not None:
        out.append(
            f"case when {val} > {col.max} then "
            f"'{name}: ' || {raw} || ' must be at most {col.max:g}' end"
        )
    if col.type in ("ts", "date", "epoch"):
        out.append(
            f"case when {val} < date '{EARLIEST_ACCEPTED}' or {val} >= date '{LATEST_ACCEPTED}' "
            f"+ interval 1 day then '{name}: ' || {_shown(raw)} || ' is outside the dates the "
            f"warehouse accepts ({EARLIEST_ACCEPTED} to {LATEST_ACCEPTED})' end"
        )
    if col.type in ("ts", "epoch") and not col.scheduled:
        limit = f"timestamp '{now:%Y-%m-%d %H:%M:%S}' + interval 1 day"
        out.append(
            f"case when {val} > {limit} then '{name}: ' || {raw} || "
            f"' is future-dated (more than one day after the load at {now:%Y-%m-%dT%H:%M:%SZ})' end"
        )
    return out


def _minor_unit_reasons(table: Table) -> list[str]:
    """Amounts may not be finer than their currency's minor unit (no 0.5 JPY)."""
    if not table.money_currency:
        return []
    units = currency_minor_units()
    odd = {code: n for code, n in units.items() if n != 2}
    cur = ident(table.money_currency)
    scale = "case " + cur + "".join(f" when '{c}' then {10**n}" for c, n in sorted(odd.items()))
    scale += " else 100 end"
    out = []
    for col in table.columns:
        if col.type == "money":
            m = ident(col.name)
            out.append(
                f"case when ({m} * {scale}) % 1 <> 0 then '{col.name}: ' || "
                f"{_shown(ident('_raw_' + col.name))} || ' is finer than the minor unit of ' || "
                f"{cur} end"
            )
    return out


def checked_select(
    table: Table, present: dict[str, str], source: str, now: datetime, with_file: bool = False
) -> str:
    """Select from `source` the typed contract columns, `_source_row`, `_reasons` (a list) and
    `_raw_record`; with `with_file`, then `source`'s `_source_file` (many files in one query).

    `present` maps each contract column found in the file to its name there (case-insensitive
    match); contract columns missing from it are null.
    """
    raws, typed, reasons = [], [], []
    for col in table.columns:
        raw_name = f"_raw_{col.name}"
        src = present.get(col.name)
        raw_expr = f"nullif(cast(s.{ident(src)} as varchar), '')" if src else "null::varchar"
        raws.append(f"{raw_expr} as {ident(raw_name)}")
        typed.append(f"{_parse(col, ident(raw_name))}::{col.duckdb_type} as {ident(col.name)}")
        reasons += _column_reasons(col, ident(raw_name), ident(col.name), now)
    reasons += _minor_unit_reasons(table)
    for rule in table.rules:
        reasons.append(f"case when not ({rule.sql}) then '{rule.column}: {rule.reason}' end")
    raw_json = ", ".join(f"{sql_str(c.name)}, {ident('_raw_' + c.name)}" for c in table.columns)
    return f"""
with raw_values as (
    select s._source_row, {"s._source_file, " if with_file else ""}{", ".join(raws)}
    from {source} as s
),
typed as (
    select *, {", ".join(typed)} from raw_values
),
checked as (
    select *, list_filter([{", ".join(reasons)}], lambda r: r is not null) as _reasons
    from typed
)
select
    {", ".join(ident(c) for c in table.column_names)},
    _source_row,
    _reasons,
    case when len(_reasons) > 0 then json_object({raw_json})::varchar end as _raw_record
    {", _source_file" if with_file else ""}
from checked
"""
