"""Fit times of the predictive layer on an existing benchmark warehouse (built by run.py).

    .venv/bin/python benchmarks/predictive.py /tmp/swbench/wh-100000.duckdb [...]

Builds churn_features with dbt, then times each Python model in its own process under
`/usr/bin/time -v` (wall time, peak RSS), then the segments and audience models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from run import BIN, ROOT, timed

FIT = """
import sys
from subscriber_warehouse.load import connect
from subscriber_warehouse.{module} import {function}
con = connect(sys.argv[1], "6GB")
print({function}(con))
con.close()
"""
MODELS = {
    "contractual_clv_sbg": ("clv.contractual", "write_predictions"),
    "purchase_clv_bgnbd_gg": ("clv.purchases", "write_purchase_predictions"),
    "churn_risk_logistic": ("churn.warehouse", "write_churn_risk"),
}


def dbt(warehouse: Path, select: str) -> dict:
    work = warehouse.parent
    return timed(
        [
            str(BIN / "dbt"),
            "build",
            "--select",
            select,
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(ROOT),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        env={"SW_WAREHOUSE": str(warehouse)},
    )


def bench(warehouse: Path) -> dict:
    figures = {"warehouse": str(warehouse), "churn_features_dbt": dbt(warehouse, "churn_features")}
    for name, (module, function) in MODELS.items():
        code = FIT.format(module=module, function=function)
        figures[name] = timed([sys.executable, "-c", code, str(warehouse)])
    figures["segments_and_audiences_dbt"] = dbt(warehouse, "marts.audiences")
    return figures


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(json.dumps(bench(Path(path))), flush=True)
