"""The benchmark's peer: dbt-labs' mrr-playbook method as one plain SQL file, timed and checked.

    .venv/bin/python benchmarks/peer.py /tmp/swbench/landing-10000 /tmp/swbench/wh-10000.duckdb

Runs benchmarks/peer_mrr_playbook.sql over a landing folder in its own process (wall time and
peak RSS under /usr/bin/time -v, like every other phase), then compares its month-end MRR per
customer-month with marts.fct_customer_mrr_monthly of a warehouse built from the same landing,
opened read-only. A peer that disagrees with us is not a peer, so the figures include the check.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import duckdb

from subscriber_warehouse.load.files import landing_files
from subscriber_warehouse.load.validate import sql_str

HERE = Path(__file__).resolve().parent
SQL = HERE / "peer_mrr_playbook.sql"
INPUTS = ("subscription_events", "plans", "fx_rates")

# Run in the timed process: only the peer's own work (and writing its result) is measured.
WRITE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from peer import write
write(Path(sys.argv[2]), Path(sys.argv[3]))
"""

# Only customer-months where one side had MRR at the end of M or M - 1 carry a movement (metric
# contract); the playbook's spine also keeps idle months between two paying spells.
COMPARE = """
with

ours as (
    select customer_id, month_start, mrr, movement from built.marts.fct_customer_mrr_monthly
),

theirs as (
    select
        customer_id,
        date_month as month_start,
        mrr,
        case change_category
            when 'upgrade' then 'expansion'
            when 'downgrade' then 'contraction'
            else coalesce(change_category, 'retained')
        end as movement
    from read_parquet(?)
    where mrr > 0 or previous_month_mrr > 0
),

compared as (
    select
        ours.movement as our_movement,
        theirs.movement as their_movement,
        ours.customer_id is null as only_peer,
        theirs.customer_id is null as only_ours,
        abs(coalesce(ours.mrr, 0) - coalesce(theirs.mrr, 0)) as difference
    from ours
    full join theirs
        on ours.customer_id = theirs.customer_id and ours.month_start = theirs.month_start
)

select
    count(*) as customer_months,
    count(*) filter (difference > 0.01) as mismatches,
    coalesce(max(difference), 0) as max_difference,
    count(*) filter (our_movement is distinct from their_movement) as movement_mismatches,
    count(*) filter (only_peer) as only_peer,
    count(*) filter (only_ours) as only_ours
from compared
"""


def query(con: duckdb.DuckDBPyConnection, landing: Path, reporting_currency: str = "USD") -> str:
    """Set the SQL file's variables on `con` (the landing files, chosen as the loader chooses
    them) and return its text, ready to run or wrap in COPY."""
    for table in INPUTS:
        files = landing_files(landing, table)
        if not files:
            raise SystemExit(f"{landing / table}: no files; the peer needs {', '.join(INPUTS)}")
        if any(f.format != "parquet" for f in files):
            raise SystemExit(f"{landing / table}: the peer reads Parquet landings only")
        con.execute(f"set variable {table}_files = ?", [[str(f.path) for f in files]])
    con.execute("set variable reporting_currency = ?", [reporting_currency])
    return SQL.read_text().strip().rstrip(";")


def write(landing: Path, out: Path) -> None:
    """The peer's result as Parquet, computed on a fresh in-memory DuckDB set up like the load's."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set memory_limit = '6GB'")
    sql = query(con, landing)
    con.execute(f"copy ({sql}) to '{out}' (format parquet)")
    con.close()


def compare(result: Path, warehouse: Path) -> dict:
    con = duckdb.connect()
    try:
        con.execute(f"attach {sql_str(str(warehouse))} as built (read_only)")
        row = con.execute(COMPARE, [str(result)]).fetchone()
        names = [d[0] for d in con.description]
    finally:
        con.close()
    figures = dict(zip(names, row, strict=True))
    figures["max_difference"] = float(figures["max_difference"])
    return figures


def peer(landing: Path, warehouse: Path) -> dict:
    from run import timed  # here, not at the top: run.py may import this module

    with tempfile.TemporaryDirectory(prefix="swpeer-") as tmp:
        out = Path(tmp) / "peer_mrr.parquet"
        figures = timed([sys.executable, "-c", WRITE, str(HERE), str(landing), str(out)])
        figures.update(compare(out, warehouse))
    return figures


if __name__ == "__main__":
    landing, warehouse = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    figures = peer(landing, warehouse)
    print(json.dumps(figures))
    print(
        f"peer (mrr-playbook SQL): {figures['seconds']} s, {figures['peak_rss_mib']} MiB; "
        f"{figures['customer_months']:,} customer-months, {figures['mismatches']} mismatches "
        f"(> 0.01), max difference {figures['max_difference']:.4f}, "
        f"{figures['movement_mismatches']} movement mismatches"
    )
