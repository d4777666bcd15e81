"""Campaign audience exports: per audience and channel, what that channel's tool needs.

The audience marts come from the published warehouse (what passed the gates); the e-mail
addresses, which the published file never holds, from the working database beside it
(staging.base_billing__customers). A channel's file holds only the customers it may reach: for a
marketing audience those opted in to the channel (no recorded preference is no consent), for a
service audience (dunning) everyone the channel can reach. Beside each file, its changes against
the previous run's file.

Every file names customers, most with their address: the run's folder is its owner's alone
(0o700, files 0o600), whatever the umask. A run's files are written into a hidden folder and
renamed into place, then `latest` (a symlink beside the run folders) is pointed at it, so a
reader never sees half an export.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from subscriber_warehouse.load.validate import sql_str
from subscriber_warehouse.publish import open_published, working_path

AUDIENCES = (
    "at_risk_high_value",
    "win_back",
    "dunning",
    "trial_not_converted",
    "upsell",
    "re_engage",
)
# a notice of a failed payment is a service message, not marketing: marketing consent does not
# apply to it (the raw contract has no opt-out of service messages)
SERVICE_AUDIENCES = frozenset({"dunning"})
LATEST = "latest"


@dataclass(frozen=True)
class Channel:
    identifiers: tuple[str, ...]  # what the channel's tool knows a customer by, beside the id
    reachable: str  # the channel can reach the customer
    marketing: str  # the customer consents to marketing on the channel
    service: str | None  # who may get a service message on it; None: it carries none


# the rules are SQL over the columns of the members table (_members)
CHANNELS = {
    # the address an e-mail tool sends to
    "email": Channel(("email",), "email is not null", "is_email_opt_in", "true"),
    # the number an SMS tool texts
    "sms": Channel(("phone",), "phone is not null", "is_sms_opt_in", "true"),
    # Google Customer Match and Meta custom audiences match on the unsalted sha256 of the trimmed,
    # lower-cased address; the address's e-mail opt-in is the only marketing consent the raw
    # contract has, and an ad is never a service message
    "ads": Channel(("email_sha256",), "email is not null", "is_email_opt_in", None),
}


def export_audiences(published: Path, out_dir: Path) -> dict[str, dict[str, int]]:
    """Write every audience × channel into `out_dir` (`exports/<run id>`, which must not exist
    yet) with its changes against the run `exports/latest` points to, then point `latest` at
    `out_dir`; return the rows per audience and channel."""
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} exists: every run exports into a folder of its own")
    if out_dir.name == LATEST:
        raise ValueError(f"{out_dir}: '{LATEST}' names the pointer to the newest run, not a run")
    work = working_path(published)
    if not work.exists():
        raise FileNotFoundError(
            f"{work}: the working database beside {published} holds the e-mail addresses the "
            "exports need (the published file has none): run the pipeline on this warehouse"
        )
    latest = out_dir.parent / LATEST
    if latest.exists() and not latest.is_symlink():
        raise FileExistsError(
            f"{latest} is a folder, not the link to the newest run, so it cannot be repointed "
            "(a copy that followed links, such as `cp -rL`, makes it one): copy warehouses with "
            "`cp -a`, or move it away"
        )
    previous = latest.resolve() if latest.exists() else None
    staging = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    staging.chmod(0o700)  # before any file is written into it
    counts: dict[str, dict[str, int]] = {}
    files: dict[str, int] = {}
    con = open_published(published)
    try:
        con.execute(f"attach {sql_str(str(work))} as work (read_only)")
        con.execute(_members())
        ((as_of,),) = con.execute("select max(as_of_at) from marts.dim_subscribers").fetchall()
        for audience in AUDIENCES:
            counts[audience] = {}
            for name, channel in CHANNELS.items():
                consent = channel.service if audience in SERVICE_AUDIENCES else channel.marketing
                if consent is None:
                    continue
                base = f"audience_{audience}__{name}"
                columns = ", ".join(("customer_id", *channel.identifiers, "reason"))
                current = (
                    f"select {columns} from members where audience = {sql_str(audience)} "
                    f"and {channel.reachable} and {consent} order by customer_id"
                )
                earlier = previous / f"{base}.parquet" if previous else None
                if earlier and earlier.exists():
                    before = f"select {columns} from read_parquet({sql_str(str(earlier))})"
                else:  # no earlier file: everyone is new to the channel's tool
                    before = f"select {columns} from ({current}) where false"
                changes = _changes(audience, channel, current, before)
                counts[audience][name] = _write(con, current, staging / base, files)
                _write(con, changes, staging / f"{base}__changes", files)
    finally:
        con.close()
    manifest = {
        "run_id": out_dir.name,
        # the instant the audiences are as of (int_as_of, carried by dim_subscribers), UTC
        "as_of": f"{as_of.isoformat()}Z" if as_of else None,
        "previous_run": previous.name if previous else None,
        "rows": files,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for file in staging.iterdir():
        file.chmod(0o600)
    staging.rename(out_dir)
    # a new symlink renamed over the old: a reader follows the old run or the new one
    pointer = latest.with_name(f".{LATEST}.partial")
    pointer.unlink(missing_ok=True)
    pointer.symlink_to(out_dir.name)  # relative: the exports folder can move
    os.replace(pointer, latest)
    return counts


def _members() -> str:
    """Every audience's customers with their consents and address, as a temporary table."""
    audiences = " union all ".join(
        f"select {sql_str(a)} as audience, customer_id, reason, is_email_opt_in, is_sms_opt_in "
        f"from marts.audience_{a}"
        for a in AUDIENCES
    )
    # the customer's latest version, the one email_hash was made from, whatever the source
    return f"""
        create temp table members as
        with

        addresses as (
            select
                customer_id,
                nullif(trim(email), '') as email,
                -- SMS tools take E.164: '+1 555-010-0042' is sent as '+15550100042'
                nullif(regexp_replace(phone, '[\\s().-]', '', 'g'), '') as phone
            from work.staging.base_billing__customers
        ),

        audiences as ({audiences})

        select
            audiences.*,
            addresses.email,
            addresses.phone,
            sha256(lower(addresses.email)) as email_sha256
        from audiences
        left join addresses on audiences.customer_id = addresses.customer_id
    """


