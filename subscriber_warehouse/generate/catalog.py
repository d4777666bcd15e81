"""Reference data shared by every chunk: markets, plans (with price versions), campaigns, FX.

Built from the seed alone (never from the chunk), so every worker rebuilds the same catalog.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

from .retention import RetentionCampaign, retention_campaigns
from .timeutil import DAY, HOUR, add_months

# country, weight, currency, tax rate (basis points), UTC offset of the help desk's local
# export (minutes), preferred language. None = country unknown (billed in USD, no tax).
MARKETS: tuple[tuple[str | None, float, str, int, int, str], ...] = (
    ("US", 0.34, "USD", 0, -300, "en"),
    ("GB", 0.12, "GBP", 2000, 0, "en"),
    ("DE", 0.10, "EUR", 1900, 60, "de"),
    ("FR", 0.07, "EUR", 2000, 60, "fr"),
    ("JP", 0.06, "JPY", 1000, 540, "ja"),
    ("CA", 0.07, "CAD", 1300, -300, "en"),
    ("AU", 0.05, "AUD", 1000, 600, "en"),
    ("NL", 0.04, "EUR", 2100, 60, "nl"),
    ("ES", 0.04, "EUR", 2100, 60, "es"),
    ("BR", 0.05, "BRL", 0, -180, "pt"),
    ("IE", 0.02, "EUR", 2300, 0, "en"),
    ("IT", 0.02, "EUR", 2200, 60, "it"),
    (None, 0.02, "USD", 0, 0, "en"),
)
MARKET_BY_COUNTRY = {m[0]: m for m in MARKETS}

# local list price = USD list price x factor (whole yen for JPY); also used for one-off charges
PRICE_FACTOR = {
    "USD": 1.0,
    "EUR": 1.0,
    "GBP": 0.8,
    "CAD": 1.35,
    "AUD": 1.5,
    "BRL": 3.0,
    "JPY": 150.0,
}
# rough USD value of one unit, the level the FX random walk reverts to
FX_LEVEL = {"EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "CAD": 0.74, "AUD": 0.66, "BRL": 0.20}
CURRENCIES = sorted(PRICE_FACTOR)

# interval key -> (billing_interval, interval_count, months per period or None for weeks)
INTERVALS = {
    "monthly": ("month", 1, 1),
    "quarterly": ("month", 3, 3),
    "yearly": ("year", 1, 12),
    "weekly": ("week", 1, None),
}
# product -> tier -> (USD monthly list price, interval keys offered)
PRODUCTS = {
    "analytics": {
        "starter": (19, ("monthly", "yearly", "weekly")),
        "pro": (49, ("monthly", "yearly", "quarterly")),
        "business": (149, ("monthly", "yearly")),
    },
    "connect": {
        "starter": (9, ("monthly", "yearly")),
        "pro": (29, ("monthly", "yearly")),
        "enterprise": (99, ("monthly", "yearly")),
    },
}
TRIAL_PLANS = {("analytics", "starter", "monthly"), ("analytics", "pro", "monthly")}
# plans whose list price rises mid-horizon: (product, tier, interval) -> factor
PRICE_RISES = {
    ("analytics", "pro", "monthly"): 1.15,
    ("analytics", "pro", "yearly"): 1.15,
    ("connect", "starter", "monthly"): 1.2,
}


@dataclass
class Plan:
    plan_id: str
    product: str
    tier: str
    interval: str  # key of INTERVALS
    currency: str
    trial_days: int
    versions: list[tuple[int, int]]  # (updated_at, unit_amount in minor units), ascending

    @property
    def months(self) -> int | None:
        return INTERVALS[self.interval][2]

    def price_at(self, t: int) -> int:
        i = bisect_right(self.versions, (t, math.inf)) - 1
        return self.versions[max(i, 0)][1]


@dataclass
class Campaign:
    campaign_id: str
    name: str
    channel: str
    started_at: int
    ended_at: int | None
    spend: int  # minor units
    currency: str
    audience: float = 0.0  # email campaigns: share of eligible customers targeted
    winback: bool = False


@dataclass
class Catalog:
    t_start: int
    t_end: int
    plans: dict[tuple[str, str, str, str], Plan]
    campaigns: list[Campaign]
    fx: dict[str, np.ndarray]  # currency -> daily rate x 1e8, one per horizon day
    growth: float
    seed: int = 0  # seeds the streams drawn apart from a chunk's (customer traits)
    retention: list[RetentionCampaign] = field(default_factory=list)
    by_channel: dict[str, list[Campaign]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for c in self.campaigns:
            self.by_channel.setdefault(c.channel, []).append(c)

    def plan(self, product: str, tier: str, interval: str, currency: str) -> Plan:
        return self.plans[(product, tier, interval, currency)]

    def active_campaigns(self, channel: str, t: int) -> list[Campaign]:
        return [
            c
            for c in self.by_channel.get(channel, ())
            if c.started_at <= t and (c.ended_at is None or t <= c.ended_at)
        ]

    def arrival_cdf(self, t: int) -> float:
        x = (t - self.t_start) / (self.t_end - self.t_start)
        return math.expm1(self.growth * x) / math.expm1(self.growth)


def _local_price(usd: float, currency: str, charm: bool) -> int:
    """List price in minor units: whole yen for JPY, x.99 charm prices for cheap tiers."""
    if currency == "JPY":
        return int(round(usd * PRICE_FACTOR["JPY"], -2))
    major = max(1, round(usd * PRICE_FACTOR[currency]))
    return major * 100 - (1 if charm else 0)


def _plans(t_start: int, t_end: int, months: int) -> dict:
    rise_at = add_months(t_start, months // 2) + 9 * DAY + 9 * HOUR
    plans = {}
    for product, tiers in PRODUCTS.items():
        for tier, (usd, intervals) in tiers.items():
            for interval in intervals:
                usd_price = {
                    "monthly": usd,
                    "yearly": usd * 10,
                    "quarterly": usd * 2.7,
                    "weekly": usd * 0.25,
                }[interval]
                for cur in CURRENCIES:
                    charm = tier == "starter" and interval != "weekly"
                    versions = [(t_start, _local_price(usd_price, cur, charm))]
                    rise = PRICE_RISES.get((product, tier, interval))
                    if rise and rise_at < t_end:
                        versions.append((rise_at, _local_price(usd_price * rise, cur, charm)))
                    trial = 14 if (product, tier, interval) in TRIAL_PLANS else 0
                    pid = f"{product}-{tier}-{interval}-{cur}".lower()
                    plans[(product, tier, interval, cur)] = Plan(
                        pid, product, tier, interval, cur, trial, versions
                    )
    return plans


def _campaigns(rng: random.Random, cat_args: dict, customers: int) -> list[Campaign]:
    t_start, t_end = cat_args["t_start"], cat_args["t_end"]

    def cdf(t: int) -> float:
        x = (min(t, t_end) - t_start) / (t_end - t_start)
        return math.expm1(cat_args["growth"] * x) / math.expm1(cat_args["growth"])

    out: list[Campaign] = []

    def add(name, channel, s, e, spend_usd, cur="USD", **kw) -> None:
        spend = round(max(spend_usd, 0.0) / (FX_LEVEL[cur] if cur != "USD" else 1.0) * 100)
        out.append(Campaign("", name, channel, s, e, spend, cur, **kw))

    # channel share of arrivals, paid campaign lines of that channel (always on), CAC in USD
    lines = {
        "paid_search": (0.22, (("Search Brand", "USD"), ("Search Generic EU", "EUR")), 140.0),
        "paid_social": (0.15, (("Social Prospecting", "USD"),), 95.0),
    }
    k = 0
    while (s := add_months(t_start, 3 * k)) < t_end:
        e_next = add_months(t_start, 3 * (k + 1))
        e = None if e_next >= t_end else e_next - 1
        for channel, (share, names, cac) in lines.items():
            for name, cur in names:
                expected = customers * share * (cdf(e_next) - cdf(s)) / len(names)
                add(
                    f"{name} Q{k + 1}",
                    channel,
                    s,
                    e,
                    expected * cac * rng.lognormvariate(0, 0.2),
                    cur,
                )
        k += 1
    horizon = t_end - t_start
    for i in range(3):  # short paid-social bursts overlapping the always-on line
        s = t_start + int(horizon * (0.15 + 0.3 * i + 0.1 * rng.random()))
        e = min(s + 21 * DAY, t_end - 1)
        add(
            f"Social Launch Burst {i + 1}",
            "paid_social",
            s,
            e,
            customers * 0.15 * (cdf(e) - cdf(s)) * 0.5 * 95 * rng.lognormvariate(0, 0.2),
        )
    add("Partner Program", "partner", t_start, None, customers * 0.05 * 60.0)
    s = t_start + horizon // 3
    add("Reseller Pilot", "partner", s, s + horizon // 4, customers * 0.02 * 80.0, "EUR")
    k = 0
    while (s := add_months(t_start, k) + 14 * DAY + 15 * HOUR) < t_end:
        e = s + 7 * DAY
        add(
            f"Newsletter {k + 1:02d}",
            "email",
            s,
            e if e < t_end else None,
            rng.uniform(50, 400),
            audience=rng.uniform(0.2, 0.4),
        )
        if k % 3 == 2:
            s2 = s + 3 * DAY
            if s2 < t_end:
                add(
                    f"Win-back {k // 3 + 1}",
                    "email",
                    s2,
                    s2 + 5 * DAY if s2 + 5 * DAY < t_end else None,
                    rng.uniform(100, 600),
                    audience=0.6,
                    winback=True,
                )
        k += 1
    out.sort(key=lambda c: (c.started_at, c.name))
    for i, c in enumerate(out, 1):
        c.campaign_id = f"cmp_{i:04d}"
    return out


def _fx(rng: np.random.Generator, n_days: int) -> dict[str, np.ndarray]:
    out = {}
    for cur in sorted(FX_LEVEL):
        level = math.log(FX_LEVEL[cur])
        x = level + rng.normal(0, 0.02)
        shocks = rng.normal(0, 0.005, n_days)
        vals = np.empty(n_days)
        for d in range(n_days):
            x += (level - x) / 60 + shocks[d]
            vals[d] = x
        out[cur] = np.rint(np.exp(vals) * 1e8).astype(np.int64)
    return out


def build_catalog(seed: int, t_start: int, t_end: int, months: int, customers: int) -> Catalog:
    ss = np.random.SeedSequence([seed, 2**32 + 1])
    rng = random.Random(int(ss.generate_state(2, np.uint64)[0]))
    growth = math.log(3.0)  # arrivals in the last month ~3x the first
    args = {"t_start": t_start, "t_end": t_end, "growth": growth}
    n_days = -(-(t_end - t_start) // DAY)
    campaigns = _campaigns(rng, args, customers)
    return Catalog(
        t_start=t_start,
        t_end=t_end,
        plans=_plans(t_start, t_end, months),
        campaigns=campaigns,
        retention=retention_campaigns(t_start, t_end, len(campaigns) + 1),
        fx=_fx(np.random.default_rng(np.random.SeedSequence([seed, 2**32 + 2])), n_days),
        growth=growth,
        seed=seed,
    )
