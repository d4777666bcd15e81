"""Audience exports on a hand-made published warehouse: consent decides each channel's file."""

from __future__ import annotations

import csv
import json

import duckdb
import pandas as pd
import pytest

from subscriber_warehouse.audiences import AUDIENCES, export_audiences

# customer -> (email opt-in, sms opt-in, preferred channel) as the audience marts carry them
CUSTOMERS = {
    "both": (True, True, "email"),
    "email_only": (True, False, "email"),
    "sms_only": (False, True, "sms"),
    "neither": (False, False, "none"),
}


@pytest.fixture
def published(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    for audience in AUDIENCES:
        con.execute(
            f"""create table marts.audience_{audience} (customer_id varchar, reason varchar,
            email_hash varchar, is_email_opt_in boolean, is_sms_opt_in boolean,
            preferred_channel varchar)"""
        )
        for customer, (email, sms, channel) in CUSTOMERS.items():
            con.execute(
                f"insert into marts.audience_{audience} values (?, ?, ?, ?, ?, ?)",
                [customer, f"{audience}, with a comma", f"hash-{customer}", email, sms, channel],
            )
    con.close()
    return path


def test_each_channel_file_holds_only_customers_opted_in_to_it(published, tmp_path):
    out = tmp_path / "exports" / "run-1"
    counts = export_audiences(published, out)
    assert counts == {a: {"email": 2, "sms": 2} for a in AUDIENCES}
    for audience in AUDIENCES:
        with open(out / f"audience_{audience}__email.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert [r["customer_id"] for r in rows] == ["both", "email_only"]
        assert list(rows[0]) == ["customer_id", "email_hash", "reason", "preferred_channel"]
        assert rows[0]["reason"] == f"{audience}, with a comma"
        sms = pd.read_parquet(out / f"audience_{audience}__sms.parquet")
        assert sms["customer_id"].tolist() == ["both", "sms_only"]
        assert sms["preferred_channel"].tolist() == ["email", "sms"]
    assert json.loads((out / "manifest.json").read_text())["rows"] == counts


def test_a_run_never_writes_into_an_earlier_runs_folder(published, tmp_path):
    out = tmp_path / "exports" / "run-1"
    export_audiences(published, out)
    with pytest.raises(FileExistsError, match="run-1"):
        export_audiences(published, out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["run-1"]  # no partial folder left
