"""Retention experiments: each campaign's measured lift over its holdout, the uplift model against
churn-risk and random targeting on a held-out campaign, and the next best action per subscriber;
from campaign_lift, uplift_model_evaluation and next_best_action."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from subscriber_warehouse.report import labels
from subscriber_warehouse.report.style import (
    CELL_FILL,
    HEADER_FILL,
    LIFT_COLOURS,
    NEUTRAL,
    TARGETING_COLOURS,
    base_layout,
    money_hover,
    money_title,
)
from subscriber_warehouse.report.tiles import MONTHS, format_number, format_rate, is_missing

ZERO_LINE = "#52606d"
# how each targeting reads after "retained ... of MRR per 1,000 contacted"
TARGETING_PHRASES = {
    "uplift": "by the uplift model",
    "churn_risk": "by churn risk",
    "random": "at random",
}


def day_label(moment: pd.Timestamp) -> str:
    """'3 Mar 2025', in English on any machine (strftime's %b follows the locale)."""
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def points(value: float | None, unit: str = " pts") -> str:
    """A difference of rates in percentage points, signed: 0.5 -> '+50.0 pts'."""
    if is_missing(value):
        return "n/a"
    text = f"{value * 100:+.1f}"
    # a lift that rounds to zero reads "+0.0", whichever side of zero it fell
    return ("+" + text[1:] if float(text) == 0 else text) + unit


def lift_text(lift: float | None, lower: float | None, upper: float | None) -> str:
    """'+50.0 pts [+20.0, +70.0]': the lift and its 95 % interval."""
    if is_missing(lift):
        return "n/a"
    return f"{points(lift)} [{points(lower, '')}, {points(upper, '')}]"


def windows_text(days: pd.Series) -> str:
    """The lift windows in words: '30 and 90'."""
    values = [str(int(d)) for d in sorted(days.dropna().unique())]
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} and {values[-1]}"


def audience_offer(audience: object, offer: object) -> str:
    who = "no audience" if is_missing(audience) else labels.audience(str(audience))
    what = "no offer" if is_missing(offer) else str(offer)  # the offer's name, as configured
    return f"{who} · {what}"


def campaign_names(rows: pd.DataFrame) -> list[str]:
    """The campaign id, with its audience and offer where the campaign has more than one row."""
    shared = rows["campaign_id"].duplicated(keep=False)
    return [
        f"{row.campaign_id} · {audience_offer(row.audience, row.offer)}"
        if many
        else row.campaign_id
        for row, many in zip(rows.itertuples(), shared, strict=True)
    ]


def interval_side(lower: float, upper: float) -> str:
    """Where the 95 % interval lies: wholly above zero, wholly below it, or across it."""
    if lower > 0:
        return "above"
    return "below" if upper < 0 else "spans"


LIFT_COLUMNS = ["retention_lift", "retention_lift_lower_95", "retention_lift_upper_95"]


def lift_chart(rows: pd.DataFrame, window_days: int) -> go.Figure:
    """The retention lift of each campaign's window of `window_days` (rows of campaign_lift, oldest
    campaign first, complete, with a lift), in points, with its 95 % interval as error bars."""
    names = [
        f"{name}<br>{day_label(at)}"
        for name, at in zip(campaign_names(rows), rows["assigned_at"], strict=True)
    ]
    lift = rows["retention_lift"].to_numpy(dtype=float) * 100
    lower = rows["retention_lift_lower_95"].to_numpy(dtype=float) * 100
    upper = rows["retention_lift_upper_95"].to_numpy(dtype=float) * 100
    sides = [interval_side(lo, hi) for lo, hi in zip(lower, upper, strict=True)]
    details = np.column_stack(
        [
            [lift_text(*r) for r in rows[LIFT_COLUMNS].itertuples(index=False)],
            [audience_offer(a, o) for a, o in zip(rows["audience"], rows["offer"], strict=True)],
            [_count(n) for n in rows["customers_treatment"]],
            [_count(n) for n in rows["customers_holdout"]],
        ]
    )
    fig = go.Figure(
        go.Scatter(
            x=names,
            y=lift,
            name="retention lift",
            mode="markers",
            marker={"color": [LIFT_COLOURS[s] for s in sides], "size": 11},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": upper - lift,
                "arrayminus": lift - lower,
                "color": ZERO_LINE,
                "thickness": 1.5,
                "width": 6,
            },
            customdata=details,
            hovertemplate="%{x}<br>%{customdata[1]}<br>lift %{customdata[0]}<br>"
            "%{customdata[2]} contacted, %{customdata[3]} held out<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_hline(y=0, line={"color": ZERO_LINE, "width": 1, "dash": "dot"})
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=names)
    fig.update_yaxes(
        title=f"{window_days}-day retention lift, percentage points",
        ticksuffix=" pts",
        zeroline=False,  # the dotted line is the zero
    )
    return base_layout(fig, height=400)


