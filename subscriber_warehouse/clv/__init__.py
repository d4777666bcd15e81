"""Predictive customer-lifetime-value models (issue 5).

- :mod:`.sbg` — shifted-beta-geometric for contractual (subscription) retention, with DEL/DERL.
- :mod:`.bgnbd` — BG/NBD for repeat-purchase counts in a non-contractual setting.
- :mod:`.gammagamma` — Gamma-Gamma model of average spend per transaction.
- :mod:`.summary` — transactions table → (frequency, recency, T, monetary_value).
"""

from subscriber_warehouse.clv.bgnbd import BGNBDFit, fit_bgnbd
from subscriber_warehouse.clv.gammagamma import GammaGammaFit, fit_gamma_gamma
from subscriber_warehouse.clv.sbg import SBGFit, fit_sbg
from subscriber_warehouse.clv.summary import summary_from_transactions

__all__ = [
    "BGNBDFit",
    "GammaGammaFit",
    "SBGFit",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_sbg",
    "summary_from_transactions",
]
