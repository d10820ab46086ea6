"""API exports that wrap a page of records in a document (`{"tickets": [...], "next_page": ...}`,
`{"data": {"items": [...]}}`): the mapping's `records` names where the array is, and its elements
load as the elements of a bare array do, numbered by their position."""

from __future__ import annotations

import gzip
import json

import pytest

from dagster_project.contract import ORDERS
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import entity_rules, ingest_landing_entity, load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import REPO_SEEDS as SEEDS
from deliveries import entity_folder, mapped_rules, write_jsonl


def order(order_id: str, **extra) -> dict:
    return {"order_id": order_id, "customer_id": "C1", "ordered_at": "2025-01-01T10:00:00Z", **extra}


def write_page(landing, name: str, document) -> object:
    path = entity_folder(landing, ORDERS) / name
    text = json.dumps(document, indent=2).encode("utf-8")
    path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    return path


def test_the_records_member_of_a_page_loads_a_row_per_element(con, landing, tmp_path):
    elements = [order("A1", amount=12.5), 7, order("A2", status="pigeon"), order("A3")]
    page = {"count": 4, "orders": elements, "next_page": "https://api.example.com/orders?page=2"}
    path = write_page(landing, "orders-page-1.json", page)

    result = load_file(con, ORDERS, path, rules=mapped_rules(tmp_path, ORDERS, {"records": "orders"}))

    assert (result.delivered, result.loaded, result.rejected) == (4, 2, 2)
    rows = con.execute("select order_id, amount, _row_number from raw.orders order by 1").fetchall()
    assert rows == [("A1", 12.5, 1), ("A3", None, 4)]
    rejects = con.execute("select row_number, rule from raw.load_rejects order by 1").fetchall()
    assert rejects == [(2, "malformed"), (3, "enum")]
    assert con.execute("select file_format from raw.load_manifest").fetchall() == [("json",)]


def test_pages_with_a_nested_array_load_together_each_numbered_on_its_own(con, landing, tmp_path):
    write_page(landing, "p1.json", {"data": {"items": [order("A1"), order("A2")]}, "meta": {"page": 1}})
    write_page(landing, "p2.json.gz", {"data": {"items": [order("B1"), order("B2", status="pigeon")]}})
    write_jsonl(entity_folder(landing, ORDERS) / "backfill.jsonl", [order("C1")])  # lines stay lines

    rules = mapped_rules(tmp_path, ORDERS, {"records": ["data", "items"]})
    report = ingest_landing_entity(con, ORDERS, landing, rules=rules)

    assert not report.errors
    rows = con.execute("select order_id, _row_number from raw.orders order by 1").fetchall()
    assert rows == [("A1", 1), ("A2", 2), ("B1", 1), ("C1", 1)]
    reject = con.execute("select source_file, row_number, rule from raw.load_rejects").fetchone()
    assert reject[0].endswith("p2.json.gz") and reject[1:] == (2, "enum")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"tickets": [order("A1")], "count": 1}, r"`records` \(orders\) lead to nothing.*members: tickets, count"),
        ({"orders": {"A1": order("A1")}}, r"`records` \(orders\) lead to a JSON object, not an array"),
        ([order("A1")], r"`records` \(orders\) lead to nothing.*members: \(none: not an object\)"),
    ],
)
def test_a_document_without_the_array_is_refused_saying_what_it_holds(con, landing, tmp_path, document, message):
    path = write_page(landing, "orders.json", document)

    with pytest.raises(ContractError, match=f"orders.json: the mapping's {message}"):
        load_file(con, ORDERS, path, rules=mapped_rules(tmp_path, ORDERS, {"records": "orders"}))


def test_a_broken_page_is_refused_whole_and_the_others_load(con, landing, tmp_path):
    write_page(landing, "p1.json", {"orders": [order("A1")]})
    broken = write_page(landing, "p2.json", {"orders": [order("B1"), order("B2")]})
    broken.write_text(broken.read_text(encoding="utf-8")[:-20], encoding="utf-8")

    report = ingest_landing_entity(con, ORDERS, landing, rules=mapped_rules(tmp_path, ORDERS, {"records": "orders"}))

    assert len(report.errors) == 1 and "p2.json" in report.errors[0] and "Malformed JSON" in report.errors[0]
    assert con.execute("select order_id from raw.orders").fetchall() == [("A1",)]


@pytest.mark.parametrize("value", [5, ["data", 3], {"data": "items"}, [""]])
def test_records_names_members(value):
    with pytest.raises(MappingError, match="records must name the member"):
        parse_mapping({"records": value}, ORDERS)


@pytest.mark.parametrize("indent", [None, 2])
def test_without_records_a_page_is_refused_naming_the_key(con, landing, indent):
    path = entity_folder(landing, ORDERS) / "orders.json"
    path.write_text(json.dumps({"orders": [order("A1")], "next_page": None}, indent=indent), encoding="utf-8")

    with pytest.raises(ContractError, match=r"orders\.json: .*name that member as `records`"):
        load_file(con, ORDERS, path, rules=entity_rules(ORDERS, SEEDS))
