"""Invoices, payment attempts (with dunning) and refunds of one customer.

Amounts are integer minor units of the invoice currency; total = subtotal - discount + tax
holds exactly. An invoice's status always matches its payments: paid <=> a succeeded attempt,
uncollectible <=> every attempt failed, open <=> still being collected at the horizon's end,
void <=> no attempt. Re-versioned invoices get a second row with a later updated_at.
"""

from __future__ import annotations

from bisect import insort
from enum import Enum

from .catalog import MARKET_BY_COUNTRY
from .timeutil import DAY, HOUR

FAILURE_REASONS = (("card_declined", 0.5), ("insufficient_funds", 0.35), ("expired_card", 0.15))
REFUND_REASONS = ("requested_by_customer", "requested_by_customer", "duplicate", "fraudulent", None)


class Outcome(Enum):
    PAID = "paid"
    FAILED = "failed"  # dunning exhausted: the subscription is canceled (payment_failed)
    OPEN = "open"  # still collecting when the horizon ends


def half_up(numerator: int, denominator: int) -> int:
    """round(numerator / denominator) with halves away from zero, for non-negative values."""
    return (2 * numerator + denominator) // (2 * denominator)


class Ledger:
    def __init__(self, cust, rows, t_end: int) -> None:
        self.c = cust
        self.rng = cust.rng
        self.rows = rows
        self.t_end = t_end
        self.n_inv = self.n_pay = self.n_ref = 0
        self.last_payment: tuple[str, int, int, str] | None = None
        self.refunded: set[str] = set()

    # -- rows -----------------------------------------------------------------------------
    def _invoice_id(self) -> str:
        self.n_inv += 1
        return f"inv_{self.c.num}_{self.n_inv:04d}"

    def _invoice(self, inv_id, sub_id, t, pstart, pend, amounts, currency, status, updated):
        sub, disc, tax, total = amounts
        self.rows.invoices.append(
            (
                inv_id,
                self.c.cid,
                sub_id,
                t,
                pstart,
                pend,
                sub,
                disc,
                tax,
                total,
                currency,
                status,
                updated,
            )
        )

    def _pay(self, inv_id, t, amount, currency, ok: bool) -> None:
        self.n_pay += 1
        pid = f"pay_{self.c.num}_{self.n_pay:04d}"
        reason = None
        if not ok:
            r = self.rng.random()
            reason = next(n for n, p in _cum(FAILURE_REASONS) if r < p)
            insort(self.c.failures, t)
            self.c.maybe_billing_ticket(t)
        self.rows.payments.append(
            (pid, inv_id, self.c.cid, t, amount, currency, "succeeded" if ok else "failed", reason)
        )
        if ok:
            self.last_payment = (pid, t, amount, currency)
        if ok and self.rng.random() < 0.015:
            self.refund(pid, t, amount, currency)

    def refund(self, pid, t_paid, amount, currency, reason=None, full=None) -> None:
        rng = self.rng
        t = t_paid + rng.randint(HOUR, 20 * DAY)
        if t >= self.t_end or pid in self.refunded:
            return
        self.refunded.add(pid)
        full = rng.random() < 0.6 if full is None else full
        amt = amount if full else max(1, amount * rng.choice((25, 50)) // 100)
        self.n_ref += 1
        self.rows.refunds.append(
            (
                f"ref_{self.c.num}_{self.n_ref:03d}",
                pid,
                self.c.cid,
                t,
                amt,
                currency,
                reason or rng.choice(REFUND_REASONS),
            )
        )

    def amounts(self, t, subtotal, disc_pct_scaled) -> tuple[int, int, int, int]:
        disc = half_up(subtotal * (disc_pct_scaled or 0), 100 * 10**8)
        tax = half_up((subtotal - disc) * MARKET_BY_COUNTRY[self.c.country_at(t)][3], 10_000)
        return subtotal, disc, tax, subtotal - disc + tax

    # -- subscription invoices ------------------------------------------------------------
    def subscription_invoice(
        self, sub_id, t, pstart, pend, subtotal, disc_pct_scaled, currency, retry_days
    ) -> tuple[Outcome, int | None]:
        """Issue and collect one billing period's invoice at `t`. Returns the outcome and, for
        PAID, the time of the successful payment, for FAILED the cancellation time."""
        rng, end = self.rng, self.t_end
        amounts = self.amounts(t, subtotal, disc_pct_scaled)
        total = amounts[3]
        inv = self._invoice_id()
        if rng.random() < 0.004:  # issued by mistake: voided, then reissued
            tv = t + rng.randint(600, 2 * HOUR)
            if tv + 60 < end:
                self._invoice(inv, sub_id, t, pstart, pend, amounts, currency, "open", t)
                self._invoice(inv, sub_id, t, pstart, pend, amounts, currency, "void", tv)
                t = tv + 60
                inv = self._invoice_id()
        tp = t + rng.randint(30, 900)
        if tp >= end:
            self._invoice(inv, sub_id, t, pstart, pend, amounts, currency, "open", t)
            return Outcome.OPEN, None
        if rng.random() >= self.c.card_fail:
            if rng.random() < self.c.net_terms:  # pays by transfer a few days later
                tp = t + rng.randint(DAY, 10 * DAY)
                self._invoice(inv, sub_id, t, pstart, pend, amounts, currency, "open", t)
                if tp >= end:
                    return Outcome.OPEN, None
            self._pay(inv, tp, total, currency, True)
            self._invoice(inv, sub_id, t, pstart, pend, amounts, currency, "paid", tp)
            return Outcome.PAID, tp
        # dunning: the first attempt failed; retry a few days later
        self._invoice(inv, sub_id, t, pstart, pend, amounts, currency, "open", t)
        self._pay(inv, tp, total, currency, False)
        n_retries = 4 if rng.random() < 0.4 else 3
        for d in retry_days[:n_retries]:
            tr = tp + d * DAY + rng.randint(0, 2 * HOUR)
            if tr >= end:
                return Outcome.OPEN, None
            ok = rng.random() < self.c.retry_success
            self._pay(inv, tr, total, currency, ok)
            if ok:
                self._invoice(inv, sub_id, t, pstart, pend, amounts, currency, "paid", tr)
                return Outcome.PAID, tr
            last = tr
        tc = last + HOUR
        if tc >= end:
            return Outcome.OPEN, None
        self._invoice(inv, sub_id, t, pstart, pend, amounts, currency, "uncollectible", tc)
        return Outcome.FAILED, tc

    # -- one-off charges (add-ons, top-ups, overage) ---------------------------------------
    def one_off(self, t, subtotal, currency) -> None:
        rng, end = self.rng, self.t_end
        amounts = self.amounts(t, subtotal, None)
        inv = self._invoice_id()
        tp = t + rng.randint(5, 300)
        if tp >= end:
            self._invoice(inv, None, t, None, None, amounts, currency, "open", t)
            return
        if rng.random() < 0.93:
            self._pay(inv, tp, amounts[3], currency, True)
            self._invoice(inv, None, t, None, None, amounts, currency, "paid", tp)
            return
        self._invoice(inv, None, t, None, None, amounts, currency, "open", t)
        self._pay(inv, tp, amounts[3], currency, False)
        tr = tp + DAY + rng.randint(0, 6 * HOUR)
        if tr + 60 >= end:
            return
        ok = rng.random() < 0.6
        self._pay(inv, tr, amounts[3], currency, ok)
        status = "paid" if ok else "uncollectible"
        self._invoice(inv, None, t, None, None, amounts, currency, status, tr + (0 if ok else 60))


def _cum(pairs):
    acc = 0.0
    for name, p in pairs:
        acc += p
        yield name, acc if acc < 0.999 else 1.01
