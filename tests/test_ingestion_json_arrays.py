"""A `.json` file that is one array of objects (what APIs and survey tools' exports return) loads
as JSON Lines do: a row per element, numbered by its position; a broken document is refused whole."""

from __future__ import annotations

import json

import pytest

from dagster_project.contract import ORDERS
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import entity_rules, ingest_landing_entity, load_file

from deliveries import REPO_SEEDS as SEEDS
from deliveries import entity_folder, write_jsonl


def order(order_id: str, **extra) -> dict:
    return {"order_id": order_id, "customer_id": "C1", "ordered_at": "2025-01-01T10:00:00Z", **extra}


def write_array(landing, name: str, elements: list, indent: int | None = 2):
    path = entity_folder(landing, ORDERS) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(elements, indent=indent), encoding="utf-8")
    return path


def test_an_array_of_objects_loads_a_row_per_element(con, landing):
    elements = [order("A1", amount=12.5, meta={"tags": ["x"]}), 7, order("A2"), [1], order("A3", status="pigeon")]
    path = write_array(landing, "orders.json", elements)

    result = load_file(con, ORDERS, path, rules=entity_rules(ORDERS, SEEDS))

    assert (result.delivered, result.loaded, result.rejected) == (5, 2, 3)
    rows = con.execute("select order_id, amount, _row_number, _extra from raw.orders order by 1").fetchall()
    assert [r[:3] for r in rows] == [("A1", 12.5, 1), ("A2", None, 3)]
    assert json.loads(json.loads(rows[0][3])["meta"]) == {"tags": ["x"]}  # unmapped members stay in _extra
    rejects = con.execute("select row_number, rule, reason from raw.load_rejects order by 1").fetchall()
    assert [(n, rule) for n, rule, _ in rejects] == [(2, "malformed"), (4, "malformed"), (5, "enum")]
    assert "malformed JSON array element: a JSON number, not an object" in rejects[0][2]
    assert con.execute("select file_format from raw.load_manifest").fetchall() == [("json",)]


def test_json_lines_named_json_still_load_as_lines(con, landing):
    path = write_jsonl(entity_folder(landing, ORDERS) / "orders.json", [order("A1"), order("A2")])

    result = load_file(con, ORDERS, path, rules=entity_rules(ORDERS, SEEDS))

    assert (result.loaded, result.rejected) == (2, 0)
    assert con.execute("select file_format from raw.load_manifest").fetchall() == [("jsonl",)]


@pytest.mark.parametrize("broken", ["truncated", "bad element"])
def test_a_broken_array_is_refused_whole_naming_the_file(con, landing, broken):
    text = json.dumps([order(f"A{i}") for i in range(5)], indent=2)
    path = write_array(landing, "orders.json", [])
    path.write_text(text[: len(text) // 2] if broken == "truncated" else text.replace('"A3"', "A3"), encoding="utf-8")

    report = ingest_landing_entity(con, ORDERS, landing, rules=entity_rules(ORDERS, SEEDS))

    assert len(report.errors) == 1 and "orders.json" in report.errors[0] and "Malformed JSON" in report.errors[0]
    assert con.execute("select count(*) from raw.orders").fetchone() == (0,)  # nothing of it loaded


@pytest.mark.parametrize(("name", "text"), [("empty.json", "[]"), ("blank.jsonl", "\n\n"), ("scalars.json", "[1, 2]")])
def test_a_json_file_without_objects_is_refused_as_nothing_to_load(con, landing, name, text):
    path = entity_folder(landing, ORDERS) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match=f"{name}: no JSON object with members .* nothing to load"):
        load_file(con, ORDERS, path, rules=entity_rules(ORDERS, SEEDS))
