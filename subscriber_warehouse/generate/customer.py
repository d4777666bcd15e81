"""One customer: profile and latent traits, customer versions, support tickets, social CRM.

Latent traits drive everything a later metric should see: `h` (happiness) lowers churn, raises
satisfaction scores, usage and social sentiment; `card_fail` drives failed payments.
"""

from __future__ import annotations

import math
import random
import unicodedata
from bisect import bisect_right, insort

from .catalog import MARKET_BY_COUNTRY, MARKETS, Catalog
from .timeutil import DAY, HOUR

FIRST = (
    "Anna",
    "James",
    "Maria",
    "Lukas",
    "Sophie",
    "Hiroshi",
    "Yuki",
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Mateo",
    "Chloé",
    "José",
    "Zoë",
    "Liam",
    "Mia",
    "Ethan",
    "Sara",
    "Jan",
    "Léa",
    "Diego",
    "Aiko",
    "Finn",
    "Isabela",
    "Oliver",
    "Amelia",
    "Pablo",
    "Nora",
    "Kenji",
)
LAST = (
    "Smith",
    "Müller",
    "García",
    "Martin",
    "Tanaka",
    "Rossi",
    "Silva",
    "Brown",
    "Dubois",
    "Jansen",
    "O'Brien",
    "Schmidt",
    "Sato",
    "López",
    "Wilson",
    "Moreau",
    "de Vries",
    "Costa",
    "Taylor",
    "Fischer",
    "Suzuki",
    "Fernández",
    "Murphy",
    "Bianchi",
    "Nguyen",
    "Kim",
    "Anderson",
    "Weber",
    "Santos",
    "Novak",
)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example")
CHANNELS = (
    ("organic", 0.35),
    ("paid_search", 0.22),
    ("paid_social", 0.15),
    ("referral", 0.12),
    ("partner", 0.10),
    (None, 0.06),
)
TICKET_CHANNELS = (("email", 0.45), ("chat", 0.35), ("phone", 0.12), ("social", 0.08))
PRIORITIES = (("low", 0.25), ("normal", 0.5), ("high", 0.2), ("urgent", 0.05))
CATEGORIES = (
    ("how_to", 0.3),
    ("bug", 0.25),
    ("billing", 0.15),
    ("feature_request", 0.15),
    ("account", 0.15),
)
# Customer traits (the customer_attributes table) and what each does to the voluntary cancel
# hazard at a renewal; the multipliers average about 1 over customers, so traits move churn
# between customers without changing the business's overall churn.
CONTRACTS = (("month_to_month", 0.55), ("one_year", 0.28), ("two_year", 0.17))
CONTRACT_HAZARD = {"month_to_month": 1.5, "one_year": 0.55, "two_year": 0.3}
# a month-to-month customer sometimes signs a yearly contract later: traits change over time
CONTRACT_SIGNED_LATER = 0.15
INDUSTRIES = (
    ("software", 0.25),
    ("retail", 0.18),
    ("healthcare", 0.14),
    ("finance", 0.13),
    ("education", 0.15),
    ("media", 0.15),
)
INDUSTRY_HAZARD = {"education": 1.3, "retail": 1.15, "finance": 0.8}
PAYMENT_METHODS = (("card", 0.6), ("bank_transfer", 0.25), ("direct_debit", 0.15))
PAYMENT_HAZARD = {"bank_transfer": 1.25, "direct_debit": 0.8}
COMPANY_SIZE_LOG_MEAN = 3.5  # ≈ 33 employees; bigger companies churn less
RESOLVE_HOURS = {"low": 40.0, "normal": 20.0, "high": 8.0, "urgent": 3.0}
PLATFORMS = ("x", "linkedin", "facebook", "instagram", "reddit")
INTERACTIONS = (("mention", 0.4), ("reply", 0.3), ("review", 0.1), ("share", 0.2))


def pick(rng: random.Random, pairs):
    r = rng.random()
    acc = 0.0
    for value, p in pairs:
        acc += p
        if r < acc:
            return value
    return pairs[-1][0]


def fictional_phone(num: str) -> str | None:
    """Seven in ten customers left a number, in North America's unassigned area code 555 so no
    real phone is ever texted; drawn from the customer's number, not the random stream, so the
    rest of the simulated business does not change with it."""
    n = int(num)
    return None if n % 10 >= 7 else f"+1 555-{n // 10_000 % 1_000:03d}-{n % 10_000:04d}"


