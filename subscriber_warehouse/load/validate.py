"""SQL that types one landing file's rows per the contract and names every broken rule.

The same SQL serves CSV (all strings) and Parquet (typed) sources: every value is read through
its text form, so a rule has one definition whatever the file format. A rule judges a value,
never overflows on one (it widens before it multiplies), and a number that does not fit its
column type is quarantined saying so.
"""

from __future__ import annotations

from collections.abc import Collection
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
# an integral decimal (4.0) is a whole number too: pandas writes nullable integers as floats
_WHOLE = r"[+-]?\d+(\.0*)?"
# the text forms of the number types: a value of that form that try_cast cannot take does not
# fit the column type (out of range), one of another form is not a number of that type
_NUMBER_FORMS = {"int": _WHOLE, "money": _NUMBER, "decimal": _NUMBER}
# a UTC offset from -14:00 to +14:00 (the extremes in use are -12:00 and +14:00), minutes < 60;
# DuckDB would take +25:00
_OFFSET = r"Z|[+-](0\d|1[0-3])(:?[0-5]\d)?|[+-]14(:?00)?"
# date, optional time with fraction, optional Z or offset (Parquet's typed values read as
# '2024-03-01 09:15:02+00'); words DuckDB would cast (epoch, infinity, zone names) are not ISO
_ISO_TIMESTAMP = rf"\d{{4}}-\d{{2}}-\d{{2}}([T ]\d{{2}}:\d{{2}}(:\d{{2}}(\.\d+)?)?)?({_OFFSET})?"
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
        # the integral part: a whole number's fraction is zeros
        return (
            f"case when regexp_full_match({raw}, '{_WHOLE}') "
            f"then try_cast(split_part({raw}, '.', 1) as bigint) end"
        )
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
    if col.duckdb_type == "VARCHAR":
        # stored as its text: a NUL would make a second, invisible key ('cus_1' and 'cus_1\0')
        out.append(f"case when contains({raw}, chr(0)) then '{name}: contains a NUL byte' end")
    if col.type in _TYPE_WORDS:
        out.append(_type_reason(col, raw, val))
    if col.type in _SCALE:
        # judged on the value: a fraction's trailing zeros are not places (Parquet's
        # decimal(18,6) 12.500000 is 12.5; 12.500001 has 6)
        places = _SCALE[col.type]
        out.append(
            f"case when regexp_matches({raw}, '\\.\\d{{{places}}}\\d*[1-9]$') then "
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


def _type_reason(col: Column, raw: str, val: str) -> str:
    """A value that is not of its type; a number of the right form that does not fit its column
    type (DECIMAL(18,4): below 10^14) is out of range instead."""
    not_of_type = f"'{col.name}: ' || {_shown(raw)} || ' is not {_TYPE_WORDS[col.type]}'"
    if col.type in _NUMBER_FORMS:
        out_of_range = (
            f"'{col.name}: ' || {_shown(raw)} || ' is out of range for {col.duckdb_type}'"
        )
        not_of_type = (
            f"case when regexp_full_match({raw}, '{_NUMBER_FORMS[col.type]}') "
            f"then {out_of_range} else {not_of_type} end"
        )
    return f"case when {raw} is not null and {val} is null then {not_of_type} end"


def _minor_unit_reasons(table: Table) -> list[str]:
    """Amounts may not be finer than their currency's minor unit (no 0.5 JPY)."""
    if not table.money_currency:
        return []
    units = currency_minor_units()
    odd = {code: n for code, n in units.items() if n != 2}
    cur = ident(table.money_currency)
    scale = "case " + cur + "".join(f" when '{c}' then {10**n}" for c, n in sorted(odd.items()))
    scale += " else 100 end"
    # widened before multiplying: an amount of 10^12 or more times 100 overflows DECIMAL(18,4)
    wide = f"DECIMAL(38,{_SCALE['money']})"
    out = []
    for col in table.columns:
        if col.type == "money":
            m = ident(col.name)
            out.append(
                f"case when (cast({m} as {wide}) * {scale}) % 1 <> 0 then '{col.name}: ' || "
                f"{_shown(ident('_raw_' + col.name))} || ' is finer than the minor unit of ' || "
                f"{cur} end"
            )
    return out


def reserved(name: str) -> bool:
    """Whether a file's column has a name the loader gives columns itself: its lineage
    (`_source_file`, `_source_row`), a value's text (`_raw_<column>`), the row number of
    DuckDB's Parquet reader (`file_row_number`). Such a column is unknown and never read: the
    loader's lineage is always its own."""
    name = name.strip().lower()
    return name in ("_source_file", "_source_row", "file_row_number") or name.startswith("_raw_")


def _text(src: str | None, binary: bool) -> str:
    """A source value's text; bytes (a Parquet BINARY column) as their UTF-8 text, or escaped
    (caf\\xE9) for the raw record when they are not UTF-8."""
    if src is None:
        return "null::varchar"
    value = f"s.{ident(src)}"
    text = f"coalesce(try(decode({value})), cast({value} as varchar))" if binary else value
    return f"nullif(cast({text} as varchar), '')"


def _not_utf8(name: str, src: str) -> str:
    value = f"s.{ident(src)}"
    return (
        f"case when {value} is not null and try(decode({value})) is null "
        f"then '{name}: not valid UTF-8' end"
    )


def checked_select(
    table: Table,
    present: dict[str, str],
    source: str,
    now: datetime,
    with_file: bool = False,
    binary: Collection[str] = (),
) -> str:
    """Select from `source` the typed contract columns, `_source_row`, `_reasons` (a list) and
    `_raw_record`; with `with_file`, then `source`'s `_source_file` (many files in one query).

    `present` maps each contract column found in the file to its name there (case-insensitive
    match); contract columns missing from it are null. `binary` names the contract columns whose
    values are bytes in the source: read as UTF-8, a value that is not is quarantined (as a CSV
    row is).
    """
    raws, typed, reasons = [], [], []
    for col in table.columns:
        raw_name = f"_raw_{col.name}"
        src = present.get(col.name)
        raws.append(f"{_text(src, col.name in binary)} as {ident(raw_name)}")
        if src is not None and col.name in binary:
            raws.append(f"{_not_utf8(col.name, src)} as {ident('_utf8_' + col.name)}")
            reasons.append(ident("_utf8_" + col.name))
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
