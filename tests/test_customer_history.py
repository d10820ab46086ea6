"""Customer history without a dbt snapshot: ingestion keeps every delivered version of a customer in
raw.customers_history, and dbt derives dim_customer's type 2 history from it (int_customers_history).

The ingestion tests are fast (loader only); the dbt ones build only the customer models."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from working_files import open_working

from dagster_project.contract import CUSTOMERS
from dagster_project.ingestion.history import TRACKED_COLUMNS
from dagster_project.ingestion.loader import ingest_files, load_file
from dagster_project.ingestion.warehouse import connect
from dagster_project.rebuild import rebuild_working_warehouse

from deliveries import entity_folder, write_csv
from kpi_reference import invoke_dbt

COLUMNS = CUSTOMERS.column_names


def customer(customer_id: str, **overrides) -> dict:
    row = {
        "customer_id": customer_id,
        "full_name": "Ann Lee",
        "email": "ann@example.com",
        "segment": "regular",
        "region": "north",
        "city": "Oslo",
        "signup_at": "2023-01-01T00:00:00Z",
        "updated_at": "2023-06-01T00:00:00Z",
    }
    return {**row, **overrides}


def deliver(con, landing: Path, name: str, rows: list[dict]):
    return load_file(con, CUSTOMERS, write_csv(entity_folder(landing, CUSTOMERS) / name, rows, COLUMNS))


def history(con, customer_id: str = "C1") -> list[tuple]:
    return con.execute(
        "select segment, region, updated_at, _delivery_seq from raw.customers_history "
        "where customer_id = ? order by _delivery_seq",
        [customer_id],
    ).fetchall()


# Three deliveries of C1: regular/north, then vip/north, then vip/south (and C2, unchanged, each time).
THREE_DELIVERIES = [
    ("2024-01.csv", [customer("C1"), customer("C2")]),
    ("2024-02.csv", [customer("C1", segment="vip", updated_at="2024-02-01T00:00:00Z"), customer("C2")]),
    (
        "2024-03.csv",
        [customer("C1", segment="vip", region="south", updated_at="2024-03-01T00:00:00Z"), customer("C2")],
    ),
]
EXPECTED_C1 = [
    ("regular", "north", datetime(2023, 6, 1)),
    ("vip", "north", datetime(2024, 2, 1)),
    ("vip", "south", datetime(2024, 3, 1)),
]


def test_a_customer_changed_across_three_deliveries_has_three_versions(con, landing):
    for name, rows in THREE_DELIVERIES:
        assert deliver(con, landing, name, rows).loaded == 2
    assert [r[:3] for r in history(con)] == EXPECTED_C1
    seqs = [r[3] for r in history(con)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    # raw.customers still holds the latest delivery only; the history holds no personal data
    assert con.execute("select segment, region from raw.customers where customer_id = 'C1'").fetchall() == [
        ("vip", "south")
    ]
    assert [r[0] for r in con.execute("describe raw.customers_history").fetchall()] == [
        *TRACKED_COLUMNS,
        "_source_file",
        "_row_number",
        "_file_sha256",
        "_loaded_at",
        "_delivery_seq",
    ]
    assert not {"full_name", "email", "phone", "birth_date"} & set(TRACKED_COLUMNS)


def test_an_unchanged_redelivery_adds_no_history_row(con, landing):
    deliver(con, landing, "2024-01.csv", [customer("C1"), customer("C2")])
    before = history(con) + history(con, "C2")
    # the same versions again in another file (a full CRM export the next day): loaded, not recorded
    result = deliver(con, landing, "2024-02.csv", [customer("C2"), customer("C1", full_name="Ann Lee-Berg")])
    assert (result.loaded, result.skipped) == (2, False)
    assert history(con) + history(con, "C2") == before
    assert con.execute("select count(*) from raw.load_manifest").fetchone()[0] == 2
    # a changed attribute is a version again
    deliver(con, landing, "2024-03.csv", [customer("C1", city="Bergen")])
    assert len(history(con)) == 2 and len(history(con, "C2")) == 1


def test_files_loaded_as_one_batch_record_every_version_in_file_order(con, landing):
    folder = entity_folder(landing, CUSTOMERS)
    files = [(write_csv(folder / name, rows, COLUMNS), None) for name, rows in THREE_DELIVERIES]
    report = ingest_files(con, CUSTOMERS, files)
    assert report.errors == [] and len(report.new_files) == 3
    assert [r[:3] for r in history(con)] == EXPECTED_C1
    assert len(history(con, "C2")) == 1


def test_a_failed_delivery_records_no_version(con, landing, monkeypatch):
    deliver(con, landing, "2024-01.csv", [customer("C1")])
    from dagster_project.ingestion import loader

    def broken(*args, **kwargs):
        raise duckdb.Error("disk full")

    monkeypatch.setattr(loader, "_record_manifest", broken)
    with pytest.raises(duckdb.Error):
        deliver(con, landing, "2024-02.csv", [customer("C1", segment="vip", updated_at="2024-02-01T00:00:00Z")])
    assert [r[:3] for r in history(con)] == EXPECTED_C1[:1]
    assert con.execute("select segment from raw.customers").fetchall() == [("regular",)]


def test_an_upgraded_warehouse_takes_over_the_snapshot_versions(warehouse_path):
    """A warehouse written before raw.customers_history: its dbt snapshot's versions, then the
    current raw rows, become the history; the snapshot table goes."""
    con = connect(warehouse_path)
    con.execute("drop table raw.customers_history")
    con.execute(
        "insert into raw.customers (customer_id, segment, updated_at, _source_file, _loaded_at) "
        "values ('C1', 'VIP', timestamp '2024-03-01', 'crm/customers/2024-03.csv', timestamp '2024-03-02')"
    )
    con.execute("create schema snapshots")
    con.execute(
        """
        create table snapshots.snap_crm__customers as
        select customer_id, null as gender, null as city, null as region, segment,
            cast(null as timestamp) as signup_at, null as store_id, null as account_manager_id, updated_at,
            'id-' || segment as dbt_scd_id, updated_at as dbt_updated_at, dbt_valid_from, dbt_valid_to
        from (values
            ('C1', 'regular', timestamp '2023-06-01', timestamp '2023-06-01', timestamp '2024-02-01'),
            ('C1', 'vip', timestamp '2024-02-01', timestamp '2024-02-01', null)
        ) as t (customer_id, segment, updated_at, dbt_valid_from, dbt_valid_to)
        """
    )
    con.close()
    con = connect(warehouse_path)
    try:
        assert [r[:3] for r in history(con)] == [
            ("regular", None, datetime(2023, 6, 1)),
            ("vip", None, datetime(2024, 2, 1)),
            ("VIP", None, datetime(2024, 3, 1)),
        ]
        tables = con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
        assert ("snapshots.snap_crm__customers",) not in tables
    finally:
        con.close()


def test_rebuild_restores_the_history_from_the_landing_files(warehouse_path, landing):
    con = connect(warehouse_path)
    for name, rows in THREE_DELIVERIES:
        deliver(con, landing, name, rows)
    # a version read from a CRM database: no landing file can give it back
    con.execute(
        "insert into raw.customers_history (customer_id, segment, updated_at, _source_file, _loaded_at, _delivery_seq) "
        "values ('C9', 'vip', timestamp '2024-01-01', 'postgresql://crm/customers', timestamp '2024-01-02', 1)"
    )
    con.close()

    rebuild_working_warehouse(warehouse_path)

    con = connect(warehouse_path)
    try:
        assert [r[:3] for r in history(con, "C9")] == [("vip", None, datetime(2024, 1, 1))]
        assert history(con) == []
        for name, _ in THREE_DELIVERIES:  # the landing files, loaded again in delivery order
            load_file(con, CUSTOMERS, entity_folder(landing, CUSTOMERS) / name)
        assert [r[:3] for r in history(con)] == EXPECTED_C1
    finally:
        con.close()


# --- dbt: dim_customer from the history --------------------------------------------------------


def build_customer_models(warehouse: Path, work_dir: Path) -> None:
    mp = pytest.MonkeyPatch()
    mp.setenv("CSAT_WAREHOUSE_PATH", str(warehouse))
    try:
        result = invoke_dbt(["run", "--select", "+dim_customer", "--threads", "1"], work_dir)
    finally:
        mp.undo()
    assert result.success, result.exception


def dim_versions(warehouse: Path, customer_id: str) -> list[tuple]:
    con = open_working(warehouse)
    try:
        return con.execute(
            "select version_number, segment, region, current_segment, valid_from_at, valid_to_at, is_current "
            "from marts.dim_customer where customer_id = ? order by version_number",
            [customer_id],
        ).fetchall()
    finally:
        con.close()


@pytest.mark.pipeline
def test_dim_customer_history_from_three_deliveries_and_redeliveries(warehouse_path, landing, tmp_path):
    con = connect(warehouse_path)
    for name, rows in THREE_DELIVERIES:
        deliver(con, landing, name, rows)
    # re-delivered unchanged (a new version row would be a new dim_customer version) and an older
    # version delivered late (a snapshot ignores an updated_at that is not later: so do we)
    deliver(con, landing, "2024-04.csv", [THREE_DELIVERIES[2][1][0], customer("C2", segment="vip")])
    deliver(con, landing, "2024-05.csv", [customer("C2", segment="new", updated_at="2023-01-01T00:00:00Z")])
    con.close()
    build_customer_models(warehouse_path, tmp_path)

    assert dim_versions(warehouse_path, "C1") == [
        (1, "regular", "north", "vip", datetime(2023, 6, 1), datetime(2024, 2, 1), False),
        (2, "vip", "north", "vip", datetime(2024, 2, 1), datetime(2024, 3, 1), False),
        (3, "vip", "south", "vip", datetime(2024, 3, 1), None, True),
    ]
    # C2: changed segment with the same updated_at, then an older updated_at: neither is a version
    assert dim_versions(warehouse_path, "C2") == [(1, "regular", "north", "regular", datetime(2023, 6, 1), None, True)]