def ascii_fold(s: str) -> str:
    """'Zoë O'Brien' -> 'zoeobrien': e-mail addresses and handles stay ASCII."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", s).lower() if ch.isascii() and ch.isalnum()
    )


class Customer:
    def __init__(self, idx: int, width: int, created: int, rng: random.Random, cat: Catalog):
        self.rng, self.cat, self.t_end = rng, cat, cat.t_end
        self.num = f"{idx + 1:0{width}d}"
        self.cid = f"cus_{self.num}"
        self.created = created
        market = pick(rng, [(m, m[1]) for m in MARKETS])
        self.country, self.currency, self.tz = market[0], market[2], market[4]
        self.language = market[5]
        self.countries: list[tuple[int, str | None]] = [(created, self.country)]
        self.h = rng.gauss(0.0, 1.0)
        risky = rng.random() < 0.12
        self.card_fail = 0.2 if risky else 0.025
        self.retry_success = 0.25 if risky else 0.4
        self.net_terms = 0.03
        self.failures: list[int] = []
        self.low_tickets: list[int] = []
        self.tickets: list[tuple] = []
        self.first, self.last = rng.choice(FIRST), rng.choice(LAST)
        self.channel = pick(rng, CHANNELS)
        self.campaign = None
        if self.channel in ("paid_search", "paid_social") or (
            self.channel == "partner" and rng.random() < 0.5
        ):
            active = cat.active_campaigns(self.channel, created)
            self.campaign = rng.choice(active) if active else None
        self._traits(random.Random(f"traits:{cat.seed}:{self.cid}"))
        rate = 0.10 * (1.6 if self.h < -0.5 else 1.0) / (30 * DAY)
        t = created
        while (t := t + int(rng.expovariate(rate))) < self.t_end:
            self.ticket(t)

    def _traits(self, rng: random.Random) -> None:
        """Traits from their own stream, so every other draw is the same with or without them."""
        self.contract = pick(rng, CONTRACTS)
        self.contract_changed: int | None = None
        if self.contract == "month_to_month" and rng.random() < CONTRACT_SIGNED_LATER:
            t = self.created + rng.randint(30 * DAY, 540 * DAY)
            self.contract_changed = t if t < self.t_end else None
        self.industry = pick(rng, INDUSTRIES)
        self.payment_method = pick(rng, PAYMENT_METHODS)
        self.company_size = max(1, round(math.exp(rng.gauss(COMPANY_SIZE_LOG_MEAN, 1.2))))

    def contract_at(self, t: int) -> str:
        if self.contract_changed is not None and t >= self.contract_changed:
            return "one_year"
        return self.contract

    def trait_hazard(self, t: int) -> float:
        """The traits' factor on the voluntary cancel hazard at instant t."""
        size = math.exp(-0.15 * (math.log(self.company_size) - COMPANY_SIZE_LOG_MEAN))
        return (
            CONTRACT_HAZARD[self.contract_at(t)]
            * INDUSTRY_HAZARD.get(self.industry, 1.0)
            * PAYMENT_HAZARD.get(self.payment_method, 1.0)
            * size
        )

    # -- helpers used by the billing and subscription simulation -----------------------------
    def country_at(self, t: int) -> str | None:
        i = bisect_right(self.countries, t, key=lambda v: v[0]) - 1
        return self.countries[max(i, 0)][1]

    def low_tickets_before(self, t: int) -> int:
        return bisect_right(self.low_tickets, t)

    def failures_before(self, t: int) -> int:
        return bisect_right(self.failures, t)

    def ticket(self, t: int, category: str | None = None, priority: str | None = None) -> None:
        rng = self.rng
        priority = priority or pick(rng, PRIORITIES)
        resolved = t + int(rng.lognormvariate(math.log(RESOLVE_HOURS[priority] * HOUR), 0.8))
        if resolved >= self.t_end or rng.random() < 0.02:
            resolved = None
        score = None
        if resolved is not None and rng.random() < 0.6:
            score = min(5, max(1, round(3.8 + 0.9 * self.h + rng.gauss(0.0, 0.9))))
            if score <= 2:
                insort(self.low_tickets, t)
        self.tickets.append(
            (
                t,
                resolved,
                pick(rng, TICKET_CHANNELS),
                priority,
                category or pick(rng, CATEGORIES),
                score,
            )
        )

    def maybe_billing_ticket(self, t_failed: int) -> None:
        t = t_failed + self.rng.randint(HOUR, 2 * DAY)
        if t < self.t_end and self.rng.random() < 0.25:
            self.ticket(t, "billing", "high")

    # -- rows -------------------------------------------------------------------------------
    def customer_rows(self, rows) -> None:
        rng = self.rng
        suffix = ", Jr." if rng.random() < 0.01 else ""
        name = None if rng.random() < 0.05 else f"{self.first} {self.last}{suffix}"
        email = f"{ascii_fold(self.first)}.{ascii_fold(self.last)}.{self.num}@{rng.choice(DOMAINS)}"
        camp = self.campaign.campaign_id if self.campaign else None
        base = [self.cid, email, name, self.country, self.created, self.channel, camp, self.created]
        base.append(fictional_phone(self.num))
        rows.customers.append(tuple(base))
        if rng.random() < 0.08:
            tv = self.created + rng.randint(DAY, max(DAY + 1, self.t_end - self.created))
            if tv < self.t_end:
                if rng.random() < 0.65:
                    base[1] = f"{ascii_fold(self.first)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
                else:
                    moved = pick(rng, [(m[0], m[1]) for m in MARKETS if m[0] is not None])
                    base[3] = moved
                    self.countries.append((tv, moved))
                base[7] = tv
                rows.customers.append(tuple(base))

    def attribute_rows(self, rows) -> None:
        for name, value in (
            ("contract_type", self.contract),
            ("industry", self.industry),
            ("payment_method", self.payment_method),
            ("company_size", str(self.company_size)),
        ):
            rows.customer_attributes.append((self.cid, name, value, self.created))
        if self.contract_changed is not None:
            rows.customer_attributes.append(
                (self.cid, "contract_type", "one_year", self.contract_changed)
            )

    def ticket_rows(self, rows, live: list[tuple[int, int]]) -> None:
        """Tickets opened while the customer had a live (not canceled) subscription."""
        n = 0
        for t, resolved, channel, priority, category, score in sorted(self.tickets):
            if not any(a <= t < b for a, b in live):
                continue
            n += 1
            tz = MARKET_BY_COUNTRY[self.country_at(t)][4]
            rows.support_tickets.append(
                (
                    f"tkt_{self.num}_{n:03d}",
                    self.cid,
                    t,
                    resolved,
                    channel,
                    priority,
                    category,
                    score,
                    tz,
                )
            )

    def social_rows(self, rows, churned_at: int | None) -> None:
        rng = self.rng
        items = []
        if rng.random() < 0.25:
            handle = f"@{ascii_fold(self.first)}_{ascii_fold(self.last)}{rng.randint(1, 999)}"
            platform = rng.choice(PLATFORMS)
            for _ in range(1 + _poisson(rng, 1.5)):
                t = rng.randint(self.created, self.t_end - 1)
                s = None
                if rng.random() >= 0.15:
                    s = 0.2 + 0.3 * self.h + rng.gauss(0.0, 0.35)
                items.append((t, platform, handle, pick(rng, INTERACTIONS), s))
        if churned_at is not None and rng.random() < 0.3:
            t = churned_at + rng.randint(0, 10 * DAY)
            if t < self.t_end:
                handle = f"{ascii_fold(self.first)} {ascii_fold(self.last)[:1]}."
                items.append(
                    (
                        t,
                        rng.choice(("g2", "trustpilot")),
                        handle,
                        "review",
                        -0.5 + rng.gauss(0.0, 0.25),
                    )
                )
        for n, (t, platform, handle, kind, s) in enumerate(sorted(items), 1):
            rows.social_interactions.append(
                (f"soc_{self.num}_{n:03d}", self.cid, platform, handle, kind, sentiment(s), t)
            )


def sentiment(s: float | None) -> int | None:
    """A score in [-1, 1] rounded to 2 decimals, as a decimal scaled by 1e8."""
    if s is None:
        return None
    return round(min(1.0, max(-1.0, s)) * 100) * 10**6


def _poisson(rng: random.Random, lam: float) -> int:
    k, p, limit = 0, rng.random(), math.exp(-lam)
    while p > limit:
        k += 1
        p *= rng.random()
    return k
