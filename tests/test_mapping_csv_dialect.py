"""CSV exports in another dialect than RFC 4180's commas: a European ERP's semicolons and decimal
commas, digits grouped by commas or apostrophes (declared in the entity's mapping), tab-separated
files (by their .tsv name), and what the error says when an undeclared separator makes the header
one column."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from dagster_project.contract import ORDERS, SURVEY_RESPONSES
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import entity_rules, load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import REPO_SEEDS as SEEDS
from deliveries import entity_folder, mapped_rules

# An ERP's order export as German and French locales write it: `;` between fields (the comma is the
# decimal separator), digits grouped by dots or (no-break) spaces, a quoted field holding a `;`.
ERP_EXPORT = (
    "Auftrag;Kunde;Datum;Betrag;Warengruppe\n"
    "A1;K1;2025-03-10 09:30:00;1.234,50;Möbel\n"
    "A2;K2;2025-03-11 10:00:00;12,5;Küche\n"
    'A3;K1;2025-03-12 11:15:00;1\u00a0050;"Bad; Sanitär"\n'
    "A4;K3;2025-03-13 12:00:00;12,3,4;Garten\n"
    "A5;K3;2025-03-14 12:00:00;12.5;Garten\n"
    "A6;K3;2025-03-15 12:00:00;-7;Garten\n"
)
MAPPING = {
    "columns": {
        "order_id": "Auftrag",
        "customer_id": "Kunde",
        "ordered_at": "Datum",
        "amount": "Betrag",
        "product_category": "Warengruppe",
    },
    "delimiter": ";",
    "decimal_separator": ",",
}


def write(landing: Path, entity, name: str, text: str) -> Path:
    path = entity_folder(landing, entity) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_semicolons_and_decimal_commas_load_as_declared(con, landing, tmp_path):
    path = write(landing, ORDERS, "erp.csv", ERP_EXPORT)

    result = load_file(con, ORDERS, path, rules=mapped_rules(tmp_path, ORDERS, MAPPING))

    rows = con.execute(
        "select order_id, amount, product_category, json_extract_string(_extra, '$.Betrag') from raw.orders order by 1"
    ).fetchall()
    assert rows == [
        ("A1", Decimal("1234.5000"), "Möbel", "1.234,50"),  # the delivered text stays in _extra
        ("A2", Decimal("12.5000"), "Küche", "12,5"),
        ("A3", Decimal("1050.0000"), "Bad; Sanitär", "1\u00a0050"),
        ("A5", Decimal("12.5000"), "Garten", "12.5"),  # a dot before one digit groups none: a decimal point
    ]
    assert (result.loaded, result.rejected) == (4, 2)
    rejected = con.execute("select row_number, rule, column_name, raw_values from raw.load_rejects order by 1")
    not_a_number, negative = rejected.fetchall()
    assert not_a_number[:3] == (4, "type", "amount")
    assert json.loads(not_a_number[3])["Betrag"] == "12,3,4"  # the row as delivered, not as converted
    assert negative[:3] == (6, "range", "amount")


def test_a_tab_separated_file_needs_no_mapping(con, landing):
    header = ["response_id", "survey_id", "submitted_at", "channel", "csat_score", "comment"]
    lines = ["\t".join(header), "\t".join(["R1", "S1", "2025-03-10T12:00:00Z", "web", "5", "fine, thanks"])]
    path = write(landing, SURVEY_RESPONSES, "export.tsv", "\n".join(lines) + "\n")

    result = load_file(con, SURVEY_RESPONSES, path, rules=entity_rules(SURVEY_RESPONSES, SEEDS))

    assert (result.loaded, result.rejected) == (1, 0)
    row = con.execute("select response_id, csat_score, comment from raw.survey_responses").fetchone()
    assert row == ("R1", 5, "fine, thanks")


def test_an_undeclared_separator_is_named_in_the_error(con, landing):
    path = write(landing, ORDERS, "erp.csv", "order_id;customer_id;ordered_at\nA1;K1;2025-03-10\n")

    with pytest.raises(ContractError, match=r"separated by ';'.*delimiter: ';'"):
        load_file(con, ORDERS, path, rules=entity_rules(ORDERS, SEEDS))


def test_without_the_decimal_separator_a_decimal_comma_is_rejected(con, landing, tmp_path):
    mapping = {key: value for key, value in MAPPING.items() if key != "decimal_separator"}
    path = write(landing, ORDERS, "erp.csv", ERP_EXPORT)

    result = load_file(con, ORDERS, path, rules=mapped_rules(tmp_path, ORDERS, mapping))

    assert result.loaded == 1 and result.rejects_by_rule == {"range": 1, "type": 4}  # only 12.5 reads


# Amounts as US, Indian and Swiss systems group their digits, with decimal points.
GROUPED_AMOUNTS = [
    ("A1", "1,234.50", ",", "1234.5000"),
    ("A2", "1,23,456.75", ",", "123456.7500"),  # lakh grouping
    ("A3", "1234.5", ",", "1234.5000"),  # not grouped: as delivered
    ("A4", "12,5", ",", None),  # not groups of three: a type reject, never 125
    ("A5", "$1,234.50", ",", None),  # a currency sign is not the separator's to remove
    ("A6", "1'234'567.25", "'", "1234567.2500"),
    ("A7", "1\u2019234.25", "'", "1234.2500"),  # the typographic apostrophe
    ("A8", "1\u00a0234.25", " ", "1234.2500"),  # a no-break space
]


@pytest.mark.parametrize(("order_id", "text", "separator", "expected"), GROUPED_AMOUNTS)
def test_a_declared_thousands_separator_reads_grouped_numbers(
    con, landing, tmp_path, order_id, text, separator, expected
):
    lines = ["order_id,customer_id,ordered_at,amount", f'{order_id},K1,2025-03-10 09:30:00,"{text}"']
    path = write(landing, ORDERS, "us.csv", "\n".join(lines) + "\n")
    mapping = {"thousands_separator": "space" if separator == " " else separator}

    result = load_file(con, ORDERS, path, rules=mapped_rules(tmp_path, ORDERS, mapping))

    if expected is None:
        assert result.rejects_by_rule == {"type": 1}
    else:
        row = con.execute("select amount, json_extract_string(_extra, '$.amount') from raw.orders").fetchone()
        assert row == (Decimal(expected), text)  # the delivered text stays in _extra


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"delimiter": ";;"}, "delimiter must be one character"),
        ({"delimiter": '"'}, "delimiter must be one character"),
        ({"delimiter": 59}, "delimiter must be one character"),
        ({"decimal_separator": ";"}, "decimal_separator must be '.' or ','"),
        ({"thousands_separator": "."}, "thousands_separator must be ','"),
        ({"thousands_separator": ",", "decimal_separator": ","}, "thousands_separator goes with decimal points"),
    ],
)
def test_bad_dialect_keys_are_refused(data, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(data, ORDERS)


@pytest.mark.parametrize("value", ["tab", "\\t", "\t"])
def test_a_tab_can_be_declared_by_name(value):
    assert parse_mapping({"delimiter": value}, ORDERS).delimiter == "\t"