def lift_table(rows: pd.DataFrame, currency: str) -> go.Figure:
    """Per complete window of a campaign (oldest first): its arms' customers and retention, the
    lift and its interval, the incremental MRR and the offer's cost per customer saved."""
    header = [
        "campaign",
        "assigned",
        "audience · offer",
        "window",
        "customers: treatment / holdout",
        "retained: treatment / holdout",
        "lift [95% interval]",
        money_title("incremental MRR", currency),
        money_title("cost per saved customer", currency),
    ]
    cells = [
        list(rows["campaign_id"]),
        [day_label(at) for at in rows["assigned_at"]],
        [audience_offer(a, o) for a, o in zip(rows["audience"], rows["offer"], strict=True)],
        [f"{int(d)} days" for d in rows["window_days"]],
        [
            f"{_count(t)} / {_count(h)}"
            for t, h in zip(rows["customers_treatment"], rows["customers_holdout"], strict=True)
        ],
        [
            f"{format_rate(t)} / {format_rate(h)}"
            for t, h in zip(
                rows["retention_rate_treatment"], rows["retention_rate_holdout"], strict=True
            )
        ],
        [lift_text(*r) for r in rows[LIFT_COLUMNS].itertuples(index=False)],
        [format_number(v) for v in rows["incremental_mrr"]],
        [
            _cost_per_saved(cost, saved)
            for cost, saved in zip(
                rows["cost_per_saved_customer"], rows["incremental_customers"], strict=True
            )
        ],
    ]
    return _table(header, cells, [1, 1.1, 1.6, 0.8, 1.2, 1.2, 1.7, 1.1, 1.1])


def _cost_per_saved(cost: float | None, saved: float | None) -> str:
    if not is_missing(cost):
        return format_number(cost)
    # the mart leaves it null where the offer saved no one: there is nothing to divide by
    return "none saved" if not is_missing(saved) and saved <= 0 else "n/a"


def in_order(frame: pd.DataFrame, column: str, order: dict[str, str]) -> pd.DataFrame:
    """The rows in the order of `order`'s keys, any other value after them by name."""
    rank = {code: i for i, code in enumerate(order)}
    keys = frame[column].map(lambda code: (rank.get(code, len(rank)), str(code)))
    return frame.iloc[sorted(range(len(frame)), key=lambda i: keys.iloc[i])]


def targetings(evaluation: pd.DataFrame) -> pd.DataFrame:
    """uplift_model_evaluation's rows: the uplift model, churn risk, random, then any other."""
    return in_order(evaluation, "targeting", labels.TARGETINGS).reset_index(drop=True)


def chosen_learner(evaluation: pd.DataFrame) -> str | None:
    uplift = evaluation.loc[evaluation["targeting"] == "uplift", "model"]
    return None if uplift.empty else labels.uplift_learner(str(uplift.iloc[0]))


def targeting_table(evaluation: pd.DataFrame, currency: str) -> go.Figure:
    """Qini coefficient, AUUC and incremental MRR retained per 1,000 contacted, per targeting."""
    rows = targetings(evaluation)
    header = [
        "targeting",
        "Qini coefficient",
        "AUUC",
        money_title("incremental MRR retained per 1,000 contacted", currency),
    ]
    cells = [
        [labels.targeting(t) for t in rows["targeting"]],
        [format_number(v, 4) for v in rows["qini_coefficient"]],
        [format_number(v, 4) for v in rows["auuc"]],
        [format_number(v) for v in rows["incremental_mrr_per_1000_contacted"]],
    ]
    return _table(header, cells, [1.2, 1, 1, 1.8])


