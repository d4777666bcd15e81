"""Retention campaigns: randomised experiments with heterogeneous effects the simulation knows.

Every few months an in-app retention offer (no e-mail consent needed) goes to the paying
subscribers; a random half of them is held out (not contacted), so the campaign's effect can be
measured and learned. Whom the offer moves is a customer's segment at the send, which the
customer traits reveal in part and behaviour in part: persuadables (month-to-month small
companies, price-sensitive) stay when offered, sleeping dogs (committed customers of larger
companies) reconsider when reminded, lost causes (unhappy: low usage and satisfaction) and sure
things do what they would have done. The segments land beside the data, in `_truth/` (which the
loader ignores), so tests can compare measured lift and model rankings with what the simulation
did.

Arms and touches come from a stream per customer and campaign, so every other draw of the
business is the same with or without them; only the renewal decisions the offer flips differ.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .timeutil import DAY, HOUR, add_months

PCT = 10**8  # decimals are scaled by 1e8
FIRST_SEND_MONTH, EVERY_MONTHS = 4, 3
AUDIENCE_SHARE = 1.0  # of the subscribers paying at the send: the whole base is the experiment
HOLDOUT_SHARE = 0.5  # an experiment to learn from: half the audience is held out
EFFECT_DAYS = 90  # the offer changes renewal decisions for this long after the send
OFFER = ("retention_20pct_3m", 20, 3)  # name, discount percent, months
# the factor on the voluntary cancel hazard of a treated customer, per segment
EFFECT = {"persuadable": 0.1, "sleeping_dog": 5.0, "lost_cause": 1.0, "sure_thing": 1.0}
SEGMENTS = tuple(EFFECT)


@dataclass(frozen=True)
class RetentionCampaign:
    campaign_id: str
    name: str
    sent_at: int


def retention_campaigns(t_start: int, t_end: int, first_number: int) -> list[RetentionCampaign]:
    """Quarterly sends from the fifth month on, numbered after the other campaigns."""
    out, k = [], 0
    while (s := add_months(t_start, FIRST_SEND_MONTH + EVERY_MONTHS * k) + 20 * DAY + 10 * HOUR) < (
        t_end
    ):
        out.append(RetentionCampaign(f"cmp_{first_number + k:04d}", f"Retention Offer {k + 1}", s))
        k += 1
    return out


def segment(c, t: int) -> str:
    """The customer's response to a retention offer at instant t: the unhappiest are lost
    causes, whom field experiments find among the riskiest (Ascarza 2018); committed customers
    of larger companies are sleeping dogs; month-to-month small companies, price-sensitive,
    are persuadable."""
    if c.h < -1.0:
        return "lost_cause"
    small = c.company_size < 30
    if c.contract_at(t) == "month_to_month":
        return "persuadable" if small else "sure_thing"
    return "sure_thing" if small else "sleeping_dog"


@dataclass(frozen=True)
class Assignment:
    campaign: RetentionCampaign
    treated: bool


def assignment(c, camp: RetentionCampaign) -> Assignment | None:
    """The customer's arm in `camp` if it drew them into its audience (when paying at the send)."""
    rng = random.Random(f"retention:{c.cat.seed}:{camp.campaign_id}:{c.cid}")
    if rng.random() >= AUDIENCE_SHARE:
        return None
    return Assignment(camp, rng.random() >= HOLDOUT_SHARE)


def hazard_factor(c, t: int, paid_at: Callable[[int], bool]) -> float:
    """The offer's factor on the cancel hazard at a renewal at t of a subscription that
    `paid_at` an instant or not: a treated customer's segment's effect, for EFFECT_DAYS after
    each send while the subscription paid."""
    factor = 1.0
    for camp in c.cat.retention:
        if camp.sent_at < t <= camp.sent_at + EFFECT_DAYS * DAY and paid_at(camp.sent_at):
            drawn = assignment(c, camp)
            if drawn is not None and drawn.treated:
                factor *= EFFECT[segment(c, camp.sent_at)]
    return factor


def retention_rows(c, rows, paying: list[tuple[int, int]]) -> None:
    """Assignments, touches and the segments (truth) of the campaigns sent while the customer
    paid (`paying`: the intervals any subscription of theirs was active)."""
    name, pct, months = OFFER
    for camp in c.cat.retention:
        s = camp.sent_at
        if not any(a <= s < b for a, b in paying):
            continue
        drawn = assignment(c, camp)
        if drawn is None:
            continue
        key = f"asg_{camp.campaign_id}_{c.num}"
        arm = "treatment" if drawn.treated else "holdout"
        rows.campaign_assignments.append(
            (key, camp.campaign_id, c.cid, "retention", arm, name, pct * PCT, months, s)
        )
        rows.retention_truth.append((c.cid, camp.campaign_id, arm, segment(c, s)))
        if drawn.treated:
            rng = random.Random(f"retention-touch:{c.cat.seed}:{camp.campaign_id}:{c.cid}")
            t = s + rng.randint(0, 3 * HOUR)
            mine = [(t, "sent")]
            if rng.random() < 0.97:
                t += rng.randint(1, 120)
                mine.append((t, "delivered"))
                if rng.random() < 0.45:
                    mine.append((t + rng.randint(300, 2 * DAY), "opened"))
            for n, (tt, kind) in enumerate(mine, 1):
                if tt < c.t_end:
                    touch = f"tch_{c.num}_{camp.campaign_id}_{n}"
                    rows.campaign_touches.append(
                        (touch, camp.campaign_id, c.cid, tt, kind, key, name)
                    )
