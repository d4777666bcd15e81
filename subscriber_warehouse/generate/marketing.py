"""Preferences history and campaign touches of one customer.

E-mail campaigns only reach customers opted in at send time; an `unsubscribed` touch writes an
email_opt_in true -> false change, so the two tables tell one story.
"""

from __future__ import annotations

from .catalog import Catalog
from .customer import Customer
from .timeutil import DAY, HOUR

INTERESTS = ("case_studies", "events", "product_updates", "tips", "webinars")


def _tf(b: bool) -> str:
    return "true" if b else "false"


def marketing_rows(c: Customer, cat: Catalog, rows, live: list[tuple[int, int]]) -> None:
    rng, end = c.rng, cat.t_end

    def later(after: int) -> int:
        return rng.randint(after + 1, max(after + 2, end - 1))

    # e-mail opt-in history before unsubscribes: (t, value)
    email = [(c.created, rng.random() < 0.75)]
    if email[0][1] and rng.random() < 0.12 or not email[0][1] and rng.random() < 0.15:
        email.append((later(c.created), not email[0][1]))
        if rng.random() < 0.25:
            email.append((later(email[-1][0]), email[0][1]))
    email = [e for e in email if e[0] < end]

    touches: list[tuple[int, str, str]] = []
    if c.campaign is not None:
        t_click = max(c.created - rng.randint(60, 3 * DAY), c.campaign.started_at, cat.t_start)
        touches += [
            (t_click, c.campaign.campaign_id, "clicked"),
            (c.created, c.campaign.campaign_id, "converted"),
        ]
    for camp in cat.by_channel.get("email", ()):
        s = camp.started_at
        t = s + rng.randint(0, 3 * HOUR)  # send time of this recipient
        if s <= c.created or not _value_at(email, t) or rng.random() >= camp.audience:
            continue
        if camp.winback and (any(a <= s < b for a, b in live) or not live or s < live[0][1]):
            continue
        mine = [(t, camp.campaign_id, "sent")]
        if rng.random() < 0.97:
            t += rng.randint(1, 120)
            mine.append((t, camp.campaign_id, "delivered"))
            if rng.random() < 0.015:
                tu = t + rng.randint(60, 3 * DAY)
                mine.append((tu, camp.campaign_id, "unsubscribed"))
                email = [e for e in email if e[0] < tu] + [(tu + rng.randint(1, 60), False)]
            if rng.random() < 0.4:
                t += rng.randint(300, 2 * DAY)
                mine.append((t, camp.campaign_id, "opened"))
                if rng.random() < 0.3:
                    t += rng.randint(5, 600)
                    mine.append((t, camp.campaign_id, "clicked"))
                    if rng.random() < 0.08:
                        mine.append((t + rng.randint(60, HOUR), camp.campaign_id, "converted"))
        touches += [m for m in mine if m[0] < end]
    for n, (t, cid, kind) in enumerate(sorted(touches), 1):
        rows.campaign_touches.append((f"tch_{c.num}_{n:04d}", cid, c.cid, t, kind, None, None))

    prefs: dict[str, list[tuple[int, str]]] = {
        "email_opt_in": [(t, _tf(v)) for t, v in email if t < end],
        "sms_opt_in": [(c.created, _tf(rng.random() < 0.2))],
        "preferred_language": [(c.created, c.language)],
        "content_interests": [(c.created, _interests(rng))],
    }
    if rng.random() < 0.1:
        prefs["sms_opt_in"].append((later(c.created), _tf(prefs["sms_opt_in"][0][1] == "false")))
    if rng.random() < 0.15:
        prefs["content_interests"].append((later(c.created), _interests(rng)))
    if rng.random() < 0.03:
        prefs["preferred_language"].append((later(c.created), "es" if c.language == "en" else "en"))
    for key, history in prefs.items():
        last = -1
        for t, value in history:
            t = max(t, last + 1)
            if t >= end:
                break
            rows.preferences.append((c.cid, key, t, value))
            last = t


def _value_at(history: list[tuple[int, bool]], t: int) -> bool:
    value = False
    for ht, v in history:
        if ht > t:
            break
        value = v
    return value


def _interests(rng) -> str:
    return ",".join(sorted(rng.sample(INTERESTS, rng.randint(1, 3))))
