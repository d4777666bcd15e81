"""Subscriber Warehouse: an open analytics warehouse for subscription businesses."""
