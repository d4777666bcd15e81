"""The lifecycle of one subscription: events (each row the full state after it) and billing.

Trial -> activated / canceled (not_using); or created. Then per billing period: an invoice at
the period start (dunning may end in a payment_failed cancel), plan and seat changes inside the
period, discounts changing at a period's start only (as coupons do), and at the renewal
boundary a voluntary cancel (hazard rising with low-score tickets and failed payments), a
retention discount, a pause (resumed 1-3 months later) or an interval switch. Canceled
subscriptions are sometimes reactivated 1-6 months later, in a later calendar month.
"""

from __future__ import annotations

import math

from .billing import Ledger, Outcome
from .catalog import PRODUCTS, Catalog
from .customer import Customer, pick
from .retention import hazard_factor
from .timeutil import DAY, HOUR, add_months, next_month_start

PCT = 10**8  # discount_pct is a decimal scaled by 1e8
MONTH = 30 * DAY
WEEK = 7 * DAY
# A team adds or removes a seat in ≈ 60 % of weeks, slightly more often adding: ≈ 8 seat
# events per customer over two years (≈ 10 subscription events in all), with the
# same slow growth in seats (≈ +0.1 a month) as monthly checks had.
SEAT_CHANGE_PER_WEEK = 0.6
SEAT_ADDED = 0.52
CANCEL_REASONS = (
    ("too_expensive", 0.3),
    ("missing_features", 0.2),
    ("switched_competitor", 0.2),
    ("not_using", 0.2),
    ("other", 0.1),
)
INTERVAL_MIX = {
    ("analytics", "starter"): (("monthly", 0.85), ("yearly", 0.1), ("weekly", 0.05)),
    ("analytics", "pro"): (("monthly", 0.8), ("yearly", 0.12), ("quarterly", 0.08)),
}
TIER_MIX = {
    "analytics": (("starter", 0.5), ("pro", 0.35), ("business", 0.15)),
    "connect": (("starter", 0.5), ("pro", 0.35), ("enterprise", 0.15)),
}


