"""Sample-data generator: a landing folder that obeys the raw contract.

`generate(out, customers, seed, start, months, ...)` writes
`<out>/<table>/<table>-<chunk:05d>.<parquet|csv>` for all 13 tables (reference tables as chunk
00000) and `<out>/_manifest.json`, and returns the manifest.
"""

from __future__ import annotations

from .run import generate

__all__ = ["generate"]
