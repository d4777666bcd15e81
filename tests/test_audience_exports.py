"""Audience exports on a hand-made published warehouse and working database: what each channel's
file holds, its changes since the previous run, the manifest, the latest pointer, permissions."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from subscriber_warehouse.audiences import AUDIENCES, export_audiences
from subscriber_warehouse.publish import working_path

ROOT = Path(__file__).resolve().parent.parent

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


def sha256(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


def land(tmp_path, members, addresses) -> Path:
    """(Re)write the published file (audience marts, dim_subscribers' as-of instant) and the
    working database beside it (the customers' addresses). `members`: audience ->
    [(customer_id, email opt-in, sms opt-in)]; a customer's reason is '<audience>: <id>, ...'."""
    published = tmp_path / "warehouse.duckdb"
    work = working_path(published)
    work.parent.mkdir(exist_ok=True)
    published.unlink(missing_ok=True)
    work.unlink(missing_ok=True)
    con = duckdb.connect(str(published))
    con.execute("create schema marts")
    con.execute(
        "create table marts.dim_subscribers as select * from (values "
        "('both', timestamp '2026-03-31 12:00:00'), ('neither', timestamp '2026-03-31 12:00:00')"
        ") as t(customer_id, as_of_at)"
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


@pytest.fixture
def published(tmp_path):
    return land(tmp_path, {a: CONSENTS for a in AUDIENCES}, ADDRESSES)


def test_each_channel_file_holds_what_its_tool_needs_of_the_consenting(published, tmp_path):
    out = tmp_path / "exports" / "run-1"
    counts = export_audiences(published, out)
    assert counts["win_back"] == {"email": 2, "sms": 2, "ads": 2}
    email = read_csv(out / "audience_win_back__email.csv")
    assert email == [
        {
            "customer_id": "both",
            "email": "Ana@Example.COM",
            "reason": "win_back: both, with a comma",
        },
        {
            "customer_id": "email_only",
            "email": "bo@example.com",
            "reason": "win_back: email_only, with a comma",
        },
    ]
    ads = pd.read_parquet(out / "audience_win_back__ads.parquet")
    assert ads.columns.tolist() == ["customer_id", "email_sha256", "reason"]
    assert ads["customer_id"].tolist() == ["both", "email_only"]
    assert ads["email_sha256"].tolist() == [sha256("ana@example.com"), sha256("bo@example.com")]
    sms = read_csv(out / "audience_win_back__sms.csv")
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
    assert counts["dunning"] == {"email": 4, "sms": 4}  # an ad is never a service message
    email = pd.read_parquet(out / "audience_dunning__email.parquet")
    assert email["customer_id"].tolist() == ["both", "email_only", "neither", "sms_only"]
    sms = pd.read_parquet(out / "audience_dunning__sms.parquet")
    # everyone with a number, opted in or not; 'neither' left none
    assert sms["customer_id"].tolist() == ["both", "email_only", "no_address", "sms_only"]
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
    # 5 marketing audiences × 3 channels + dunning × 2, each file and its changes, CSV and Parquet
    assert len(rows) == (5 * 3 + 2) * 2 * 2
    assert set(rows) | {"manifest.json"} == {p.name for p in (exports / "run-2").iterdir()}
    assert rows["audience_dunning__sms.csv"] == rows["audience_dunning__sms.parquet"] == 4
    assert rows["audience_win_back__ads.csv"] == 2
    assert rows["audience_win_back__ads__changes.csv"] == 0  # nothing changed since run-1
    first = json.loads((exports / "run-1" / "manifest.json").read_text())
    assert first["previous_run"] is None
    assert first["rows"]["audience_win_back__ads__changes.csv"] == 2  # everyone is new


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
