"""Apache Superset on the published warehouse (`make superset`; README, "Reading it from a BI
tool"). These modules run in `.venv-superset` only, Superset's own venv: the project's venv has no
Superset, and nothing in the project imports them."""
