"""Calendar arithmetic on integer epoch seconds and days (UTC, proleptic Gregorian).

The simulation keeps every instant as int seconds since 1970-01-01T00:00:00Z and every date as
int days since 1970-01-01, so nothing depends on the machine's time zone or locale and no
per-row datetime objects are built.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

DAY = 86_400
HOUR = 3_600


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def civil_from_days(z: int) -> tuple[int, int, int]:
    """(year, month, day) of a day number since 1970-01-01."""
    z += 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def days_in_month(y: int, m: int) -> int:
    if m == 12:
        return 31
    return days_from_civil(y, m + 1, 1) - days_from_civil(y, m, 1)


def add_months(t: int, n: int) -> int:
    """Instant `t` moved by `n` calendar months, keeping the time of day; the day is clamped
    to the target month's length (Jan 31 + 1 month = Feb 28/29)."""
    day, sec = divmod(t, DAY)
    y, m, d = civil_from_days(day)
    mi = m - 1 + n
    y2, m2 = y + mi // 12, mi % 12 + 1
    return days_from_civil(y2, m2, min(d, days_in_month(y2, m2))) * DAY + sec


def next_month_start(t: int) -> int:
    """First instant of the calendar month after the one containing `t`."""
    y, m, _ = civil_from_days(t // DAY)
    return days_from_civil(y + m // 12, m % 12 + 1, 1) * DAY


def month_index(t: int, t0: int) -> int:
    """Calendar months between the month of `t0` and the month of `t`."""
    y, m, _ = civil_from_days(t // DAY)
    y0, m0, _ = civil_from_days(t0 // DAY)
    return (y - y0) * 12 + (m - m0)


def epoch_seconds(d: dt.date) -> int:
    return days_from_civil(d.year, d.month, d.day) * DAY


def iso_date(day: int) -> str:
    y, m, d = civil_from_days(day)
    return f"{y:04d}-{m:02d}-{d:02d}"


def iso_ts(t: int) -> str:
    y, m, d = civil_from_days(t // DAY)
    s = t % DAY
    return f"{y:04d}-{m:02d}-{d:02d}T{s // HOUR:02d}:{s % HOUR // 60:02d}:{s % 60:02d}Z"


def format_ts(seconds: np.ndarray, offset_minutes: np.ndarray | None = None) -> np.ndarray:
    """Vectorised ISO-8601 text of epoch seconds: `...Z`, or local time with `+hh:mm` when
    per-row offsets (minutes east of UTC) are given; both denote the same instant."""
    seconds = np.asarray(seconds, dtype=np.int64)
    if seconds.size == 0:
        return np.array([], dtype=str)
    if offset_minutes is None:
        return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s", timezone="UTC")
    off = np.asarray(offset_minutes, dtype=np.int64)
    local = np.datetime_as_string((seconds + off * 60).astype("datetime64[s]"), unit="s")
    a = np.abs(off)
    hh = np.strings.zfill((a // 60).astype(str), 2)
    mm = np.strings.zfill((a % 60).astype(str), 2)
    sign = np.where(off < 0, "-", "+")
    return np.strings.add(np.strings.add(np.strings.add(local, sign), np.strings.add(hh, ":")), mm)
