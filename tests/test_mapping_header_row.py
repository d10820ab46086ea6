"""Reports exported with a title above the column names: the mapping's `header_row` names the CSV
line or the sheet row that holds them, the lines above are skipped, and rows keep their numbers
among the data records (a reject names the record, as in any other file)."""

from __future__ import annotations

from datetime import datetime

import pytest

from dagster_project.contract import SURVEY_RESPONSES
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import entity_rules, ingest_landing_entity, load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import REPO_SEEDS as SEEDS
from deliveries import entity_folder, mapped_rules, write_workbook

HEADER = ["response_id", "survey_id", "submitted_at", "channel", "csat_score", "comment"]
# A BI tool's report: a title, its filters (with commas and a quoted comma), a blank line, then the
# column names on line 4. A title line's fields say nothing about the columns below.
TITLE = 'Customer satisfaction - responses\nFilters:,"channel = web, email",period = 2025-03\n\n'
RECORDS = [
    "R1,S1,2025-03-10T12:00:00Z,web,5,fine",
    "R2,S1,2025-03-10T13:00:00Z,web",  # record 2: two fields short
    "R3,S1,2025-03-11T09:00:00Z,email,9,too high",  # record 3: outside the 1-5 scale
    "R4,S1,2025-03-11T10:00:00Z,email,4,",
]


def report(landing, name: str, records: list[str]):
    path = entity_folder(landing, SURVEY_RESPONSES) / name
    path.write_text(TITLE + ",".join(HEADER) + "\n" + "\n".join(records) + "\n", encoding="utf-8")
    return path


def test_lines_above_the_header_row_are_skipped(con, landing, tmp_path):
    path = report(landing, "responses.csv", RECORDS)

    result = load_file(con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, {"header_row": 4}))

    rows = con.execute("select response_id, csat_score, _row_number from raw.survey_responses order by 1").fetchall()
    assert rows == [("R1", 5, 1), ("R4", 4, 4)]
    assert (result.delivered, result.loaded, result.rejected) == (4, 2, 2)
    rejects = con.execute("select row_number, rule, column_name from raw.load_rejects order by 1").fetchall()
    assert rejects == [(2, "malformed", None), (3, "range", "csat_score")]


def test_files_of_one_report_load_together_with_their_own_row_numbers(con, landing, tmp_path):
    report(landing, "2025-03-a.csv", RECORDS)
    report(landing, "2025-03-b.csv", ["R5,S1,2025-03-12T08:00:00Z,web", "R6,S1,2025-03-12T09:00:00Z,web,3,ok"])

    rules = mapped_rules(tmp_path, SURVEY_RESPONSES, {"header_row": 4})
    loaded = ingest_landing_entity(con, SURVEY_RESPONSES, landing, rules=rules)

    assert not loaded.errors
    rejects = con.execute("select source_file, row_number, rule from raw.load_rejects order by 1, 2").fetchall()
    assert [(file.rsplit("/", 1)[-1], row, rule) for file, row, rule in rejects] == [
        ("2025-03-a.csv", 2, "malformed"),
        ("2025-03-a.csv", 3, "range"),
        ("2025-03-b.csv", 1, "malformed"),
    ]
    rows = con.execute("select response_id, _row_number from raw.survey_responses order by 1").fetchall()
    assert rows == [("R1", 1), ("R4", 4), ("R6", 2)]


def test_without_header_row_the_error_names_the_title_and_the_key(con, landing):
    path = report(landing, "responses.csv", RECORDS)

    with pytest.raises(ContractError, match=r"'Customer satisfaction - responses' is a title.*`header_row`"):
        load_file(con, SURVEY_RESPONSES, path, rules=entity_rules(SURVEY_RESPONSES, SEEDS))


def test_a_workbook_report_names_its_header_row(con, landing, tmp_path):
    sheet = [
        ["Customer satisfaction - responses"],
        [None],
        ["Filters:", "channel = web", None, None, None, None, None, "printed 2025-03-31"],  # wider
        HEADER,
        ["R1", "S1", datetime(2025, 3, 10, 12), "web", 5, "fine"],
        [None] * 6,  # a blank row: no record, as a blank CSV line
        ["R2", "S1", datetime(2025, 3, 10, 13), "web", 9, None],
    ]
    path = write_workbook(entity_folder(landing, SURVEY_RESPONSES) / "report.xlsx", {"Responses": sheet})

    result = load_file(con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, {"header_row": 4}))

    rows = con.execute("select response_id, submitted_at, csat_score from raw.survey_responses").fetchall()
    assert rows == [("R1", datetime(2025, 3, 10, 12), 5)]
    assert (result.loaded, result.rejected) == (1, 1)
    assert con.execute("select row_number, rule from raw.load_rejects").fetchall() == [(2, "range")]


def test_a_blank_header_row_in_a_workbook_is_named(con, landing, tmp_path):
    path = write_workbook(entity_folder(landing, SURVEY_RESPONSES) / "report.xlsx", {"R": [["Title"], [None], HEADER]})

    with pytest.raises(ContractError, match=r"report\.xlsx: row 2 of the sheet, the mapping's `header_row`, is blank"):
        load_file(con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, {"header_row": 2}))


@pytest.mark.parametrize("value", [0, -1, "4", 2.5, True])
def test_header_row_is_a_line_number(value):
    with pytest.raises(MappingError, match="header_row must be the number of the line"):
        parse_mapping({"header_row": value}, SURVEY_RESPONSES)