class Subscription:
    def __init__(self, cust: Customer, cat: Catalog, rows, ledger: Ledger, n: int, product: str):
        self.c, self.cat, self.rows, self.ledger = cust, cat, rows, ledger
        self.rng, self.t_end = cust.rng, cat.t_end
        self.product, self.n = product, n
        self.sub_id = f"sub_{cust.num}_{n}"
        self.tiers = list(PRODUCTS[product])
        self.seq = 0
        self.qty, self.custom, self.disc, self.disc_until = 1, None, None, None
        self.status: str | None = None
        self.explicit_currency = self.rng.random() < 0.05
        self.spans: list[tuple[int, int, bool]] = []  # trialing/active; True = voluntary end
        self.live: list[tuple[int, int]] = []  # any status but canceled
        self.paying: list[tuple[int, int]] = []  # active
        self._act = self._live = self._paying = None
        self.reactivations = 0
        self.active_since = 0
        self.last_cancel: tuple[int, bool] | None = None

    # -- state --------------------------------------------------------------------------
    def emit(self, t: int, etype: str, status: str, reason: str | None = None) -> None:
        act = status in ("trialing", "active")
        if self._act is not None and not act:
            self.spans.append((self._act, t, status == "canceled" and reason != "payment_failed"))
            self._act = None
        elif act and self._act is None:
            self._act = t
        if self._live is not None and status == "canceled":
            self.live.append((self._live, t))
            self._live = None
            self.last_cancel = (t, reason != "payment_failed")
        elif status != "canceled" and self._live is None:
            self._live = t
        if self._paying is not None and status != "active":
            self.paying.append((self._paying, t))
            self._paying = None
        elif status == "active" and self._paying is None:
            self._paying = t
        self.seq += 1
        self.status = status
        self.price = self.custom if self.custom is not None else self.plan.price_at(t)
        self.rows.subscription_events.append(
            (
                f"evt_{self.c.num}_{self.n}_{self.seq:04d}",
                self.sub_id,
                self.c.cid,
                etype,
                status,
                t,
                self.plan.plan_id,
                self.qty,
                self.custom,
                self.disc,
                self.plan.currency if self.explicit_currency else None,
                reason,
                self.plan.currency,
            )
        )

    def finish(self) -> None:
        if self._act is not None:
            self.spans.append((self._act, self.t_end, False))
        if self._live is not None:
            self.live.append((self._live, self.t_end))
        if self._paying is not None:
            self.paying.append((self._paying, self.t_end))

    def paid_at(self, t: int) -> bool:
        if self._paying is not None and self._paying <= t:
            return True
        return any(a <= t < b for a, b in self.paying)

    def set_plan(self, tier: str, interval: str) -> None:
        self.plan = self.cat.plan(self.product, tier, interval, self.c.currency)
        self.custom = None
        if tier == "starter":
            self.qty = 1

    # -- lifecycle ----------------------------------------------------------------------
    def run(self, t: int, allow_trial: bool) -> None:
        rng = self.rng
        tier = pick(rng, TIER_MIX[self.product])
        mix = INTERVAL_MIX.get((self.product, tier), (("monthly", 0.8), ("yearly", 0.2)))
        self.set_plan(tier, pick(rng, mix))
        if tier != "starter":
            big = tier in ("business", "enterprise")
            self.qty = min(
                50 if big else 10, (3 if big else 1) + _geometric(rng, 0.15 if big else 0.45)
            )
            if big and rng.random() < 0.08:  # negotiated price
                self.custom = round(self.plan.price_at(t) * rng.uniform(0.7, 0.9))
        if rng.random() < 0.08:  # launch promo
            self.disc, self.disc_until = rng.choice((10, 20)) * PCT, add_months(t, 3)
        if allow_trial and self.plan.trial_days:
            self.emit(t, "trial_started", "trialing")
            te = t + self.plan.trial_days * DAY
            if te < self.t_end:
                if rng.random() < min(0.95, max(0.2, 0.6 + 0.12 * self.c.h)):
                    self.emit(te, "activated", "active")
                    self.active(te, first=True)
                else:
                    self.emit(te, "canceled", "canceled", "not_using")
                    self.after_cancel(te, 0.04)
        else:
            self.emit(t, "created", "active")
            self.active(t, first=True)
        self.finish()

    def boundary(self, anchor: int, k: int) -> int:
        months = self.plan.months
        return anchor + 7 * DAY * k if months is None else add_months(anchor, months * k)

    def active(self, anchor: int, first: bool) -> None:
        end = self.t_end
        self.active_since = anchor
        k, ps = 0, anchor
        while True:
            if k > 0:
                self.renew_discount(ps)
            pe = self.boundary(anchor, k + 1)
            retry = (1, 2, 4, 6) if self.plan.months is None else (3, 5, 7, 10)
            outcome, tx = self.ledger.subscription_invoice(
                self.sub_id,
                ps,
                ps // DAY,
                pe // DAY - 1,
                self.price * self.qty,
                self.disc,
                self.plan.currency,
                retry,
            )
            if outcome is Outcome.FAILED:
                self.emit(tx, "canceled", "canceled", "payment_failed")
                return self.after_cancel(tx, 0.25)
            if outcome is Outcome.OPEN:
                return
            if first and k == 0 and self.early_quit(ps, tx):
                return
            self.mid_period(max(ps, tx) + HOUR, min(pe, end) - HOUR)
            if pe >= end:
                return
            step = self.renewal(pe)
            if step is None:
                return
            if step:  # re-anchored (resumed or interval switched)
                anchor = ps = step
                k = 0
                continue
            k, ps = k + 1, pe

    def early_quit(self, ps: int, tp: int) -> bool:
        """A few customers pay and cancel within the same calendar month."""
        rng = self.rng
        month_end = next_month_start(ps)
        if self.status != "active" or month_end - tp < 2 * DAY or rng.random() >= 0.025:
            return False
        tq = rng.randint(tp + DAY, month_end - HOUR)
        if tq >= self.t_end:
            return False
        self.emit(tq, "canceled", "canceled", pick(rng, CANCEL_REASONS))
        if self.ledger.last_payment and rng.random() < 0.6:
            pid, t_paid, amount, cur = self.ledger.last_payment
            self.ledger.refund(pid, tq, amount, cur, "requested_by_customer", full=True)
        self.after_cancel(tq, 0.1)
        return True

    def mid_period(self, lo: int, hi: int) -> None:
        rng = self.rng
        if hi - lo < 2 * HOUR:
            return
        m = self.plan.months or 0.25
        tier_i = self.tiers.index(self.plan.tier)
        todo = []
        if self.plan.interval in ("monthly", "yearly"):
            if tier_i + 1 < len(self.tiers) and rng.random() < _p(
                0.03 * (1 + 0.3 * max(self.c.h, 0.0)), m
            ):
                todo.append((rng.randint(lo, hi), "up"))
            elif tier_i > 0 and rng.random() < _p(0.015, m):
                todo.append((rng.randint(lo, hi), "down"))
        if self.plan.tier != "starter":  # seat-based tiers: seats follow the team, week by week
            for _ in range(max(1, round((hi - lo) / WEEK))):
                if rng.random() < SEAT_CHANGE_PER_WEEK:
                    todo.append((rng.randint(lo, hi), "qty"))
        for t, what in sorted(todo):
            if what in ("up", "down"):
                tier_i = self.tiers.index(self.plan.tier) + (1 if what == "up" else -1)
                self.set_plan(self.tiers[tier_i], self.plan.interval)
                self.emit(t, "plan_changed", "active")
            else:
                step = 1 if rng.random() < SEAT_ADDED else -1
                if max(1, self.qty + step) != self.qty:
                    self.qty = max(1, self.qty + step)
                    self.emit(t, "quantity_changed", "active")

    def renew_discount(self, ps: int) -> None:
        """Discounts change where billing systems apply them: at a period's start (a coupon
        discounts the invoices issued while it lasts), never inside a period."""
        if self.disc is not None and self.disc_until is not None and self.disc_until <= ps:
            self.disc = 0 if self.rng.random() < 0.3 else None
            self.disc_until = None
            self.emit(ps, "discount_changed", "active")
        elif self.disc is None and self.rng.random() < _p(0.01, self.plan.months or 0.25):
            self.disc, self.disc_until = self.rng.choice((10, 20)) * PCT, add_months(ps, 3)
            self.emit(ps, "discount_changed", "active")

    def renewal(self, t: int) -> int | bool | None:
        """Decide at the renewal boundary `t`: None = stopped, an int = re-anchored there,
        False = the next period follows."""
        rng, c = self.rng, self.c
        m = self.plan.months or 0.25
        base = (
            0.03
            * math.exp(-0.45 * c.h)
            * (1 + 0.5 * c.low_tickets_before(t))
            * (1 + 0.25 * c.failures_before(t))
            * (1.5 if t - self.active_since < 3 * MONTH else 1.0)
            * (0.7 if self.plan.tier in ("business", "enterprise") else 1.0)
            * c.trait_hazard(t)
            * hazard_factor(c, t, self.paid_at)
        )
        if rng.random() < _p(min(base, 0.5), m):
            reason = pick(rng, CANCEL_REASONS)
            if reason == "too_expensive" and not self.disc and rng.random() < 0.3:
                self.disc = rng.choice((20, 20, 50)) * PCT
                self.disc_until = add_months(t, rng.randint(3, 6))
                self.emit(t, "discount_changed", "active")
                return False
            self.emit(t, "canceled", "canceled", reason)
            return self.after_cancel(t, 0.10)
        interval = self.plan.interval
        if interval in ("monthly", "quarterly") and rng.random() < _p(0.012, m):
            self.emit(t, "paused", "paused")
            tr = t + rng.randint(30 * DAY, 92 * DAY)
            if tr >= self.t_end:
                return None
            if rng.random() < 0.1:
                self.emit(tr, "canceled", "canceled", "not_using")
                return self.after_cancel(tr, 0.05)
            self.emit(tr, "resumed", "active")
            return tr
        switch = {
            "monthly": ("yearly", 0.008),
            "yearly": ("monthly", 0.15),
            "weekly": ("monthly", 0.03),
            "quarterly": ("monthly", 0.08),
        }[interval]
        if rng.random() < switch[1]:
            self.set_plan(self.plan.tier, switch[0])
            self.emit(t, "plan_changed", "active")
            return t
        return False

    def after_cancel(self, tc: int, p: float) -> None:
        rng = self.rng
        if self.reactivations >= 2 or rng.random() >= p:
            return None
        # in a later calendar month than the cancel: a billing system reactivates with a new
        # subscription, which then counts as the old one's cancel in the same month
        tr = max(tc + rng.randint(30 * DAY, 180 * DAY), next_month_start(tc))
        if tr >= self.t_end:
            return None
        self.reactivations += 1
        self.custom = self.disc = self.disc_until = None
        self.emit(tr, "reactivated", "active")
        self.active(tr, first=False)
        return None


def _p(monthly: float, months: float) -> float:
    """Probability over `months` of an event with the given monthly probability."""
    return 1.0 - (1.0 - monthly) ** months


def _geometric(rng, p: float) -> int:
    return int(math.log(1.0 - rng.random()) / math.log(1.0 - p))