def targeting_mrr(evaluation: pd.DataFrame, currency: str) -> go.Figure:
    """Incremental MRR retained per 1,000 contacted as horizontal bars, the uplift model on top."""
    rows = targetings(evaluation)
    values = rows["incremental_mrr_per_1000_contacted"].astype(float)
    fig = go.Figure(
        go.Bar(
            y=[labels.targeting(t) for t in rows["targeting"]],
            x=values,
            orientation="h",
            marker_color=[TARGETING_COLOURS.get(t, NEUTRAL) for t in rows["targeting"]],
            text=[f"{currency} {format_number(v)}" for v in values],
            textposition="auto",
            hovertemplate=f"%{{y}}: {money_hover(currency, 'x')} per 1,000 contacted"
            "<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=money_title("incremental MRR retained per 1,000 contacted", currency))
    return base_layout(fig, height=max(240, 130 + 48 * len(rows)))


def targeting_verdict(evaluation: pd.DataFrame, currency: str) -> str:
    """One sentence on the held-out campaign: what each targeting retained per 1,000 contacted."""
    rows = targetings(evaluation)
    first = rows.iloc[0]
    amounts = [f"{currency} {format_number(v)}" for v in rows["incremental_mrr_per_1000_contacted"]]
    # "USD 1,250 of MRR per 1,000 contacted by the uplift model, USD 300 by churn risk, ..."
    amounts[0] += " of MRR per 1,000 contacted"
    figures = [
        f"{amount} {TARGETING_PHRASES.get(t, f'by {labels.targeting(t)}')}"
        for amount, t in zip(amounts, rows["targeting"], strict=True)
    ]
    listed = figures[0] if len(figures) == 1 else f"{', '.join(figures[:-1])} and {figures[-1]}"
    learner = chosen_learner(rows)
    learnt = (
        f"The uplift model ({learner}) learnt from {first['train_campaigns']}; on"
        if learner
        else "On"
    )
    return (
        f"{learnt} the held-out campaign {first['test_campaign']} "
        f"({_count(first['customers_treatment'])} in the treatment arm, "
        f"{_count(first['customers_holdout'])} held out), contacting the top "
        f"{format_rate(first['target_share'], 0)} by each score retained {listed}."
    )


def actions(rows: pd.DataFrame) -> pd.DataFrame:
    """next_best_action totals per action in the page's order."""
    return in_order(rows, "action", labels.ACTIONS).reset_index(drop=True)


def actions_table(rows: pd.DataFrame, currency: str) -> go.Figure:
    """Per action: subscribers, their total expected value, and those a contact would push out;
    then every action together."""
    rows = actions(rows)
    header = [
        "next best action",
        "subscribers",
        money_title("total expected value", currency),
        "uplift < 0: a contact would push them out",
    ]
    cells = [
        [*(labels.action(a) for a in rows["action"]), "all"],
        [*(_count(n) for n in rows["subscribers"]), _count(rows["subscribers"].sum())],
        [
            *(format_number(v) for v in rows["expected_value"]),
            format_number(rows["expected_value"].sum()),
        ],
        [*(_count(n) for n in rows["pushed_out"]), _count(rows["pushed_out"].sum())],
    ]
    return _table(header, cells, [1.3, 1, 1.3, 1.6])


def actions_title(rows: pd.DataFrame, currency: str) -> str:
    subscribers, pushed_out = int(rows["subscribers"].sum()), int(rows["pushed_out"].sum())
    head = f"Next best action of {subscribers:,} paying subscribers ({currency})"
    if rows["scored"].sum() == 0:
        return f"{head}: no uplift scores, so no retention offer"
    return (
        f"{head}; the uplift model says a contact would push {pushed_out:,} of them out "
        "(uplift < 0): they are never sent a retention offer"
    )


def _table(header: list[str], cells: list[list[str]], widths: list[float]) -> go.Figure:
    fig = go.Figure(
        go.Table(
            columnwidth=widths,
            header={"values": header, "fill_color": HEADER_FILL, "align": "left", "height": 44},
            cells={"values": cells, "fill_color": CELL_FILL, "align": "left", "height": 28},
        )
    )
    fig = base_layout(fig, height=80 + 28 * len(cells[0]))
    fig.update_layout(margin={"l": 8, "r": 8, "t": 8, "b": 8})
    return fig


def _count(value: object) -> str:
    return "n/a" if pd.isna(value) else f"{int(value):,}"
