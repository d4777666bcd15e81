"""The metric contract's parameters the marts were built with: dbt vars of dbt_project.yml.

The published warehouse does not carry them (no mart has a reporting-currency column), and the
pipeline passes no `--vars`, so the project's own file is what every build used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project.yml"


@dataclass(frozen=True)
class MetricContract:
    currency: str  # ISO code every amount in the marts is converted to
    clv_trailing_months: int  # the formula LTV's window of ARPA and logo churn
    clv_max_lifetime_months: int  # the lifetime when churn is 0, and its cap
    gross_margin: float


def load_contract(project_file: Path = DBT_PROJECT) -> MetricContract:
    variables = yaml.safe_load(project_file.read_text(encoding="utf-8"))["vars"]
    return MetricContract(
        currency=str(variables["reporting_currency"]),
        clv_trailing_months=int(variables["clv_trailing_months"]),
        clv_max_lifetime_months=int(variables["clv_max_lifetime_months"]),
        gross_margin=float(variables["gross_margin"]),
    )
