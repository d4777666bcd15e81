"""Dagster code location of Subscriber Warehouse: one `Definitions` in `definitions.py`."""
