"""What is under a landing folder: every entry is loaded, ignored by the contract's rule (hidden,
being written), or named here — an error for what would otherwise be skipped with its rows (a
misnamed table folder, a file at the root, a folder inside a day folder), a warning for a file
the loader does not read (an unknown extension)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from subscriber_warehouse.contract import Table
from subscriber_warehouse.load.files import FORMATS, is_day
from subscriber_warehouse.sources import NATIVE, billing_sources, raw_tables

# names of files still being written (docs/raw-contract.md: land atomically)
IN_PROGRESS = (".tmp", ".part")


@dataclass
class Inventory:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "_")) or path.suffix.lower() in IN_PROGRESS


def _closest(name: str, names: list[str]) -> str:
    match = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.5)
    return f" (did you mean {match[0]}/?)" if match else ""


def inventory(landing: Path, billing_source: str = NATIVE) -> Inventory:
    """The problems of a landing folder for a run with this billing source."""
    found = Inventory()
    tables = {t.landing_folder: t for t in raw_tables(billing_source)}
    sources = {s.folder for s in billing_sources().values()}
    top = sorted({f.split("/")[0] for f in tables})
    for entry in sorted(Path(landing).iterdir()):
        if _hidden(entry):
            continue
        if entry.is_file():
            found.errors.append(
                f"{entry.name}: a file at the landing folder's root is not read; land it in "
                f"its table's folder (<table>/{entry.name})"
            )
        elif entry.name in sources and entry.name not in top:
            found.errors.append(
                f"{entry.name}/: the {entry.name} tables are read with --source {entry.name} "
                f"(this run reads {billing_source} billing tables)"
            )
        elif entry.name not in top:
            found.errors.append(f"{entry.name}/: not a table folder{_closest(entry.name, top)}")
        elif entry.name in tables:
            _table_folder(entry, tables[entry.name], found)
        else:  # a billing source's folder of tables
            inner = sorted(t.split("/")[1] for t in tables if t.startswith(f"{entry.name}/"))
            for sub in sorted(entry.iterdir()):
                if _hidden(sub):
                    continue
                where = f"{entry.name}/{sub.name}"
                if sub.is_file():
                    found.errors.append(f"{where}: land it in its table's folder")
                elif sub.name not in inner:
                    found.errors.append(
                        f"{where}/: not a {entry.name} table{_closest(sub.name, inner)}"
                    )
                else:
                    _table_folder(sub, tables[where], found)
    return found


def _table_folder(folder: Path, table: Table, found: Inventory) -> None:
    for entry in sorted(folder.iterdir()):
        if _hidden(entry):
            continue
        where = f"{table.landing_folder}/{entry.name}"
        if entry.is_dir():
            # a day folder's own problems (not a day, a table not by day) fail its load
            if table.day_column and is_day(entry.name):
                _day_folder(entry, table, found)
        elif FORMATS.get(entry.suffix.lower()) not in table.formats:
            found.warnings.append(
                f"{where}: not read ({table.label} is read from "
                f"{' or '.join('*.' + f for f in table.formats)} files)"
            )


def _day_folder(folder: Path, table: Table, found: Inventory) -> None:
    for entry in sorted(folder.iterdir()):
        if _hidden(entry):
            continue
        where = f"{table.landing_folder}/{folder.name}/{entry.name}"
        if entry.is_dir():
            found.errors.append(f"{where}/: a folder inside a day folder is not read")
        elif FORMATS.get(entry.suffix.lower()) not in table.formats:
            found.warnings.append(f"{where}: not read (not a {' or '.join(table.formats)} file)")
