"""Campaign audience exports: per audience and channel, what that channel's tool needs.

The audience marts come from the published warehouse (what passed the gates); the e-mail
addresses, which the published file never holds, from the working database beside it
(staging.base_billing__customers). A channel's file holds only the customers it may reach: for a
marketing audience those opted in to the channel (no recorded preference is no consent), for a
service audience (dunning) everyone the channel can reach. Beside each file, its changes against
the previous run's file.

Every audience gets a no-contact holdout, so a campaign's lift can be measured: within each risk
tier of the audience (the churn model's tier from marts.churn_risk_scores; 'unscored' for a
customer without a score, and for everyone in a warehouse without the table) the members are
ordered by sha256('<run id>:<audience>:<customer id>') and the first round(share × members),
half up, are held out. The draw depends on nothing but the run id and the customer: the same run
id draws the same arms, another run id others. Held-out members are in no channel file;
`audience_assignments` lists every member's arm and offer in the raw contract's
campaign_assignments shape, to be landed back once the campaign went out.

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
from decimal import Decimal
from pathlib import Path

import yaml

from subscriber_warehouse.dbt_target import PROJECT_ROOT
from subscriber_warehouse.load.validate import sql_str
from subscriber_warehouse.publish import open_published, working_path

LATEST = "latest"
ASSIGNMENTS = "audience_assignments"


@dataclass(frozen=True)
class Offer:
    name: str
    discount_pct: Decimal  # 0-100
    months: int  # the discount lasts this many billing months


@dataclass(frozen=True)
class Experiments:
    """The dbt vars the audiences, holdouts and offers are set by (docs/metrics.md, Retention
    experiments), read from the project's file as every build reads them."""

    audiences: tuple[str, ...]  # campaign_audiences: each an audience_<name> mart
    # service_audiences: their message is not marketing, so marketing consent does not govern it
    service_audiences: frozenset[str]

    # the share of each audience (of each of its risk tiers) held out: not contacted at all.
    # audience_holdout_share for every audience, audience_holdout_shares for one's own (0 for
    # an audience that must reach everyone); dunning is held out like the rest, so the
    # recovery its notice brings is measured too
    holdout_shares: dict[str, Decimal]
    # the offer an audience's treatment arm gets (its holdout rows name the offer withheld); an
    # audience not in audience_offers gets none (its assignments' offer columns are null)
    offers: dict[str, Offer]


def experiment_settings(project_file: Path = PROJECT_ROOT / "dbt_project.yml") -> Experiments:
    variables = yaml.safe_load(project_file.read_text(encoding="utf-8"))["vars"]
    audiences = tuple(variables["campaign_audiences"])
    service = frozenset(variables["service_audiences"])
    if not service <= set(audiences):
        raise ValueError(
            f"service_audiences names no audience: {', '.join(sorted(service - set(audiences)))}"
        )
    own = variables.get("audience_holdout_shares") or {}
    unknown = sorted(set(own) - set(audiences))
    if unknown:
        raise ValueError(f"audience_holdout_shares names no audience: {', '.join(unknown)}")
    shares = {}
    for audience in audiences:  # exact: a share is a decimal, never a binary fraction
        share = Decimal(str(own.get(audience, variables["audience_holdout_share"])))
        if not 0 <= share <= 1 or share != share.quantize(Decimal("0.000001")):
            raise ValueError(f"{audience}: holdout share {share} is not in 0-1 to 6 decimals")
        shares[audience] = share
    offers = {
        audience: Offer(offer["name"], Decimal(str(offer["discount_pct"])), int(offer["months"]))
        for audience, offer in variables["audience_offers"].items()
        if audience in audiences
    }
    return Experiments(audiences, service, shares, offers)


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


