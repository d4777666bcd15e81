"""Simulate the customers of one chunk: every table but usage events and reference tables.

Rows are tuples in contract column order, holding ints for instants (epoch seconds), dates
(epoch days), money (minor units) and decimals (scaled by 1e8). Usage comes out as activity
spans that `usage.py` turns into events with numpy.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from .billing import Ledger
from .catalog import PRICE_FACTOR, Catalog
from .customer import Customer, sentiment
from .marketing import marketing_rows
from .retention import retention_rows
from .subscription import Subscription
from .timeutil import DAY, HOUR

CUSTOMER_TABLES = (
    "customers",
    "subscription_events",
    "invoices",
    "payments",
    "refunds",
    "support_tickets",
    "campaign_touches",
    "campaign_assignments",
    "preferences",
    "social_interactions",
    "customer_attributes",
)


@dataclass
class ChunkRows:
    customers: list = field(default_factory=list)
    subscription_events: list = field(default_factory=list)
    invoices: list = field(default_factory=list)
    payments: list = field(default_factory=list)
    refunds: list = field(default_factory=list)
    support_tickets: list = field(default_factory=list)
    campaign_touches: list = field(default_factory=list)
    campaign_assignments: list = field(default_factory=list)
    # not a contract table: customer, campaign, arm and segment, written to _truth/
    retention_truth: list = field(default_factory=list)
    preferences: list = field(default_factory=list)
    social_interactions: list = field(default_factory=list)
    customer_attributes: list = field(default_factory=list)
    # usage activity spans: customer number (text), start, end, events/day, voluntary end
    spans: list = field(default_factory=list)


def chunk_rngs(seed: int, chunk: int) -> tuple[random.Random, np.random.Generator]:
    ss = np.random.SeedSequence([seed, chunk])
    py_seed, np_seed = ss.spawn(2)
    return (
        random.Random(int(py_seed.generate_state(2, np.uint64)[0])),
        np.random.default_rng(np_seed),
    )


def arrivals(rng: random.Random, cat: Catalog, n: int) -> list[int]:
    """Signup instants with exponential growth over the horizon (inverse CDF), ascending."""
    g, span = cat.growth, cat.t_end - cat.t_start
    out = [cat.t_start + int(span * math.log1p(rng.random() * math.expm1(g)) / g) for _ in range(n)]
    return sorted(min(t, cat.t_end - 1) for t in out)


def merge(spans: list[tuple[int, int, bool]]) -> list[tuple[int, int, bool]]:
    """Union of activity spans; a merged span ends 'voluntarily' when the span that ends it
    does."""
    out: list[list] = []
    for a, b, vol in sorted(spans):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1][1:] = [b, vol]
            elif b == out[-1][1]:
                out[-1][2] = out[-1][2] or vol
        else:
            out.append([a, b, vol])
    return [(a, b, vol) for a, b, vol in out if b > a]


def simulate_customer(c: Customer, cat: Catalog, rows: ChunkRows) -> None:
    rng, end = c.rng, cat.t_end
    c.customer_rows(rows)
    c.attribute_rows(rows)
    ledger = Ledger(c, rows, end)
    subs: list[Subscription] = []
    r = rng.random()
    if r < 0.75:
        t0 = c.created + rng.randint(60, 1800)
    elif r < 0.95:
        t0 = c.created + rng.randint(HOUR, 10 * DAY)
    else:
        t0 = end  # a lead who never subscribes
    if t0 < end:
        first = Subscription(c, cat, rows, ledger, 1, "analytics")
        first.run(t0, allow_trial=True)
        subs.append(first)
        paid = [(a, b) for a, b, _ in first.spans if b - a > 20 * DAY]
        if paid and rng.random() < 0.24:
            a, b = paid[0]
            t2 = a + rng.randint(7 * DAY, min(b - a - DAY, 365 * DAY))
            if t2 < end:
                second = Subscription(c, cat, rows, ledger, 2, "connect")
                second.run(t2, allow_trial=False)
                subs.append(second)
    live = sorted(iv for s in subs for iv in s.live)
    c.ticket_rows(rows, live)
    marketing_rows(c, cat, rows, live)
    retention_rows(c, rows, sorted(iv for s in subs for iv in s.paying))
    churned = None
    if subs and all(s.status == "canceled" for s in subs):
        t, voluntary = max(s.last_cancel for s in subs if s.last_cancel)
        churned = t if voluntary else None
    c.social_rows(rows, churned)
    _one_offs(c, ledger, rng, end)
    rate = math.exp(rng.gauss(math.log(0.5), 0.5) + 0.25 * c.h)
    for a, b, vol in merge([s for sub in subs for s in sub.spans]):
        rows.spans.append((c.num, a, b, rate, vol))


def _one_offs(c: Customer, ledger: Ledger, rng: random.Random, end: int) -> None:
    """Add-ons, top-ups and overage as a repeat-purchase process (BG/NBD-like: Poisson
    purchases while 'alive', dropping out after each purchase; Gamma-Gamma spend)."""
    lam = rng.gammavariate(0.5, 0.5) / (30 * DAY)
    if lam <= 0:
        return
    p_drop = rng.betavariate(1.2, 3.5)
    nu = rng.gammavariate(3.0, 10.0)
    t = c.created
    while (t := t + int(rng.expovariate(lam))) < end:
        usd = rng.gammavariate(4.0, nu / 4.0)
        factor = PRICE_FACTOR[c.currency]
        minor = (
            max(1, round(usd * factor))
            if c.currency == "JPY"
            else max(50, round(usd * factor * 100))
        )
        ledger.one_off(t, minor, c.currency)
        if rng.random() < p_drop:
            break


def simulate_chunk(
    cat: Catalog, seed: int, chunk: int, first_customer: int, n: int, width: int
) -> tuple[ChunkRows, np.random.Generator]:
    rng, nrng = chunk_rngs(seed, chunk)
    rows = ChunkRows()
    for i, created in enumerate(arrivals(rng, cat, n)):
        simulate_customer(Customer(first_customer + i, width, created, rng, cat), cat, rows)
    # social mentions whose handle matches no customer
    for k in range(int(nrng.binomial(n, 0.05))):
        t = rng.randint(cat.t_start, cat.t_end - 1)
        s = None if rng.random() < 0.2 else sentiment(rng.gauss(0.0, 0.5))
        rows.social_interactions.append(
            (
                f"soc_x{chunk:05d}_{k + 1:05d}",
                None,
                rng.choice(("x", "reddit", "instagram")),
                f"@user{rng.randint(1000, 999_999)}",
                rng.choice(("mention", "reply", "share")),
                s,
                t,
            )
        )
    return rows, nrng
