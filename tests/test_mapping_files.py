"""Several entities' exports in one folder: each mapping names its files by pattern (`files`).

A CRM that writes every object to one SFTP drop, or zips them together (`Accounts.csv`,
`Orders.csv`, `Opportunities.csv`), is delivered into one entity's folder; the others read it
(`files_of`), and each takes the files its patterns match, a zip archive's one by one."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from dagster_project.contract import CUSTOMERS, ORDERS
from dagster_project.ingestion import delivery_list
from dagster_project.ingestion.file_selection import Reader, readers
from dagster_project.ingestion.loader import ingest_landing_entity
from dagster_project.ingestion.mapping import MappingError, load_mappings, parse_mapping

from deliveries import entity_folder, mapped_rules

ACCOUNTS = "Id,Segment\nC1,retail\nC2,business\n"
ORDERS_CSV = "Id,Account,Date\nO1,C1,2025-03-01\nO2,C2,2025-03-02\n"
CUSTOMERS_MAPPING = {"files": "accounts_*", "columns": {"customer_id": "Id", "segment": "Segment"}}
ORDERS_MAPPING = {
    "files_of": "customers",
    "files": ["Orders_*.csv", "orders.csv"],
    "columns": {"order_id": "Id", "customer_id": "Account", "ordered_at": "Date"},
    "date_only": ["ordered_at"],
}


@pytest.fixture
def drop(landing):
    """The CRM's drop: loose files of two entities and one no entity reads, and a zip of all three."""
    folder = entity_folder(landing, CUSTOMERS)
    (folder / "Accounts_2025-03.csv").write_text(ACCOUNTS, encoding="utf-8")
    (folder / "Orders_2025-03.csv").write_text(ORDERS_CSV, encoding="utf-8")
    (folder / "Opportunities_2025-03.csv").write_text("Id\nX1\n", encoding="utf-8")
    with zipfile.ZipFile(folder / "crm_2025-04.zip", "w") as archive:
        archive.writestr("Export/Accounts_2025-04.csv", "Id,Segment\nC3,retail\n")
        archive.writestr("Export/Orders.csv", "Id,Account,Date\nO3,C3,2025-04-01\n")
        archive.writestr("Export/Opportunities.csv", "Id\nX2\n")
    return folder


@pytest.fixture
def mappings(tmp_path):
    customers = mapped_rules(tmp_path, CUSTOMERS, CUSTOMERS_MAPPING)
    orders = mapped_rules(tmp_path, ORDERS, ORDERS_MAPPING)
    return {"customers": customers, "orders": orders}


def _load(con, landing, entity, mappings):
    every = {name: rules.mapping for name, rules in mappings.items()}
    return ingest_landing_entity(con, entity, landing, rules=mappings[entity.name], mappings=every)


def _sources(con, table):
    return con.execute(f"select _source_file, count(*) from raw.{table} group by 1 order by 1").fetchall()


def test_each_entity_reads_the_files_its_patterns_match(con, landing, drop, mappings):
    customers = _load(con, landing, CUSTOMERS, mappings)
    orders = _load(con, landing, ORDERS, mappings)

    assert (customers.total("loaded"), customers.total("rejected")) == (3, 0)
    assert (orders.total("loaded"), orders.total("rejected")) == (3, 0)
    assert _sources(con, "customers") == [
        (str(drop / "Accounts_2025-03.csv"), 2),
        (str(drop / "crm_2025-04.zip/Export/Accounts_2025-04.csv"), 1),
    ]
    assert _sources(con, "orders") == [
        (str(drop / "Orders_2025-03.csv"), 2),
        (str(drop / "crm_2025-04.zip/Export/Orders.csv"), 1),
    ]
    # What no entity takes is named once, by the folder's own entity, with every reader's patterns.
    readers_shown = "customers: accounts_*; orders: Orders_*.csv, orders.csv"
    assert customers.warnings == [
        f"crm/customers/Opportunities_2025-03.csv: not read: its name matches no mapping's `files` ({readers_shown})",
        f"crm/customers/crm_2025-04.zip/Export/Opportunities.csv: not read: its name matches no mapping's `files` "
        f"({readers_shown})",
    ]
    assert orders.warnings == []