def export_audiences(
    published: Path, out_dir: Path, experiments: Experiments | None = None
) -> dict[str, dict[str, int]]:
    """Write every audience × channel into `out_dir` (`exports/<run id>`, which must not exist
    yet) with its changes against the run `exports/latest` points to, then point `latest` at
    `out_dir`; return the rows per audience and channel."""
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} exists: every run exports into a folder of its own")
    if out_dir.name == LATEST:
        raise ValueError(f"{out_dir}: '{LATEST}' names the pointer to the newest run, not a run")
    experiments = experiments or experiment_settings()
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
    run_id = out_dir.name
    counts: dict[str, dict[str, int]] = {}
    files: dict[str, int] = {}
    con = open_published(published)
    try:
        con.execute(f"attach {sql_str(str(work))} as work (read_only)")
        ((scored,),) = con.execute(
            "select count(*) > 0 from information_schema.tables where table_catalog = "
            "current_database() and table_schema = 'marts' and table_name = 'churn_risk_scores'"
        ).fetchall()
        con.execute(_members(run_id, experiments.holdout_shares, scored))
        ((as_of,),) = con.execute("select max(as_of_at) from marts.dim_subscribers").fetchall()
        _write(con, _assignments(run_id, experiments.offers), staging / ASSIGNMENTS, files)
        arms = {a: {"treatment": 0, "holdout": 0} for a in experiments.audiences}
        for audience, arm, n in con.execute(
            "select audience, arm, count(*) from members group by all"
        ).fetchall():
            arms[audience][arm] = n
        for audience in experiments.audiences:
            counts[audience] = {}
            for name, channel in CHANNELS.items():
                consent = (
                    channel.service
                    if audience in experiments.service_audiences
                    else channel.marketing
                )
                if consent is None:
                    continue
                base = f"audience_{audience}__{name}"
                columns = ", ".join(("customer_id", *channel.identifiers, "reason"))
                current = (
                    f"select {columns} from members where audience = {sql_str(audience)} "
                    f"and arm = 'treatment' and {channel.reachable} and {consent} "
                    "order by customer_id"
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
        # every audience's members per arm (audience_assignments)
        "holdout": arms,
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


def _members(run_id: str, shares: dict[str, Decimal], scored: bool) -> str:
    """Every audience's customers with their consents, address, risk tier and arm, as a temporary
    table. `shares`: every audience's holdout share; `scored`: the published file has
    marts.churn_risk_scores."""
    audiences = " union all ".join(
        f"select {sql_str(a)} as audience, customer_id, reason, is_email_opt_in, is_sms_opt_in "
        f"from marts.audience_{a}"
        for a in shares
    )
    holdout_shares = " union all ".join(
        f"select {sql_str(a)} as audience, cast({sql_str(str(share))} as decimal(9, 6)) as share"
        for a, share in shares.items()
    )
    scores = (
        # one score per customer (the churn model scores once); the latest if ever more
        "select customer_id, arg_max(risk_tier, scored_at) as risk_tier "
        "from marts.churn_risk_scores group by customer_id"
        if scored
        else "select null::varchar as customer_id, null::varchar as risk_tier where false"
    )
    run = sql_str(run_id)
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

        audiences as ({audiences}),

        shares as ({holdout_shares}),

        scores as ({scores}),

        tiered as (
            select
                audiences.*,
                coalesce(scores.risk_tier, 'unscored') as risk_tier,
                sha256({run} || ':' || audiences.audience || ':' || audiences.customer_id) as draw
            from audiences
            left join scores on audiences.customer_id = scores.customer_id
        ),

        drawn as (
            select
                tiered.*,
                row_number() over (
                    partition by audience, risk_tier order by draw, customer_id
                ) as draw_rank,
                count(*) over (partition by audience, risk_tier) as stratum_members
            from tiered
        )

        select
            drawn.audience,
            drawn.customer_id,
            drawn.reason,
            drawn.is_email_opt_in,
            drawn.is_sms_opt_in,
            drawn.risk_tier,
            drawn.draw,
            -- the first round(share × members) of the stratum, half up (exact: share is a decimal)
            case
                when drawn.draw_rank <= floor(shares.share * drawn.stratum_members + 0.5)
                    then 'holdout'
                else 'treatment'
            end as arm,
            addresses.email,
            addresses.phone,
            sha256(lower(addresses.email)) as email_sha256
        from drawn
        inner join shares on drawn.audience = shares.audience
        left join addresses on drawn.customer_id = addresses.customer_id
    """


def _assignments(run_id: str, offers: dict[str, Offer]) -> str:
    """Every member's arm in the raw contract's campaign_assignments columns, then risk_tier and
    run_id (which the loader reports as unknown columns and keeps out)."""
    offered = " union all ".join(
        (
            "select null::varchar as audience, null::varchar as offer, "
            "null::decimal(5, 2) as offer_discount_pct, null::integer as offer_months where false",
            *(
                f"select {sql_str(a)}, {sql_str(o.name)}, "
                f"cast({sql_str(str(o.discount_pct))} as decimal(5, 2)), {int(o.months)}::integer"
                for a, o in offers.items()
            ),
        )
    )
    run = sql_str(run_id)
    return f"""
        with

        offers as ({offered}),

        as_of as (select max(as_of_at) as assigned_at from marts.dim_subscribers)

        select
            'asg_' || left(members.draw, 16) as assignment_id,
            members.audience || '@' || {run} as campaign_id,
            members.customer_id,
            members.audience,
            members.arm,
            offers.offer,
            offers.offer_discount_pct,
            offers.offer_months,
            as_of.assigned_at,
            members.risk_tier,
            {run} as run_id
        from members
        left join offers on members.audience = offers.audience
        cross join as_of
        order by members.audience, members.customer_id
    """


def _changes(audience: str, channel: Channel, current: str, before: str) -> str:
    """The rows a channel's file gained and lost since the previous run: an added row's reason is
    the audience's, a removed row's why it went (a changed address is a removal and an addition;
    a member drawn into the holdout is 'held out', not gone from the audience)."""
    key = ", ".join(("customer_id", *channel.identifiers))
    gone = ", ".join(f"gone.{c}" for c in ("customer_id", *channel.identifiers))
    return f"""
        with

        current_rows as ({current}),

        previous_rows as ({before}),

        member as (
            select customer_id, arm, {channel.reachable} as is_reachable from members
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
                    -- still in the audience, drawn into its no-contact holdout this run
                    when member.arm = 'holdout' then 'held out'
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
