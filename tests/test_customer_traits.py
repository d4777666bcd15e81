"""The customer traits listed in dbt var customer_traits are columns of dim_subscribers (its
enforced contract) and dimensions of the subscribers semantic model: the three lists agree."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _yaml(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def test_listed_traits_are_columns_and_dimensions():
    traits = _yaml("dbt_project.yml")["vars"]["customer_traits"]
    assert traits, "customer_traits lists the attributes exposed as columns"
    models = _yaml("dbt_project/models/marts/core/_core__models.yml")["models"]
    dim = next(m for m in models if m["name"] == "dim_subscribers")
    columns = [c["name"] for c in dim["columns"] if c["name"].startswith("trait_")]
    semantic = _yaml("dbt_project/models/semantic/_semantic__models.yml")["semantic_models"]
    subscribers = next(m for m in semantic if m["name"] == "subscribers")
    dimensions = [d["name"] for d in subscribers["dimensions"] if d["name"].startswith("trait_")]
    expected = [f"trait_{t}" for t in traits]
    assert columns == expected
    assert dimensions == expected