def _changes(audience: str, channel: Channel, current: str, before: str) -> str:
    """The rows a channel's file gained and lost since the previous run: an added row's reason is
    the audience's, a removed row's why it went (a changed address is a removal and an addition)."""
    key = ", ".join(("customer_id", *channel.identifiers))
    gone = ", ".join(f"gone.{c}" for c in ("customer_id", *channel.identifiers))
    return f"""
        with

        current_rows as ({current}),

        previous_rows as ({before}),

        member as (
            select customer_id, {channel.reachable} as is_reachable from members
            where audience = {sql_str(audience)}
        ),

        gone as (select * from previous_rows anti join current_rows using ({key})),

        added as (
            select 'added' as change, * from current_rows anti join previous_rows using ({key})
        ),

        removed as (
            select
                'removed' as change,
                {gone},
                case
                    when member.customer_id is null then 'left the audience'
                    when kept.customer_id is not null then 'address changed'
                    when not member.is_reachable then 'no longer reachable'
                    else 'withdrew consent'
                end as reason
            from gone
            left join member on gone.customer_id = member.customer_id
            left join (select distinct customer_id from current_rows) as kept
                on gone.customer_id = kept.customer_id
        )

        select * from added
        union all by name
        select * from removed
        order by customer_id, change
    """


def _write(con, select: str, base: Path, files: dict[str, int]) -> int:
    """`select` as `base`.csv and `base`.parquet; their rows go into `files`."""
    # a path is a literal, whatever it holds (a quote in a folder name included)
    csv, parquet = sql_str(f"{base}.csv"), sql_str(f"{base}.parquet")
    ((rows,),) = con.execute(f"copy ({select}) to {csv} (header, delimiter ',')").fetchall()
    con.execute(f"copy ({select}) to {parquet} (format parquet)")
    files[f"{base.name}.csv"] = files[f"{base.name}.parquet"] = rows
    return rows
