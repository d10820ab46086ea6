"""Dates written as numbers, declared in the mapping's `formats`: an API's instants in seconds or
milliseconds since 1970-01-01 UTC (`epoch_seconds`, `epoch_milliseconds`: Stripe's `created`,
HubSpot's dates), and a spreadsheet's day count from 1899-12-30 with the time as a fraction
(`excel_serial`: a General-formatted cell saved as CSV)."""

from __future__ import annotations

from datetime import datetime

import pytest

from dagster_project.contract import SUBSCRIPTIONS, SURVEY_RESPONSES
from dagster_project.ingestion.loader import load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import entity_folder, mapped_rules, write_csv, write_jsonl


def _rejects(con):
    return con.execute("select row_number, rule, column_name, reason from raw.load_rejects order by 1").fetchall()


def test_an_api_s_epoch_seconds_are_utc_instants_whatever_the_time_zone(con, landing, tmp_path):
    # Stripe's subscription objects: `created` and `canceled_at` in seconds, null while active.
    rows = [
        {"id": "sub_1", "customer": "cus_1", "created": 1700000000, "canceled_at": 1709251200.25},
        {"id": "sub_2", "customer": "cus_2", "created": 1704067200, "canceled_at": None},
        {"id": "sub_3", "customer": "cus_3", "created": "yesterday", "canceled_at": None},
        {"id": "sub_4", "customer": "cus_4", "created": 1e30, "canceled_at": None},
    ]
    path = write_jsonl(entity_folder(landing, SUBSCRIPTIONS) / "subscriptions.jsonl", rows)
    mapping = {
        "columns": {
            "subscription_id": "id",
            "customer_id": "customer",
            "started_at": "created",
            "ended_at": "canceled_at",
        },
        "formats": {"started_at": "epoch_seconds", "ended_at": "epoch_seconds"},
        "time_zone": "America/New_York",  # the export's naive times are local; an epoch is not
    }

    result = load_file(con, SUBSCRIPTIONS, path, rules=mapped_rules(tmp_path, SUBSCRIPTIONS, mapping))

    got = con.execute("select subscription_id, started_at, ended_at from raw.subscriptions order by 1").fetchall()
    assert got == [
        ("sub_1", datetime(2023, 11, 14, 22, 13, 20), datetime(2024, 3, 1, 0, 0, 0, 250000)),
        ("sub_2", datetime(2024, 1, 1, 0, 0), None),
    ]
    # text that is no number, and a number no date is, are rejected with the value delivered
    assert [(n, rule, column) for n, rule, column, _ in _rejects(con)] == [
        (3, "type", "started_at"),
        (4, "type", "started_at"),
    ]
    assert "yesterday" in _rejects(con)[0][3]
    assert (result.loaded, result.rejected) == (2, 2)
    # the delivered number stays in _extra beside the converted instant
    extra = con.execute("select json_extract_string(_extra, '$.created') from raw.subscriptions order by 1").fetchall()
    assert extra == [("1700000000",), ("1704067200",)]


def test_epoch_milliseconds(con, landing, tmp_path):
    rows = [{"id": "R1", "survey": "S1", "at": "1735689600123"}]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "r.csv", rows, ["id", "survey", "at"])
    mapping = {
        "columns": {"response_id": "id", "survey_id": "survey", "submitted_at": "at"},
        "formats": {"submitted_at": "epoch_milliseconds"},
    }

    load_file(con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, mapping))

    got = con.execute("select submitted_at from raw.survey_responses").fetchall()
    assert got == [(datetime(2025, 1, 1, 0, 0, 0, 123000),)]


def test_an_excel_serial_is_local_time_in_the_mapping_s_zone(con, landing, tmp_path):
    # 45321.75 is 30 January 2024, 18:00 on the wall clock; Paris is UTC+1 in winter.
    rows = [{"id": "R1", "survey": "S1", "at": "45321.75"}, {"id": "R2", "survey": "S1", "at": "45322"}]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "r.csv", rows, ["id", "survey", "at"])
    mapping = {
        "columns": {"response_id": "id", "survey_id": "survey", "submitted_at": "at"},
        "formats": {"submitted_at": "excel_serial"},
        "time_zone": "Europe/Paris",
    }

    load_file(con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, mapping))

    got = con.execute("select response_id, submitted_at from raw.survey_responses order by 1").fetchall()
    assert got == [("R1", datetime(2024, 1, 30, 17, 0)), ("R2", datetime(2024, 1, 30, 23, 0))]


@pytest.mark.parametrize("value", ["epoch", "unix", ""])
def test_a_format_is_a_strptime_pattern_or_a_number_format(value):
    with pytest.raises(MappingError, match="or one of epoch_seconds, epoch_milliseconds, excel_serial"):
        parse_mapping({"formats": {"submitted_at": value}}, SURVEY_RESPONSES)
