"""Landing files -> typed, validated DuckDB `raw` tables."""

from subscriber_warehouse.load.files import LoadError, landing_files
from subscriber_warehouse.load.table import FileResult, TableResult, connect, load_table

__all__ = ["FileResult", "LoadError", "TableResult", "connect", "landing_files", "load_table"]
