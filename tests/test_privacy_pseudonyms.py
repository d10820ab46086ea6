"""Keyed pseudonyms of e-mails and phones (issue 13, finding 11) and retention of clear-text personal data.

The md5 hashes the marts held before were reversed by a dictionary of known e-mails; these tests show
the HMAC pseudonyms are not, without the key, and stay joinable with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from pathlib import Path

import pytest

from dagster_project.contract import CUSTOMERS, SURVEY_RESPONSES
from dagster_project.ingestion.loader import ingest_files
from dagster_project.privacy import scrub_legacy_snapshot
from dagster_project.privacy.keys import KeyRing, MissingKeyError, PseudonymKey, ensure_local_key, load_keys
from dagster_project.privacy.pseudonyms import hmac_sql, install_keys

from deliveries import entity_folder, survey_response, write_csv

KEY = "a-test-key-for-pseudonyms-0123456789abcdef"
OTHER_KEY = "another-key-for-pseudonyms-0123456789abcdef"
COLUMNS = CUSTOMERS.column_names

PEOPLE = [
    {"customer_id": "C1", "full_name": "Ann Lee", "email": "Ann.Lee@Example.com ", "phone": "13800000001"},
    {"customer_id": "C2", "full_name": "Bo Wang", "email": "bo@example.com", "phone": "13800000002"},
    # C3 shares Ann's e-mail (other case): pseudonyms must match, so BI can join them
    {"customer_id": "C3", "full_name": "Ann L.", "email": "ann.lee@example.com", "phone": " 13800000001"},
]


def customer(row: dict) -> dict:
    return {"signup_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-02T00:00:00Z", **row}


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY", KEY)


def load_customers(con, landing: Path, rows: list[dict], name: str = "2025-01.csv") -> None:
    path = write_csv(entity_folder(landing, CUSTOMERS) / name, [customer(r) for r in rows], COLUMNS)
    report = ingest_files(con, CUSTOMERS, [(path, None)])
    assert not report.errors


def test_sql_hmac_equals_python_hmac(con):
    keys = KeyRing(PseudonymKey(KEY.encode()))
    install_keys(con, keys)
    values = ["ann@example.com", "13800000001", "张伟@例子.中国", "", "x" * 200]
    got = [r[0] for r in con.execute(f"select {hmac_sql('v')} from unnest(?) as t(v)", [values]).fetchall()]
    assert got == [hmac.new(KEY.encode(), v.encode(), hashlib.sha256).hexdigest() for v in values]
    assert con.execute(f"select {hmac_sql('cast(null as varchar)')}").fetchone() == (None,)
    # a key longer than SHA-256's block is hashed first (RFC 2104)
    long_key = KeyRing(PseudonymKey(b"k" * 100))
    install_keys(con, long_key)
    assert (
        con.execute(f"select {hmac_sql(chr(39) + 'a' + chr(39))}").fetchone()[0]
        == hmac.new(b"k" * 100, b"a", hashlib.sha256).hexdigest()
    )


def test_a_dictionary_does_not_reverse_the_pseudonyms_without_the_key(con, landing, keyed):
    load_customers(con, landing, PEOPLE)
    published = {
        v
        for row in con.execute("select email_pseudonym, phone_pseudonym from raw.customer_pseudonyms").fetchall()
        for v in row
    }
    assert len(published) == 4  # 2 distinct e-mails, 2 distinct phones
    # The attacker knows every e-mail and phone (a leaked list, or the whole phone space) and tries the
    # unkeyed hashes that reversed the old md5 values, and HMAC under a guessed key.
    dictionary = {p["email"].strip().lower() for p in PEOPLE} | {p["phone"].strip() for p in PEOPLE}
    attempts = set()
    for value in dictionary:
        for candidate in (value, value.upper()):
            attempts |= {hashlib.md5(candidate.encode()).hexdigest(), hashlib.sha256(candidate.encode()).hexdigest()}
            attempts.add(hmac.new(OTHER_KEY.encode(), candidate.encode(), hashlib.sha256).hexdigest())
    assert not published & attempts
    # With the key, the same value gives the same pseudonym: joinable with other keyed data.
    with_key = {hmac.new(KEY.encode(), v.encode(), hashlib.sha256).hexdigest() for v in dictionary}
    assert published == with_key
    c1, c3 = con.execute(
        "select email_pseudonym, phone_pseudonym from raw.customer_pseudonyms where customer_id in ('C1', 'C3') "
        "order by customer_id"
    ).fetchall()
    assert c1 == c3


def test_pseudonyms_follow_a_new_delivery_and_a_new_key(con, landing, monkeypatch, keyed):
    load_customers(con, landing, PEOPLE[:1])
    load_customers(con, landing, [{**PEOPLE[0], "email": "new@example.com"}], name="2025-02.csv")
    (email,) = con.execute("select email_pseudonym from raw.customer_pseudonyms").fetchone()
    assert email == hmac.new(KEY.encode(), b"new@example.com", hashlib.sha256).hexdigest()
    assert con.execute("select count(*) from raw.privacy_changes").fetchone()[0] == 0  # loads, not in place
    # Rotation: the next load under a new key recomputes every pseudonym from raw, and records it for
    # the next build (every row's pseudonym changed without a load: dagster_project/build_state.py).
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY", OTHER_KEY)
    load_customers(con, landing, PEOPLE[1:2], name="2025-03.csv")
    changes = con.execute("select change, rows_changed from raw.privacy_changes").fetchall()
    assert changes == [("pseudonym key rotated", 1)]
    rows = dict(con.execute("select customer_id, email_pseudonym from raw.customer_pseudonyms").fetchall())
    assert rows == {
        "C1": hmac.new(OTHER_KEY.encode(), b"new@example.com", hashlib.sha256).hexdigest(),
        "C2": hmac.new(OTHER_KEY.encode(), b"bo@example.com", hashlib.sha256).hexdigest(),
    }


def test_ingesting_customers_without_a_key_fails_clearly(con, landing, monkeypatch, tmp_path):
    monkeypatch.delenv("CSAT_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY_FILE", str(tmp_path / "absent.key"))
    with pytest.raises(MissingKeyError, match="CSAT_PSEUDONYM_KEY"):
        load_customers(con, landing, PEOPLE)
    # Entities without personal data load without a key.
    path = write_csv(
        entity_folder(landing, SURVEY_RESPONSES) / "s.csv", [survey_response("R1")], SURVEY_RESPONSES.column_names
    )
    assert ingest_files(con, SURVEY_RESPONSES, [(path, None)]).total("loaded") == 1


def test_short_keys_are_refused_and_keys_never_shown(monkeypatch):
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY", "short")
    with pytest.raises(MissingKeyError) as error:
        load_keys()
    assert "short" not in str(error.value).replace("shorter", "")
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY", KEY)
    keys = load_keys()
    assert KEY not in repr(keys) and KEY not in str(keys.current)


def test_demo_key_is_created_owner_only_once(monkeypatch, tmp_path):
    monkeypatch.delenv("CSAT_PSEUDONYM_KEY", raising=False)
    path = tmp_path / "privacy" / "pseudonym.key"
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY_FILE", str(path))
    assert ensure_local_key() == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    first = path.read_text()
    assert ensure_local_key() is None and path.read_text() == first
    assert len(load_keys().current.secret) == 64
    # The file's later lines are retired keys (used only to match the erasure register).
    path.write_text(f"{KEY}\n{first}")
    keys = load_keys()
    assert keys.current.secret == KEY.encode() and [k.secret for k in keys.retired] == [first.strip().encode()]
    # A configured key wins and no file is written.
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY_FILE", str(tmp_path / "other.key"))
    assert ensure_local_key() is None and not (tmp_path / "other.key").exists()


def test_csat_generate_creates_the_demo_key(monkeypatch, tmp_path):
    from dagster_project.cli import main

    monkeypatch.delenv("CSAT_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY_FILE", str(tmp_path / "k" / "pseudonym.key"))
    assert main(["generate", "--dirty", "--landing", str(tmp_path / "landing")]) == 0
    assert stat.S_IMODE((tmp_path / "k" / "pseudonym.key").stat().st_mode) == 0o600


def test_retention_blanks_old_clear_text_but_keeps_pseudonyms(con, landing, monkeypatch, keyed):
    bad = {**PEOPLE[1], "customer_id": "C9", "signup_at": "not a time"}  # a rejected row, with contact data
    path = write_csv(
        entity_folder(landing, CUSTOMERS) / "2025-01.csv", [customer(r) for r in PEOPLE[:2]] + [bad], COLUMNS
    )
    ingest_files(con, CUSTOMERS, [(path, None)])
    assert con.execute("select count(*) from raw.load_rejects").fetchone()[0] == 1
    con.execute("update raw.customers set _loaded_at = _loaded_at - interval 40 day where customer_id = 'C1'")
    con.execute("update raw.load_rejects set rejected_at = rejected_at - interval 40 day")
    before = dict(con.execute("select customer_id, email_pseudonym from raw.customer_pseudonyms").fetchall())
    monkeypatch.setenv("CSAT_PERSONAL_DATA_RETENTION_DAYS", "30")
    load_customers(con, landing, [{**PEOPLE[1], "customer_id": "C5"}], name="2025-02.csv")
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select customer_id, full_name, email, phone, birth_date, _extra from raw.customers"
        ).fetchall()
    }
    assert rows["C1"] == (None, None, None, None, None)
    assert rows["C2"][:3] == ("Bo Wang", "bo@example.com", "13800000002")  # younger than 30 days
    # recorded for the next build (rows changed without a load); the rejected row's blanking is not
    assert con.execute("select change, rows_changed from raw.privacy_changes").fetchall() == [("retention", 1)]
    after = dict(con.execute("select customer_id, email_pseudonym from raw.customer_pseudonyms").fetchall())
    assert after["C1"] == before["C1"] is not None
    (raw_values,) = con.execute("select raw_values from raw.load_rejects").fetchone()
    values = json.loads(raw_values)
    assert values["customer_id"] == "C9" and not {"full_name", "email", "phone", "birth_date"} & set(values)


def test_bad_retention_setting_is_named(monkeypatch):
    from dagster_project import settings

    monkeypatch.setenv("CSAT_PERSONAL_DATA_RETENTION_DAYS", "30d")
    with pytest.raises(ValueError, match="CSAT_PERSONAL_DATA_RETENTION_DAYS"):
        settings.personal_data_retention_days()


def test_md5_hashes_of_older_snapshots_are_dropped(con):
    con.execute("create schema snapshots")
    con.execute(
        "create table snapshots.snap_crm__customers as select 'C1' as customer_id, "
        "md5('ann@example.com') as email_hash, md5('138') as phone_hash, 'vip' as segment"
    )
    scrub_legacy_snapshot(con)
    assert [r[0] for r in con.execute("describe snapshots.snap_crm__customers").fetchall()] == [
        "customer_id",
        "segment",
    ]


def test_key_file_is_not_in_the_repository():
    root = Path(__file__).resolve().parent.parent
    assert "/data/" in (root / ".gitignore").read_text()  # the default key file is data/privacy/pseudonym.key
