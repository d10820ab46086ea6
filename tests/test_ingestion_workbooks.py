"""Workbooks (Excel's .xlsx and .xls, OpenDocument's .ods) as landing files: typed cells read as a
CSV export of the sheet would hold them, the mapping's `sheet`, blank and formatting-only rows,
Office's lock files, broken workbooks."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from dagster_project.contract import ORDERS
from dagster_project.ingestion.files import ContractError, scan_entity
from dagster_project.ingestion.loader import entity_rules, load_file

from deliveries import REPO_SEEDS as SEEDS
from deliveries import entity_folder, mapped_rules, write_workbook

HEADER = ["order_id", "customer_id", "ordered_at", "status", "amount", "currency"]
ORDERS_SHEET = [
    HEADER,
    [536365, 17850, datetime(2010, 12, 1, 8, 26), "completed", 139.12, "GBP"],  # numbers as numbers
    ["536366", "17850", "2010-12-01 08:28:00", "completed", 3 * 7.4, "GBP"],  # text; a product saved
    # as 22.200000000000003, which Excel holds (15 digits) and shows as 22.2
    [None] * 6,  # a blank row: skipped, as a blank CSV line is
    [536367, 13047, datetime(2010, 12, 1, 8, 34, 5), "refunded", -278.73, "GBP"],  # breaks amount >= 0
    [536368, 13047, datetime(2010, 12, 1, 8, 34), "completed", 70, None, None, None],  # empty cells past it
    [536369, 13047, datetime(2010, 12, 1, 8, 35), "completed", 5, "GBP", None, "note"],  # a value past it
]


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".ods"])
def test_a_workbook_loads_its_first_sheet_like_a_csv_export(con, landing, suffix):
    path = write_workbook(entity_folder(landing, ORDERS) / f"orders{suffix}", {"Orders": ORDERS_SHEET})

    result = load_file(con, ORDERS, path, rules=entity_rules(ORDERS, SEEDS))

    rows = con.execute(
        "select order_id, customer_id, ordered_at, amount, currency, _row_number from raw.orders order by 1"
    ).fetchall()
    assert rows == [
        ("536365", "17850", datetime(2010, 12, 1, 8, 26), Decimal("139.1200"), "GBP", 1),
        ("536366", "17850", datetime(2010, 12, 1, 8, 28), Decimal("22.2000"), "GBP", 2),
        ("536368", "13047", datetime(2010, 12, 1, 8, 34), Decimal("70.0000"), None, 4),
    ]
    assert (result.delivered, result.loaded, result.rejected) == (5, 3, 2)
    assert con.execute("select row_number, rule, column_name from raw.load_rejects order by 1").fetchall() == [
        (3, "range", "amount"),  # the sheet's third data row (the blank row is not one)
        (5, "malformed", None),  # more fields than the header, as the CSV line would have
    ]
    manifest = con.execute("select file_format from raw.load_manifest").fetchall()
    assert manifest == [(suffix.lstrip("."),)]


def test_long_numeric_ids_keep_every_digit(con, landing):
    """Ids typed as numbers in Excel: 16 digits are exact in a double, and two of them differing in
    the last digit stay two orders (15 significant digits would have made them one key)."""
    sheet = [HEADER[:3], [1234567890123456, 1, datetime(2024, 1, 1)], [1234567890123457, 1, datetime(2024, 1, 2)]]
    path = write_workbook(entity_folder(landing, ORDERS) / "ids.xlsx", {"Orders": sheet})

    result = load_file(con, ORDERS, path, rules=entity_rules(ORDERS, SEEDS))

    assert (result.loaded, result.rejected) == (2, 0)
    ids = con.execute("select order_id from raw.orders order by 1").fetchall()
    assert ids == [("1234567890123456",), ("1234567890123457",)]


@pytest.mark.parametrize("suffix", [".xlsx", ".xls", ".ods"])
def test_the_mapping_names_the_sheet(con, landing, tmp_path, suffix):
    cover = [["Orders export"], ["generated", datetime(2024, 1, 2)]]
    renamed = [["Invoice", "Customer", "Date"], [1, 2, datetime(2024, 1, 1, 9, 0)]]
    path = write_workbook(entity_folder(landing, ORDERS) / f"o{suffix}", {"Cover": cover, "Data": renamed})
    mapping = {"columns": {"order_id": "Invoice", "customer_id": "Customer", "ordered_at": "Date"}, "sheet": "Data"}

    load_file(con, ORDERS, path, rules=mapped_rules(tmp_path, ORDERS, mapping))

    assert con.execute("select order_id, customer_id, ordered_at from raw.orders").fetchall() == [
        ("1", "2", datetime(2024, 1, 1, 9, 0))
    ]


def test_a_sheet_the_workbook_lacks_is_named_with_the_sheets_it_has(con, landing, tmp_path):
    path = write_workbook(entity_folder(landing, ORDERS) / "o.xlsx", {"Cover": [["x"]], "Data": ORDERS_SHEET})
    with pytest.raises(ContractError, match=r"o\.xlsx: no sheet 'Orders'.*its sheets: Cover, Data"):
        load_file(con, ORDERS, path, rules=mapped_rules(tmp_path, ORDERS, {"sheet": "Orders"}))


def test_a_broken_workbook_is_refused_naming_the_file(con, landing):
    path = entity_folder(landing, ORDERS) / "broken.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ContractError, match=r"broken\.xlsx: not a readable xlsx workbook"):
        load_file(con, ORDERS, path, rules=entity_rules(ORDERS, SEEDS))


def test_office_lock_files_beside_a_workbook_are_not_deliveries(landing):
    folder = entity_folder(landing, ORDERS)
    write_workbook(folder / "orders.xlsx", {"Orders": ORDERS_SHEET})
    (folder / "~$orders.xlsx").write_bytes(b"\x0bsomeone   ")  # Office's owner file while it is open

    scan = scan_entity(landing, ORDERS)

    assert [p.name for p in scan.files] == ["orders.xlsx"] and scan.warnings == []
