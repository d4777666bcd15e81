"""Audience exports on a hand-made published warehouse and working database: what each channel's
file holds, its changes since the previous run, the holdout and the assignments, the manifest, the
latest pointer, permissions.

The holdout is drawn per (audience, risk tier): the first round(share × members), half up, by
sha256('<run id>:<audience>:<customer id>'). The `published` fixture's five customers have no churn
score: one 'unscored' stratum of 5 per audience, round(0.5) = 1 held out (hashes below)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from subscriber_warehouse.audiences import experiment_settings, export_audiences
from subscriber_warehouse.contract import TABLES
from subscriber_warehouse.load import connect, load_table
from subscriber_warehouse.publish import working_path

ROOT = Path(__file__).resolve().parent.parent
AUDIENCES = experiment_settings().audiences

# customer -> (email opt-in, sms opt-in), the same in every audience
CONSENTS = [
    ("both", True, True),
    ("email_only", True, False),
    ("sms_only", False, True),
    ("neither", False, False),
    ("no_address", True, False),  # a billing source's customer may have no e-mail
]
# staging.base_billing__customers (the customer's latest version; a dbt unit test picks it):
# customer_id, email, phone
ADDRESSES = [
    ("both", "  Ana@Example.COM ", "+1 (555) 010-0001"),
    ("email_only", "bo@example.com", "+15550100002"),
    ("sms_only", "cy@example.com", "+44 20.7946-0958"),
    ("neither", "di@example.com", None),
    ("no_address", None, "+15550100005"),  # a billing source's customer may have no e-mail
]
# the fixture's holdout (1 of 5 per audience): the first of the five by
# sha256('<run id>:<audience>:<customer id>'), worked out once with hashlib
HELD_OUT = {
    "run-1": {
        "at_risk_high_value": "neither",
        "win_back": "both",
        "dunning": "sms_only",
        "trial_not_converted": "email_only",
        "upsell": "no_address",
        "re_engage": "sms_only",
        "retention_offer": "email_only",
        "upsell_prompt": "sms_only",
        "dunning_outreach": "neither",
    },
    "run-2": {
        "at_risk_high_value": "both",
        "win_back": "email_only",
        "dunning": "neither",
        "trial_not_converted": "neither",
        "upsell": "sms_only",
        "re_engage": "both",
        "retention_offer": "neither",
        "upsell_prompt": "email_only",
        "dunning_outreach": "sms_only",
    },
}


def sha256(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


def land(tmp_path, members, addresses, tiers: dict[str, str] | None = None) -> Path:
    """(Re)write the published file (audience marts, dim_subscribers' as-of instant, with `tiers`
    marts.churn_risk_scores: customer -> risk tier) and the working database beside it (the
    customers' addresses). `members`: audience -> [(customer_id, email opt-in, sms opt-in)]; a
    customer's reason is '<audience>: <id>, ...'."""
    published = tmp_path / "warehouse.duckdb"
    work = working_path(published)
    work.parent.mkdir(parents=True, exist_ok=True)
    published.unlink(missing_ok=True)
    work.unlink(missing_ok=True)
    con = duckdb.connect(str(published))
    con.execute("create schema marts")
    con.execute(
        "create table marts.dim_subscribers as select * from (values "
        "('both', timestamp '2026-03-31 12:00:00'), ('neither', timestamp '2026-03-31 12:00:00')"
        ") as t(customer_id, as_of_at)"
    )
    if tiers is not None:
        con.execute(
            "create table marts.churn_risk_scores (customer_id varchar, scored_at timestamp, "
            "churn_probability double, risk_tier varchar, top_factors varchar)"
        )
        for customer, tier in tiers.items():
            con.execute(
                "insert into marts.churn_risk_scores "
                "values (?, timestamp '2026-03-31 12:00:00', 0.5, ?, '')",
                [customer, tier],
            )
    for audience in AUDIENCES:
        con.execute(
            f"""create table marts.audience_{audience} (customer_id varchar, reason varchar,
            email_hash varchar, is_email_opt_in boolean, is_sms_opt_in boolean,
            preferred_channel varchar)"""
        )
        for customer, email, sms in members.get(audience, []):
            con.execute(
                f"insert into marts.audience_{audience} values (?, ?, 'salted', ?, ?, 'email')",
                [customer, f"{audience}: {customer}, with a comma", email, sms],
            )
    con.close()
    con = duckdb.connect(str(work))
    con.execute("create schema staging")
    con.execute(
        "create table staging.base_billing__customers "
        "(customer_id varchar, email varchar, phone varchar)"
    )
    for row in addresses:
        con.execute("insert into staging.base_billing__customers values (?, ?, ?)", list(row))
    con.close()
    return published


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def arms(out: Path) -> dict[tuple[str, str], str]:
    """(audience, customer) -> arm, from the run's audience_assignments.csv."""
    rows = read_csv(out / "audience_assignments.csv")
    return {(r["audience"], r["customer_id"]): r["arm"] for r in rows}


def held_out(out: Path) -> dict[str, set[str]]:
    """audience -> its held-out customers in the run."""
    held: dict[str, set[str]] = {}
    for (audience, customer), arm in arms(out).items():
        if arm == "holdout":
            held.setdefault(audience, set()).add(customer)
    return held


@pytest.fixture
def published(tmp_path):
    return land(tmp_path, {a: CONSENTS for a in AUDIENCES}, ADDRESSES)


def test_each_channel_file_holds_what_its_tool_needs_of_the_consenting(published, tmp_path):
    out = tmp_path / "exports" / "run-1"
    counts = export_audiences(published, out)
    # run-1 holds out no_address from upsell, whom no marketing file has (no address, no SMS
    # opt-in): the files are those of everyone consenting
    assert held_out(out)["upsell"] == {"no_address"}
    assert counts["upsell"] == {"email": 2, "sms": 2, "ads": 2}
    email = read_csv(out / "audience_upsell__email.csv")
    assert email == [
        {
            "customer_id": "both",
            "email": "Ana@Example.COM",
            "reason": "upsell: both, with a comma",
        },
        {
            "customer_id": "email_only",
            "email": "bo@example.com",
            "reason": "upsell: email_only, with a comma",
        },
    ]
    ads = pd.read_parquet(out / "audience_upsell__ads.parquet")
    assert ads.columns.tolist() == ["customer_id", "email_sha256", "reason"]
    assert ads["customer_id"].tolist() == ["both", "email_only"]
    assert ads["email_sha256"].tolist() == [sha256("ana@example.com"), sha256("bo@example.com")]
    sms = read_csv(out / "audience_upsell__sms.csv")
    assert [(r["customer_id"], r["phone"]) for r in sms] == [
        ("both", "+15550100001"),  # E.164: spaces, dots, dashes and parentheses dropped
        ("sms_only", "+442079460958"),
    ]
    assert list(sms[0]) == ["customer_id", "phone", "reason"]
    # the salted hash, which no campaign tool can match on, is in no file
    for file in out.glob("*.csv"):
        assert "email_hash" not in file.read_text() and "salted" not in file.read_text(), file


def test_dunning_is_a_service_message_sent_whatever_the_marketing_consent(published, tmp_path):
    out = tmp_path / "exports" / "run-1"
    counts = export_audiences(published, out)
    # a dunning notice has a holdout too (its recovery lift is measured): run-1 holds out sms_only
    assert held_out(out)["dunning"] == {"sms_only"}
    assert counts["dunning"] == {"email": 3, "sms": 3}  # an ad is never a service message
    email = pd.read_parquet(out / "audience_dunning__email.parquet")
    # everyone with an address, opted in or not ('neither' is)
    assert email["customer_id"].tolist() == ["both", "email_only", "neither"]
    sms = pd.read_parquet(out / "audience_dunning__sms.parquet")
    # everyone with a number, opted in or not; 'neither' left none
    assert sms["customer_id"].tolist() == ["both", "email_only", "no_address"]
    assert not (out / "audience_dunning__ads.csv").exists()


def test_changes_say_what_was_added_and_what_was_removed_and_why(tmp_path):
    exports = tmp_path / "exports"
    first = {"win_back": [("a", True, True), ("b", True, False), ("c", True, False)]}
    first["win_back"] += [("d", True, False)]
    addresses = {c: f"{c}@example.com" for c in "abcd"}
    phone = "+15550100000"

    def contacts():
        return [(c, email, phone) for c, email in addresses.items()]

    export_audiences(land(tmp_path, first, contacts()), exports / "run-1")
    changes = read_csv(exports / "run-1" / "audience_win_back__email__changes.csv")
    assert list(changes[0]) == ["change", "customer_id", "email", "reason"]
    assert [tuple(r.values()) for r in changes] == [
        ("added", c, f"{c}@example.com", f"win_back: {c}, with a comma") for c in "abcd"
    ]

    # b leaves the audience; a changes address and opts out of SMS; c opts out of e-mail; d's
    # address goes blank; e joins
    second = {"win_back": [("a", True, False), ("c", False, False), ("d", True, False)]}
    second["win_back"] += [("e", True, False)]
    addresses.update({"a": "a.new@example.com", "d": "  ", "e": "e@example.com"})
    export_audiences(land(tmp_path, second, contacts()), exports / "run-2")
    run = exports / "run-2"
    changes = read_csv(run / "audience_win_back__email__changes.csv")
    assert [tuple(r.values()) for r in changes] == [
        ("added", "a", "a.new@example.com", "win_back: a, with a comma"),
        ("removed", "a", "a@example.com", "address changed"),
        ("removed", "b", "b@example.com", "left the audience"),
        ("removed", "c", "c@example.com", "withdrew consent"),
        ("removed", "d", "d@example.com", "no longer reachable"),
        ("added", "e", "e@example.com", "win_back: e, with a comma"),
    ]
    ads = pd.read_parquet(run / "audience_win_back__ads__changes.parquet")
    assert ads.head(2).values.tolist() == [
        ["added", "a", sha256("a.new@example.com"), "win_back: a, with a comma"],
        ["removed", "a", sha256("a@example.com"), "address changed"],
    ]
    assert read_csv(run / "audience_win_back__sms__changes.csv") == [
        {"change": "removed", "customer_id": "a", "phone": phone, "reason": "withdrew consent"}
    ]
    assert read_csv(run / "audience_upsell__email__changes.csv") == []  # empty both times


def test_the_manifest_and_the_latest_pointer(published, tmp_path):
    exports = tmp_path / "exports"
    export_audiences(published, exports / "run-1")
    assert os.readlink(exports / "latest") == "run-1"
    export_audiences(published, exports / "run-2")
    assert os.readlink(exports / "latest") == "run-2"  # relative: the folder can move
    assert sorted(p.name for p in exports.iterdir()) == ["latest", "run-1", "run-2"]
    manifest = json.loads((exports / "latest" / "manifest.json").read_text())
    assert manifest["run_id"] == "run-2"
    assert manifest["as_of"] == "2026-03-31T12:00:00Z"
    assert manifest["previous_run"] == "run-1"
    rows = manifest["rows"]
    # 7 marketing audiences × 3 channels + 2 service ones (dunning, dunning_outreach) × 2, each
    # file and its changes, and the assignments, CSV and Parquet
    assert len(rows) == ((7 * 3 + 2 * 2) * 2 + 1) * 2
    assert set(rows) | {"manifest.json"} == {p.name for p in (exports / "run-2").iterdir()}
    # run-2 holds out 'neither' from dunning, who has no number
    assert rows["audience_dunning__sms.csv"] == rows["audience_dunning__sms.parquet"] == 4
    assert rows["audience_dunning__email.csv"] == 3
    assert rows["audience_assignments.csv"] == rows["audience_assignments.parquet"] == 9 * 5
    # upsell's holdouts (no_address, then sms_only) are in neither run's ads file
    assert rows["audience_upsell__ads.csv"] == 2
    assert rows["audience_upsell__ads__changes.csv"] == 0  # nothing changed since run-1
    # 5 members, none scored: one stratum, round(0.5) = 1 held out (half up, not to even): the
    # first by sha256('<run id>:<audience>:<customer id>')
    assert manifest["holdout"] == {a: {"treatment": 4, "holdout": 1} for a in AUDIENCES}
    for run in ("run-1", "run-2"):
        assert held_out(exports / run) == {a: {c} for a, c in HELD_OUT[run].items()}
    first = json.loads((exports / "run-1" / "manifest.json").read_text())
    assert first["previous_run"] is None
    assert first["rows"]["audience_upsell__ads__changes.csv"] == 2  # everyone is new


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_run_folder_is_its_owners_alone_whatever_the_umask(published, tmp_path, umask):
    out = tmp_path / "exports" / "run-1"
    previous = os.umask(umask)
    try:
        export_audiences(published, out)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    modes = {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes == {0o600}


def test_a_customer_drawn_into_the_holdout_is_held_out_not_gone(published, tmp_path):
    exports = tmp_path / "exports"
    export_audiences(published, exports / "run-1")
    assert held_out(exports / "run-1")["win_back"] == {"both"}
    email = read_csv(exports / "run-1" / "audience_win_back__email.csv")
    assert [r["customer_id"] for r in email] == ["email_only"]
    export_audiences(published, exports / "run-2")
    assert held_out(exports / "run-2")["win_back"] == {"email_only"}  # both is contacted now
    changes = read_csv(exports / "run-2" / "audience_win_back__email__changes.csv")
    assert [(r["change"], r["customer_id"], r["reason"]) for r in changes] == [
        ("added", "both", "win_back: both, with a comma"),
        ("removed", "email_only", "held out"),  # still in the audience
    ]


# a win_back audience in four risk tiers and an upsell audience in one; everyone reachable and
# opted in, so a channel file holds every treatment member
STRATA = {"high": 20, "low": 5, "medium": 4}
UNSCORED = 15  # customers the churn model did not score


def land_strata(tmp_path) -> Path:
    tiers = {f"{tier[0]}{i:02d}": tier for tier, n in STRATA.items() for i in range(n)}
    win_back = [*tiers, *(f"u{i:02d}" for i in range(UNSCORED))]
    members = {
        "win_back": [(c, True, True) for c in win_back],
        "dunning": [(c, True, True) for c in win_back],
        "upsell": [(f"h{i:02d}", True, True) for i in range(10)],
    }
    addresses = [(c, f"{c}@example.com", "+15550100000") for c in win_back]
    return land(tmp_path, members, addresses, tiers)


def test_the_holdout_is_its_share_of_each_risk_tier_rounded_half_up(tmp_path):
    shipped = experiment_settings()
    own = {**shipped.holdout_shares, "upsell": Decimal("0.25")}  # an audience's own share
    out = tmp_path / "exports" / "run-1"
    export_audiences(land_strata(tmp_path), out, replace(shipped, holdout_shares=own))
    rows = read_csv(out / "audience_assignments.csv")
    drawn = Counter((r["audience"], r["risk_tier"], r["arm"]) for r in rows)
    for audience in ("win_back", "dunning"):  # 10 %
        assert {(tier, arm): n for (a, tier, arm), n in drawn.items() if a == audience} == {
            ("high", "holdout"): 2,  # 20 × 0.1 = 2
            ("high", "treatment"): 18,
            ("low", "holdout"): 1,  # 5 × 0.1 = 0.5, half up: 1
            ("low", "treatment"): 4,
            ("medium", "treatment"): 4,  # 4 × 0.1 = 0.4: 0
            ("unscored", "holdout"): 2,  # 15 × 0.1 = 1.5, half up: 2
            ("unscored", "treatment"): 13,
        }
    # 10 × 0.25 = 2.5, half up: 3
    assert {k: n for k, n in drawn.items() if k[0] == "upsell"} == {
        ("upsell", "high", "holdout"): 3,
        ("upsell", "high", "treatment"): 7,
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["holdout"]["win_back"] == {"treatment": 39, "holdout": 5}
    assert manifest["holdout"]["upsell"] == {"treatment": 7, "holdout": 3}
    assert manifest["holdout"]["re_engage"] == {"treatment": 0, "holdout": 0}


def test_the_same_run_id_draws_the_same_arms_another_run_id_others(tmp_path):
    published = land_strata(tmp_path)
    first = tmp_path / "a" / "exports" / "run-1"
    again = tmp_path / "b" / "exports" / "run-1"
    other = tmp_path / "a" / "exports" / "run-2"
    for out in (first, again, other):
        export_audiences(published, out)
    assert read_csv(first / "audience_assignments.csv") == read_csv(
        again / "audience_assignments.csv"
    )
    held = {run: {k for k, arm in arms(run).items() if arm == "holdout"} for run in (first, other)}
    assert len(held[first]) == len(held[other]) == 5 + 5 + 1  # win_back, dunning, upsell
    assert held[first] != held[other]
    # per audience, not one draw for all: win_back and dunning hold out other customers
    by_audience = {a: {c for aa, c in held[first] if aa == a} for a in ("win_back", "dunning")}
    assert by_audience["win_back"] != by_audience["dunning"]


def test_holdout_members_are_in_no_channel_file(tmp_path):
    out = tmp_path / "exports" / "run-1"
    export_audiences(land_strata(tmp_path), out)
    assigned = arms(out)
    for audience in ("win_back", "dunning", "upsell"):
        treatment = {c for (a, c), arm in assigned.items() if a == audience and arm == "treatment"}
        holdout = {c for (a, c), arm in assigned.items() if a == audience and arm == "holdout"}
        assert holdout
        files = sorted(out.glob(f"audience_{audience}__*.csv"))
        assert len(files) == (4 if audience == "dunning" else 6)
        for file in files:
            customers = {r["customer_id"] for r in read_csv(file)}
            assert customers == treatment, file  # everyone is reachable and opted in


def test_the_assignments_are_raw_campaign_assignments_rows(published, tmp_path):
    out = tmp_path / "exports" / "run-1"
    export_audiences(published, out)
    contract = [c.name for c in TABLES["campaign_assignments"].columns]
    rows = read_csv(out / "audience_assignments.csv")
    assert list(rows[0]) == [*contract, "risk_tier", "run_id"]
    parquet = pd.read_parquet(out / "audience_assignments.parquet")
    assert parquet.columns.tolist() == [*contract, "risk_tier", "run_id"]
    assert len(rows) == 9 * 5
    by_key = {(r["audience"], r["customer_id"]): r for r in rows}
    assert by_key[("win_back", "both")] == {
        "assignment_id": "asg_" + sha256("run-1:win_back:both")[:16],
        "campaign_id": "win_back@run-1",
        "customer_id": "both",
        "audience": "win_back",
        "arm": "holdout",  # a holdout row names the offer withheld
        "offer": "win_back_20pct_3m",
        "offer_discount_pct": "20.00",
        "offer_months": "3",
        "assigned_at": "2026-03-31 12:00:00",  # the as-of instant, UTC
        "risk_tier": "unscored",  # the warehouse has no churn scores
        "run_id": "run-1",
    }
    risk = by_key[("at_risk_high_value", "both")]
    assert (risk["arm"], risk["offer"], risk["offer_discount_pct"], risk["offer_months"]) == (
        "treatment",
        "retention_20pct_3m",
        "20.00",
        "3",
    )
    for audience in ("dunning", "trial_not_converted", "upsell", "re_engage"):  # no offer
        row = by_key[(audience, "both")]
        assert (row["offer"], row["offer_discount_pct"], row["offer_months"]) == ("", "", "")
    assert Counter(r["arm"] for r in rows) == {"treatment": 36, "holdout": 9}

    # landed back after the campaign, each format loads whole through the raw loader
    for form in ("csv", "parquet"):
        landing = tmp_path / f"landing_{form}"
        (landing / "campaign_assignments").mkdir(parents=True)
        (landing / "campaign_assignments" / f"assignments.{form}").write_bytes(
            (out / f"audience_assignments.{form}").read_bytes()
        )
        con = connect(tmp_path / f"raw_{form}.duckdb")
        try:
            result = load_table(con, landing, "campaign_assignments", datetime(2026, 4, 1))
            assert (result.rows_loaded, result.rows_rejected) == (45, 0), form
            # the extra columns are reported and kept out
            assert result.files[0].unknown_columns == ["risk_tier", "run_id"]
            loaded = con.execute(
                "select arm, offer, offer_discount_pct, offer_months, assigned_at "
                "from raw.campaign_assignments where assignment_id = ?",
                ["asg_" + sha256("run-1:win_back:both")[:16]],
            ).fetchall()
            assert loaded == [
                ("holdout", "win_back_20pct_3m", Decimal(20), 3, datetime(2026, 3, 31, 12))
            ], form
        finally:
            con.close()


def test_without_the_working_database_the_export_says_where_the_addresses_are(tmp_path):
    published = land(tmp_path, {}, [])
    working_path(published).unlink()
    with pytest.raises(FileNotFoundError, match="working database .* e-mail addresses"):
        export_audiences(published, tmp_path / "exports" / "run-1")


def test_a_run_never_writes_into_an_earlier_runs_folder(published, tmp_path):
    out = tmp_path / "exports" / "run-1"
    export_audiences(published, out)
    with pytest.raises(FileExistsError, match="run-1"):
        export_audiences(published, out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["latest", "run-1"]  # no partial left


def _load_gate_settings(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SW_")}
    return subprocess.run(
        [sys.executable, "-c", "import quality.config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**environ, **env},
    )


def test_production_refuses_the_default_email_salt():
    for salt in ({}, {"SW_EMAIL_SALT": ""}, {"SW_EMAIL_SALT": "subscriber-warehouse"}):
        refused = _load_gate_settings(SW_GATE_FRESHNESS="error", **salt)
        assert refused.returncode != 0, salt
        assert "SW_EMAIL_SALT" in refused.stderr.splitlines()[-1], refused.stderr
    assert _load_gate_settings(SW_GATE_FRESHNESS="error", SW_EMAIL_SALT="s3cret").returncode == 0
    assert _load_gate_settings().returncode == 0  # not production: the sample data's default


def test_the_audiences_holdouts_and_offers_are_the_dbt_vars(tmp_path):
    shipped = experiment_settings()
    assert shipped.audiences == (
        "at_risk_high_value",
        "win_back",
        "dunning",
        "trial_not_converted",
        "upsell",
        "re_engage",
        "retention_offer",
        "upsell_prompt",
        "dunning_outreach",
    )
    assert shipped.service_audiences == {"dunning", "dunning_outreach"}
    assert set(shipped.holdout_shares.values()) == {Decimal("0.1")}
    assert (shipped.offers["at_risk_high_value"].name, shipped.offers["win_back"].months) == (
        "retention_20pct_3m",
        3,
    )
    assert "dunning" not in shipped.offers  # no offer: null offer columns
    project = tmp_path / "dbt_project.yml"
    project.write_text(
        "vars:\n  campaign_audiences: [upsell, dunning]\n  service_audiences: [dunning]\n"
        "  audience_holdout_share: 0.1\n  audience_holdout_shares: {upsel: 0}\n"
        "  audience_offers: {}\n"
    )
    with pytest.raises(ValueError, match="audience_holdout_shares names no audience: upsel"):
        experiment_settings(project)
    project.write_text(
        "vars:\n  campaign_audiences: [upsell]\n  service_audiences: [dunning]\n"
        "  audience_holdout_share: 0.1\n  audience_offers: {}\n"
    )
    with pytest.raises(ValueError, match="service_audiences names no audience: dunning"):
        experiment_settings(project)
