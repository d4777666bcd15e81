"""Usage events of one chunk, vectorised: no Python loop per event.

Each activity span (a customer with a trialing/active subscription) gets a Poisson number of
candidate events spread uniformly over the span, thinned on weekends and, before a voluntary
cancel, by a ramp from 1 down to 0.15 over the last six weeks.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .timeutil import DAY

NAMES = ("login", "api_call", "export_report", "create_dashboard", "invite_user")
NAME_P = (0.45, 0.25, 0.12, 0.12, 0.06)
PROPERTIES = {
    "login": ('{"device":"web"}', '{"device":"ios"}', '{"device":"android"}'),
    "api_call": ('{"endpoint":"/v1/reports"}', '{"endpoint":"/v1/metrics"}'),
    "export_report": ('{"format":"pdf"}', '{"format":"csv"}', '{"format":"xlsx"}'),
    "create_dashboard": ('{"template":"blank"}', '{"template":"revenue, churn"}'),
    "invite_user": ('{"role":"member"}', '{"role":"admin"}'),
}
WEEKEND_KEEP = 0.4
DECLINE = 42 * DAY  # activity fades over the six weeks before a voluntary cancel
DECLINE_FLOOR = 0.15


def usage_columns(spans: list[tuple], rng: np.random.Generator) -> dict[str, object]:
    if spans:
        nums, a, b, rate, vol = zip(*spans, strict=True)
    else:
        nums, a, b, rate, vol = (), (), (), (), ()
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    rate = np.asarray(rate, dtype=np.float64)
    vol = np.asarray(vol, dtype=bool)
    uniq, span_cust = np.unique(np.asarray(nums, dtype=str), return_inverse=True)
    # candidates at a rate that the weekend thinning brings back to `rate` on average
    lam = rate * (b - a) / DAY / ((5 + 2 * WEEKEND_KEEP) / 7)
    counts = rng.poisson(lam)
    idx = np.repeat(np.arange(len(a)), counts)
    t = a[idx] + np.floor(rng.random(idx.size) * (b - a)[idx]).astype(np.int64)
    keep = np.where((t // DAY + 3) % 7 >= 5, WEEKEND_KEEP, 1.0)  # day 0 was a Thursday
    left = b[idx] - t
    ramp = DECLINE_FLOOR + (1 - DECLINE_FLOOR) * np.minimum(left / DECLINE, 1.0)
    keep = keep * np.where(vol[idx], ramp, 1.0)
    sel = rng.random(idx.size) < keep
    idx, t = idx[sel], t[sel]
    cust = span_cust[idx] if idx.size else np.zeros(0, dtype=np.int64)
    order = np.lexsort((t, cust))
    cust, t = cust[order], t[order]
    n = t.size
    # per-customer sequence number
    starts = np.r_[0, np.flatnonzero(np.diff(cust)) + 1] if n else np.zeros(0, np.int64)
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    seq = np.arange(n) - group_start + 1

    name_i = rng.choice(len(NAMES), size=n, p=NAME_P)
    opts = [o for nm in NAMES for o in PROPERTIES[nm]]
    n_opts = np.array([len(PROPERTIES[nm]) for nm in NAMES])
    first_opt = np.r_[0, np.cumsum(n_opts)[:-1]]
    opt_i = first_opt[name_i] + (rng.random(n) * n_opts[name_i]).astype(np.int64)
    props_null = rng.random(n) < 0.2
    api = name_i == NAMES.index("api_call")
    qty = (1 + rng.geometric(0.05, size=n)).astype(np.int64) * 10**8
    qty_null = ~api | (rng.random(n) < 0.4)

    nums_arr = pa.array(uniq.tolist(), pa.string())
    cust_idx = pa.array(cust)
    seq_txt = pc.utf8_lpad(pc.cast(pa.array(seq), pa.string()), 5, "0")
    return {
        "event_id": pc.binary_join_element_wise("uev", nums_arr.take(cust_idx), seq_txt, "_"),
        "customer_id": pc.binary_join_element_wise("cus", nums_arr.take(cust_idx), "_"),
        "occurred_at": t,
        "event_name": pa.array(NAMES, pa.string()).take(pa.array(name_i)),
        "quantity": np.ma.masked_array(qty, qty_null),
        "properties": pc.if_else(
            pa.array(props_null),
            pa.scalar(None, pa.string()),
            pa.array(opts, pa.string()).take(pa.array(opt_i)),
        ),
    }
