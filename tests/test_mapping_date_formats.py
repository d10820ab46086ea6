"""A date or timestamp column written in several ways (`formats` as a list): an export edited by
hand, or one whose tool changed its date setting, mixes `3/5/2025 14:22` with `2025-03-06 09:00:00`.
The first pattern that reads a value wins; text none reads is a `type` reject with its text."""

from __future__ import annotations

from datetime import datetime

import pytest

from dagster_project.contract import SURVEY_RESPONSES
from dagster_project.ingestion.loader import load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import entity_folder, mapped_rules, write_csv

COLUMNS = {"response_id": "id", "survey_id": "survey", "submitted_at": "at"}


def test_each_value_is_read_by_the_first_pattern_that_reads_it(con, landing, tmp_path):
    rows = [
        {"id": "R1", "survey": "S1", "at": "3/5/2025 14:22"},
        {"id": "R2", "survey": "S1", "at": "2025-03-06 09:00:00"},
        {"id": "R3", "survey": "S1", "at": "yesterday"},
    ]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "r.csv", rows, ["id", "survey", "at"])
    mapping = {
        "columns": COLUMNS,
        "formats": {"submitted_at": ["%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S"]},
        "time_zone": "America/New_York",  # UTC-5 in early March
    }

    result = load_file(con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, mapping))

    assert (result.loaded, result.rejected) == (2, 1)
    got = con.execute("select response_id, submitted_at, _extra->>'at' from raw.survey_responses order by 1")
    assert got.fetchall() == [
        ("R1", datetime(2025, 3, 5, 19, 22), "3/5/2025 14:22"),
        ("R2", datetime(2025, 3, 6, 14, 0), "2025-03-06 09:00:00"),
    ]
    reject = con.execute("select row_number, rule, column_name, reason from raw.load_rejects").fetchall()
    assert [r[:3] for r in reject] == [(3, "type", "submitted_at")] and "yesterday" in reject[0][3]


def test_day_and_month_in_both_orders_are_refused():
    with pytest.raises(MappingError, match=r"%d/%m/%Y and %m/%d/%Y read 03/05 both as 3 May and as 5 March"):
        parse_mapping({"formats": {"submitted_at": ["%d/%m/%Y", "%m/%d/%Y"]}}, SURVEY_RESPONSES)


def test_a_list_of_patterns_in_one_order_of_day_and_month_is_taken():
    mapping = parse_mapping({"formats": {"submitted_at": ["%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y"]}}, SURVEY_RESPONSES)
    assert mapping.formats == {"submitted_at": ("%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y")}


@pytest.mark.parametrize("value", [[], ["epoch_seconds", "%Y-%m-%d"], ["%Y-%m-%d", 7]])
def test_a_list_holds_strptime_patterns_only(value):
    with pytest.raises(MappingError, match="a list of them tried in order"):
        parse_mapping({"formats": {"submitted_at": value}}, SURVEY_RESPONSES)