def test_a_rerun_reads_nothing_again(con, landing, drop, mappings, monkeypatch):
    _load(con, landing, CUSTOMERS, mappings)
    _load(con, landing, ORDERS, mappings)

    def unpacked(*args):
        raise AssertionError("a file of an archive loaded before was unpacked")

    monkeypatch.setattr(delivery_list, "extract_member", unpacked)
    again = [_load(con, landing, entity, mappings) for entity in (CUSTOMERS, ORDERS)]

    assert [[f.skipped for f in report.files] for report in again] == [[True, True], [True, True]]
    assert [len(_sources(con, t)) for t in ("customers", "orders")] == [2, 2]
    assert con.execute("select count(*) from raw.customers").fetchone()[0] == 3


def test_an_owner_that_does_not_know_the_other_readers_names_their_files(con, landing, drop, mappings):
    """Loading one entity alone (no `mappings`): the files the orders would take are named too, so a
    file is never passed over unseen."""
    report = ingest_landing_entity(con, CUSTOMERS, landing, rules=mappings["customers"])

    assert report.total("loaded") == 3
    assert [w.split(":")[0] for w in report.warnings] == [
        "crm/customers/Opportunities_2025-03.csv",
        "crm/customers/Orders_2025-03.csv",
        "crm/customers/crm_2025-04.zip/Export/Opportunities.csv",
        "crm/customers/crm_2025-04.zip/Export/Orders.csv",
    ]


@pytest.mark.parametrize(
    ("patterns", "archive", "member", "takes"),
    [
        ((), "a.zip", "x.csv", True),  # no patterns: every file
        (("orders*",), "crm.zip", "Export/ORDERS_1.csv", True),  # a member by its name, any case
        (("orders*",), "crm.zip", "orders/Accounts.csv", False),  # never by its folder
        (("crm_orders_*.zip",), "crm_orders_1.zip", "Accounts.csv", True),  # the archive's name: all of it
    ],
)
def test_a_reader_takes_a_member_by_its_name_or_its_archive_s(patterns, archive, member, takes):
    assert Reader("orders", patterns).takes_member(Path(archive), member) is takes


def test_a_reader_without_patterns_in_a_shared_folder_is_named(con, landing, drop, mappings):
    every = {"customers": None, "orders": mappings["orders"].mapping}

    report = ingest_landing_entity(con, CUSTOMERS, landing, mappings=every)

    assert report.warnings == [
        "customers reads every file of this folder, those of the other readers' `files` too "
        "(customers: every file; orders: Orders_*.csv, orders.csv): give the mapping of customers its own `files`"
    ]


def test_the_readers_of_a_folder(tmp_path):
    customers = parse_mapping(CUSTOMERS_MAPPING, CUSTOMERS, path=tmp_path / "customers.yml")
    orders = parse_mapping(ORDERS_MAPPING, ORDERS, path=tmp_path / "orders.yml")

    assert readers("customers", {"customers": customers, "orders": orders}) == [
        Reader("customers", ("accounts_*",)),
        Reader("orders", ("Orders_*.csv", "orders.csv")),
    ]
    # An entity without a mapping reads every file of its own folder; one reading elsewhere, none.
    assert readers("orders", {"customers": None, "orders": orders}) == []
    assert readers("customers", {"customers": None}) == [Reader("customers")]


def test_a_broken_mapping_is_left_to_its_own_entity(tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "customers.yml").write_text("entity: customers\nfiles: accounts_*\n", encoding="utf-8")
    (folder / "orders.yml").write_text("entity: orders\nfiles: [crm/orders.csv]\n", encoding="utf-8")

    mappings = load_mappings(folder)

    assert mappings["customers"].files == ("accounts_*",)
    assert "orders" not in mappings and mappings["stores"] is None


@pytest.mark.parametrize("value", ["crm/orders_*.csv", "", [], ["ok.csv", 3], "a\\b.csv"])
def test_files_gives_patterns_of_names(value):
    with pytest.raises(MappingError, match="files must give the pattern of the names"):
        parse_mapping({"files": value}, ORDERS, path=Path("orders.yml"))
