"""A landing file's checksum, remembered with the file's identity (ingestion/checksums.py): a file that
has not changed is not read again, a file that has is, whatever its size and times say."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from dagster_project.contract import SURVEY_RESPONSES
from dagster_project.ingestion import checksums
from dagster_project.ingestion.loader import ingest_landing_entity
from dagster_project.ingestion.warehouse import connect

from deliveries import entity_folder, survey_response, write_csv

COLUMNS = SURVEY_RESPONSES.column_names


@pytest.fixture
def read(monkeypatch):
    """The names of the files whose bytes ingestion hashed, in order."""
    names: list[str] = []
    hash_file = checksums.file_sha256
    monkeypatch.setattr(checksums, "file_sha256", lambda path: names.append(path.name) or hash_file(path))
    return names


@pytest.fixture
def settled(monkeypatch):
    """Files written by the test count as settled at once (instead of SETTLED_SECONDS later)."""
    monkeypatch.setattr(checksums, "SETTLED_SECONDS", 0)


def recorded(con) -> dict[str, str]:
    rows = con.execute("select path, file_sha256 from raw.file_checksums").fetchall()
    return {os.path.basename(path): sha256 for path, sha256 in rows}


def test_an_unchanged_file_is_not_read_again(con, landing, read, settled):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-02.csv", [survey_response("R1")], COLUMNS)
    first = ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    write_csv(folder / "2025-03.csv", [survey_response("R2")], COLUMNS)
    second = ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    third = ingest_landing_entity(con, SURVEY_RESPONSES, landing)

    assert read == ["2025-02.csv", "2025-03.csv"]
    assert [(f.skipped, f.loaded) for f in second.files] == [(True, 0), (False, 1)]
    assert [f.skipped for f in third.files] == [True, True]
    manifest = dict(con.execute("select source_file, file_sha256 from raw.load_manifest").fetchall())
    assert recorded(con) == {os.path.basename(p): s for p, s in manifest.items()}
    assert first.files[0].sha256 == recorded(con)["2025-02.csv"]


def test_a_file_rewritten_with_its_size_and_times_is_read_and_loaded(con, landing, read, settled):
    """Same size, modification time set back: the status-change time still tells."""
    folder = entity_folder(landing, SURVEY_RESPONSES)
    path = write_csv(folder / "2025-02.csv", [survey_response("R1", comment="good")], COLUMNS)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    before = os.stat(path)
    write_csv(path, [survey_response("R1", comment="bad!")], COLUMNS)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (os.stat(path).st_size, os.stat(path).st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    again = ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert read == ["2025-02.csv", "2025-02.csv"]
    assert [(f.skipped, f.loaded) for f in again.files] == [(False, 1)]
    assert con.execute("select comment from raw.survey_responses").fetchall() == [("bad!",)]


def test_a_file_replaced_by_the_same_bytes_is_read_and_skipped(con, landing, read, settled):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    path = write_csv(folder / "2025-02.csv", [survey_response("R1")], COLUMNS)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    shutil.copy(path, folder / "copy.tmp")
    os.replace(folder / "copy.tmp", path)  # another inode

    again = ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert read == ["2025-02.csv", "2025-02.csv"]
    assert [f.skipped for f in again.files] == [True]
    assert ingest_landing_entity(con, SURVEY_RESPONSES, landing).files[0].skipped
    assert read == ["2025-02.csv", "2025-02.csv"]  # the new identity was recorded


def test_a_file_changed_just_now_is_read_again_until_it_settles(con, landing, read, monkeypatch):
    monkeypatch.setattr(checksums, "SETTLED_SECONDS", 3600)
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(folder / "2025-02.csv", [survey_response("R1")], COLUMNS)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert read == ["2025-02.csv", "2025-02.csv"]
    assert recorded(con) == {}

    monkeypatch.setattr(checksums, "SETTLED_SECONDS", 0)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert read == ["2025-02.csv"] * 3


def test_a_connection_to_a_current_warehouse_writes_nothing(warehouse_path, landing, settled):
    """Opening the warehouse creates what is missing and refreshes raw.entity_delivery: on a warehouse
    already current neither writes (no write-ahead log), so closing it writes no checkpoint."""
    write_csv(entity_folder(landing, SURVEY_RESPONSES) / "2025-02.csv", [survey_response("R1")], COLUMNS)
    with connect(warehouse_path) as con:
        ingest_landing_entity(con, SURVEY_RESPONSES, landing)
        delivery = con.execute("select * from raw.entity_delivery order by entity").fetchall()
    wal = warehouse_path.with_name(warehouse_path.name + ".wal")
    with connect(warehouse_path) as con:
        assert not wal.exists() or wal.stat().st_size == 0
        ingest_landing_entity(con, SURVEY_RESPONSES, landing)  # nothing new
        assert not wal.exists() or wal.stat().st_size == 0
        con.register("after", pd.DataFrame({"x": [1]}))  # no result left open on the connection
        assert con.execute("select * from raw.entity_delivery order by entity").fetchall() == delivery
        con.execute("delete from raw.survey_responses")  # written otherwise: the next opening records it
    with connect(warehouse_path) as con:
        rows = con.execute("select rows_loaded from raw.entity_delivery where entity = 'survey_responses'")
        assert rows.fetchall() == [(0,)]


def test_a_raw_table_of_an_older_contract_gains_the_new_columns(warehouse_path):
    """The raw tables' DDL looks for missing columns with one catalog query for every table."""
    with connect(warehouse_path) as con:
        con.execute("alter table raw.survey_responses drop column comment")
        con.execute("alter table raw.orders drop column amount")
    with connect(warehouse_path) as con:
        columns = con.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = 'raw' "
            "and (table_name, column_name) in (('survey_responses', 'comment'), ('orders', 'amount'))"
        ).fetchall()
    assert sorted(columns) == [("orders", "amount"), ("survey_responses", "comment")]


def test_without_a_status_change_time_to_trust_every_file_is_read(con, landing, read, settled, monkeypatch):
    monkeypatch.setattr(checksums, "TRUSTS_IDENTITY", False)  # Windows: st_ctime is the creation time
    write_csv(entity_folder(landing, SURVEY_RESPONSES) / "2025-02.csv", [survey_response("R1")], COLUMNS)
    for _ in range(3):
        ingest_landing_entity(con, SURVEY_RESPONSES, landing)
    assert read == ["2025-02.csv"] * 3
    assert recorded(con) == {}
