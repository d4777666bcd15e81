"""Headline tiles: the as-of month's metrics and their change from the month before.

Formatting is done here by hand (not by the locale module) so the page reads the same on any
machine: thousands separated by commas, rates as percentages, month names in English.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class TileSpec:
    key: str
    label: str
    column: str  # in subscription_metrics_monthly
    kind: str  # amount | count | rate
    higher_is_better: bool
    hint: str
    decimals: int = 0


TILE_SPECS = (
    TileSpec("mrr", "MRR", "mrr_end", "amount", True, "Monthly recurring revenue at month end"),
    TileSpec("arr", "ARR", "arr_end", "amount", True, "12 × MRR"),
    TileSpec("customers", "Customers", "customers_end", "count", True, "Paying at month end"),
    TileSpec(
        "logo_churn",
        "Logo churn",
        "logo_churn_rate",
        "rate",
        False,
        "Churned customers / customers at month start",
    ),
    TileSpec(
        "nrr",
        "NRR",
        "net_revenue_retention",
        "rate",
        True,
        "(MRR start + expansion − contraction − churned) / MRR start",
    ),
    TileSpec("arpa", "ARPA", "arpa", "amount", True, "MRR / paying customers", decimals=2),
    TileSpec(
        "clv",
        "CLV",
        "formula_ltv",
        "amount",
        True,
        "Trailing ARPA / trailing logo churn (6 months), lifetime capped at 60 months",
    ),
)


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: str
    change: str  # e.g. "+3.2%" (amounts, counts) or "-0.4 pp" (rates); "n/a" without a base
    tone: str  # good | bad | flat | none: whether the move is welcome, for colouring
    hint: str
    unit: str = ""  # the currency code of an amount, shown before its value


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_number(value: float | None, decimals: int = 0) -> str:
    if is_missing(value):
        return "n/a"
    text = f"{value:,.{decimals}f}"
    # a value that rounds to zero should not read "-0"
    return text[1:] if text.startswith("-") and float(text[1:].replace(",", "")) == 0 else text


def format_rate(value: float | None, decimals: int = 1) -> str:
    return "n/a" if is_missing(value) else f"{value:.{decimals}%}"


def month_label(month: date) -> str:
    return f"{MONTHS[month.month - 1]} {month.year}"


def relative_change(current: float | None, previous: float | None) -> float | None:
    """(current − previous) / |previous|; None when either is missing or previous is 0."""
    if is_missing(current) or is_missing(previous) or previous == 0:
        return None
    return (current - previous) / abs(previous)


def point_change(current: float | None, previous: float | None) -> float | None:
    """The difference of two rates (in rate units: 0.004 = 0.4 percentage points)."""
    if is_missing(current) or is_missing(previous):
        return None
    return current - previous


def format_change(change: float | None, kind: str) -> str:
    if change is None:
        return "n/a"
    text = f"{change * 100:+.1f} pp" if kind == "rate" else f"{change:+.1%}"
    # a change that rounds to zero reads "+0.0", whichever side of zero it fell
    return "+" + text[1:] if _rounds_to_zero(text) else text


def change_tone(change: float | None, kind: str, higher_is_better: bool) -> str:
    if change is None:
        return "none"
    if _rounds_to_zero(format_change(change, kind)):
        return "flat"
    return "good" if (change > 0) == higher_is_better else "bad"


def _rounds_to_zero(text: str) -> bool:
    return not any(c in "123456789" for c in text)


def build_tiles(latest: Mapping, previous: Mapping | None, currency: str) -> list[Tile]:
    """One tile per headline metric: latest month's value, change from the previous month;
    amounts carry `currency`, the reporting currency's code."""
    tiles = []
    for spec in TILE_SPECS:
        current = latest[spec.column]
        before = None if previous is None else previous[spec.column]
        if spec.kind == "rate":
            value, change = format_rate(current), point_change(current, before)
        else:
            value, change = format_number(current, spec.decimals), relative_change(current, before)
        tiles.append(
            Tile(
                key=spec.key,
                label=spec.label,
                value=value,
                change=format_change(change, spec.kind),
                tone=change_tone(change, spec.kind, spec.higher_is_better),
                hint=f"{spec.hint}, in {currency}" if spec.kind == "amount" else spec.hint,
                unit=currency if spec.kind == "amount" else "",
            )
        )
    return tiles
