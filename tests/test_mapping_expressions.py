"""Contract columns computed from an export's columns by the mapping's `expressions` (DuckDB SQL):
a date and a time delivered apart, a name in two columns, a subscription start from a tenure."""

from __future__ import annotations

from datetime import datetime

import pytest

from dagster_project.contract import CUSTOMERS, ORDERS, SUBSCRIPTIONS
from dagster_project.ingestion.loader import ingest_landing_entity, load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import entity_folder, mapped_rules, write_csv


def test_a_date_and_a_time_in_two_columns_make_one_timestamp_in_local_time(con, landing, tmp_path):
    mapping = {
        "columns": {"order_id": "Receipt", "customer_id": "Member"},
        "expressions": {"ordered_at": "\"Day\" || ' ' || coalesce(\"Time\", '00:00')"},
        "time_zone": "Europe/Berlin",  # applies to what the expression gives
    }
    rows = [
        {"Receipt": "R1", "Member": "M1", "Day": "2025-03-10", "Time": "09:30"},
        {"Receipt": "R2", "Member": "M2", "Day": "2025-07-01", "Time": None},
        {"Receipt": "R3", "Member": "M3", "Day": "soon", "Time": "10:00"},
    ]
    path = write_csv(entity_folder(landing, ORDERS) / "pos.csv", rows, ["Receipt", "Member", "Day", "Time"])

    result = load_file(con, ORDERS, path, rules=mapped_rules(tmp_path, ORDERS, mapping))

    got = con.execute("select order_id, ordered_at, _extra from raw.orders order by 1").fetchall()
    assert [g[:2] for g in got] == [
        ("R1", datetime(2025, 3, 10, 8, 30)),  # CET is UTC+1
        ("R2", datetime(2025, 6, 30, 22, 0)),  # CEST is UTC+2: local midnight
    ]
    assert '"Day":"2025-03-10"' in got[0][2].replace(" ", "")  # the inputs stay in _extra
    assert (result.loaded, result.rejected) == (2, 1)
    assert con.execute("select row_number, rule, column_name from raw.load_rejects").fetchall() == [
        (3, "type", "ordered_at")  # what the expression gave meets the contract's rules
    ]


def test_a_name_in_two_columns_is_one_personal_column(con, landing, tmp_path):
    mapping = {
        "columns": {"customer_id": "Id"},
        "expressions": {"full_name": "concat_ws(' ', nullif(trim(\"First\"), ''), nullif(trim(\"Last\"), ''))"},
    }
    rows = [{"Id": "C1", "First": "Ada", "Last": "Lovelace"}, {"Id": "C2", "First": " ", "Last": "Hopper"}]
    path = write_csv(entity_folder(landing, CUSTOMERS) / "crm.csv", rows, ["Id", "First", "Last"])

    load_file(con, CUSTOMERS, path, rules=mapped_rules(tmp_path, CUSTOMERS, mapping))

    names = con.execute("select customer_id, full_name from raw.customers order by 1").fetchall()
    assert names == [("C1", "Ada Lovelace"), ("C2", "Hopper")]
    delivered = con.execute("select column_name from raw.delivered_columns where entity = 'customers'").fetchall()
    assert {c for (c,) in delivered} == {"customer_id", "full_name"}


def test_a_churn_snapshot_s_tenure_gives_the_subscription_dates(con, landing, tmp_path):
    """The public telco churn layout: months of tenure and a churn flag at the snapshot's date."""
    mapping = {
        "columns": {"subscription_id": "customerID", "customer_id": "customerID", "mrr": "MonthlyCharges"},
        "expressions": {
            "started_at": "date '2024-06-30' - to_months(try_cast(tenure as integer))",
            "ended_at": "case when Churn = 'Yes' then date '2024-06-30' end",
        },
    }
    rows = [
        {"customerID": "7590-VHVEG", "tenure": "1", "MonthlyCharges": "29.85", "Churn": "No"},
        {"customerID": "3668-QPYBK", "tenure": "2", "MonthlyCharges": "53.85", "Churn": "Yes"},
        {"customerID": "4472-LVYGI", "tenure": " ", "MonthlyCharges": "52.55", "Churn": "No"},
    ]
    header = ["customerID", "tenure", "MonthlyCharges", "Churn"]
    path = write_csv(entity_folder(landing, SUBSCRIPTIONS) / "telco.csv", rows, header)

    result = load_file(con, SUBSCRIPTIONS, path, rules=mapped_rules(tmp_path, SUBSCRIPTIONS, mapping))

    got = con.execute("select subscription_id, started_at, ended_at from raw.subscriptions order by 1").fetchall()
    assert got == [
        ("3668-QPYBK", datetime(2024, 4, 30), datetime(2024, 6, 30)),
        ("7590-VHVEG", datetime(2024, 5, 30), None),
    ]
    assert result.rejects_by_rule == {"required": 1}  # no tenure: no start, a reject, not a made-up date


def test_an_expression_over_a_column_the_file_lacks_names_the_key(con, landing, tmp_path):
    mapping = {"columns": {"order_id": "Receipt", "customer_id": "Member"}, "expressions": {"ordered_at": '"Dat"'}}
    rows = [{"Receipt": "R1", "Member": "M1", "Day": "2025-03-10"}]
    write_csv(entity_folder(landing, ORDERS) / "pos.csv", rows, ["Receipt", "Member", "Day"])

    report = ingest_landing_entity(con, ORDERS, landing, rules=mapped_rules(tmp_path, ORDERS, mapping))

    assert len(report.errors) == 1
    assert "pos.csv" in report.errors[0] and "orders.yml: expressions: ordered_at" in report.errors[0]
    assert '"Dat" not found' in report.errors[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"columns": {"order_id": "A"}, "expressions": {"order_id": "B"}}, "order_id is also mapped"),
        ({"expressions": {"ordered_at": " "}}, "give a SQL expression"),
        ({"expressions": {"when": "1"}}, "'when' is not a column"),
    ],
)
def test_bad_expressions_are_refused_naming_the_key(data, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(data, ORDERS)
