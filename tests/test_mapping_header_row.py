"""Exports with more than column names and records: a report's title above the column names (the
mapping's `header_row` names the CSV line or the sheet row that holds them), names over several rows
(`header_rows`), a survey tool's rows describing the columns under them (`skip_rows_after_header`)
and a report's footer (`skip_footer_rows`). Those lines are left out, and rows keep their numbers
among the data records (a reject names the record, as in any other file)."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import datetime

import pytest

from dagster_project.contract import SURVEY_ITEM_SCORES, SURVEY_RESPONSES
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.header_rows import joined_names
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


# Qualtrics' CSV export: the column ids, then a row of question texts and a row of import ids
# (JSON in quotes) before the first response. Items TAN1.. are on a 1-7 scale (the repo's seeds).
QUALTRICS = [
    "StartDate,ResponseId,Q1_1,Q1_2",
    'Start Date,Response ID,"Rate us - Modern equipment","Rate us - Appealing facilities"',
    '"{""ImportId"":""startDate""}","{""ImportId"":""_recordId""}","{""ImportId"":""QID1_1""}","{""ImportId"":""QID1_2""}"',
    "2025-03-10 12:00:00,R_1,5,7",
    "2025-03-10 13:00:00,R_2,9",  # record 2: a field short
    "2025-03-10 14:00:00,R_3,8,",  # record 3: TAN1 off the scale, TAN2 unanswered
]
QUALTRICS_MAPPING = {
    "columns": {"response_id": "ResponseId"},
    "item_columns": {"perception_score": {"Q1_1": "TAN1", "Q1_2": "TAN2"}},
    "skip_rows_after_header": 2,
}


@pytest.mark.parametrize("layout", ["csv", "xlsx"])
def test_rows_describing_the_columns_are_no_records(con, landing, tmp_path, layout):
    folder = entity_folder(landing, SURVEY_ITEM_SCORES)
    if layout == "csv":
        path = folder / "qualtrics.csv"
        path.write_text("\n".join(QUALTRICS) + "\n", encoding="utf-8")
        malformed = [(2, "malformed", None)]
    else:  # the same export as a workbook, where a short row is no malformed line
        rows = [next(csv.reader([line])) for line in QUALTRICS]
        path = write_workbook(folder / "qualtrics.xlsx", {"Export": rows})
        malformed = []
    rules = mapped_rules(tmp_path, SURVEY_ITEM_SCORES, QUALTRICS_MAPPING)

    result = load_file(con, SURVEY_ITEM_SCORES, path, rules=rules)

    got = con.execute(
        "select response_id, item_code, perception_score, _row_number from raw.survey_item_scores order by 1, 2"
    ).fetchall()
    assert got == [("R_1", "TAN1", 5, 1), ("R_1", "TAN2", 7, 1)]
    rejects = con.execute("select row_number, rule, column_name from raw.load_rejects order by 1, 2").fetchall()
    off_scale = [(2, "range", "perception_score")] if layout == "xlsx" else []
    assert rejects == malformed + off_scale + [(3, "range", "perception_score")]
    assert result.rejected == len(rejects)


@pytest.mark.parametrize("value", [-1, "2", 1.5, False])
def test_skip_rows_after_header_is_a_count(value):
    with pytest.raises(MappingError, match="skip_rows_after_header must be the number of rows"):
        parse_mapping({"skip_rows_after_header": value}, SURVEY_ITEM_SCORES)


# SurveyMonkey's export: questions in the first row (a matrix question over its first column only),
# what each column holds in the second.
SURVEYMONKEY = [
    ["Respondent ID", "Start Date", "How likely are you to recommend us?", "Please rate us:", "", "Comments"],
    ["", "", "Response", "Modern equipment", "Appealing facilities", "Open-Ended Response"],
    ["114", "2025-03-10 12:00:00", "9", "5", "7", "great, thanks"],
    ["115", "2025-03-11 09:30:00", "11", "", "3", ""],  # 11 is off the 0-10 scale
]
SURVEYMONKEY_RESPONSES = {
    "columns": {
        "response_id": "Respondent ID",
        "submitted_at": "Start Date",
        "likelihood_to_recommend": "How likely are you to recommend us? - Response",
        "comment": "Comments - Open-Ended Response",
    },
    "constants": {"survey_id": "S1"},
    "header_rows": 2,
}
SURVEYMONKEY_ITEMS = {
    "columns": {"response_id": "Respondent ID"},
    "item_columns": {
        "perception_score": {
            "Please rate us: - Modern equipment": "TAN1",
            "Please rate us: - Appealing facilities": "TAN2",
        }
    },
    "header_rows": 2,
}


def test_joined_names_carry_a_heading_over_the_columns_under_it():
    assert joined_names(SURVEYMONKEY[:2]) == [
        "Respondent ID",
        "Start Date",
        "How likely are you to recommend us? - Response",
        "Please rate us: - Modern equipment",
        "Please rate us: - Appealing facilities",
        "Comments - Open-Ended Response",
    ]
    assert joined_names([["a", "", ""], ["", "", "c"], ["x"]]) == ["a - x", "", "a - c"]  # "" names nothing


@pytest.mark.parametrize("layout", ["csv", "csv.gz", "xlsx"])
def test_two_header_rows_name_the_columns_together(con, landing, tmp_path, layout):
    rows = [["SurveyMonkey export"], [], *SURVEYMONKEY]  # a title too: header_row 3
    responses = entity_folder(landing, SURVEY_RESPONSES) / f"monkey.{layout}"
    if layout == "xlsx":
        write_workbook(responses, {"Export": rows})
    else:
        lines = io.StringIO()
        csv.writer(lines, lineterminator="\n").writerows(rows)
        data = lines.getvalue().encode("utf-8")
        responses.write_bytes(gzip.compress(data) if layout.endswith(".gz") else data)
    items = entity_folder(landing, SURVEY_ITEM_SCORES) / responses.name
    items.write_bytes(responses.read_bytes())

    answered = load_file(
        con,
        SURVEY_RESPONSES,
        responses,
        rules=mapped_rules(tmp_path, SURVEY_RESPONSES, {**SURVEYMONKEY_RESPONSES, "header_row": 3}),
    )
    scored = load_file(
        con,
        SURVEY_ITEM_SCORES,
        items,
        rules=mapped_rules(tmp_path, SURVEY_ITEM_SCORES, {**SURVEYMONKEY_ITEMS, "header_row": 3}),
    )

    got = con.execute("select response_id, likelihood_to_recommend, comment, _row_number from raw.survey_responses")
    assert got.fetchall() == [("114", 9, "great, thanks", 1)]
    assert con.execute(
        "select row_number, rule from raw.load_rejects where entity = 'survey_responses'"
    ).fetchall() == [(2, "range")]
    scores = con.execute("select response_id, item_code, perception_score from raw.survey_item_scores order by 1, 2")
    assert scores.fetchall() == [("114", "TAN1", 5), ("114", "TAN2", 7), ("115", "TAN2", 3)]
    assert (answered.delivered, scored.delivered, scored.rejected) == (2, 3, 0)


def test_a_malformed_line_under_joined_header_rows_keeps_its_row_number(con, landing, tmp_path):
    lines = io.StringIO()
    csv.writer(lines, lineterminator="\n").writerows([*SURVEYMONKEY, ["116", "2025-03-12 10:00:00"]])
    path = entity_folder(landing, SURVEY_RESPONSES) / "monkey.csv"
    path.write_text(lines.getvalue(), encoding="utf-8")

    result = load_file(
        con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, SURVEYMONKEY_RESPONSES)
    )

    assert (result.delivered, result.loaded) == (3, 1)
    rejects = con.execute("select row_number, rule from raw.load_rejects order by 1").fetchall()
    assert rejects == [(2, "range"), (3, "malformed")]


# A CRM report exported as CSV: the records, a blank line, then the report's name, copyright,
# confidentiality and who generated it (Salesforce's "Export Details").
FOOTER = [
    "",
    '"Open responses"',
    '"Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved."',
    '"Confidential Information - Do Not Distribute"',
    '"Generated By:  Jane Roe  3/31/2025 5:33 PM"',
]


@pytest.mark.parametrize("layout", ["csv", "xlsx"])
def test_a_report_footer_is_no_record(con, landing, tmp_path, layout):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    if layout == "csv":
        path = folder / "report.csv"
        path.write_text("\n".join([",".join(HEADER), *RECORDS, *FOOTER]) + "\n", encoding="utf-8")
        loaded, short = ["R1", "R4"], [(2, "malformed")]
    else:  # the same report as a sheet, where a short row is no malformed line
        rows = [HEADER, *(record.split(",") for record in RECORDS), *(next(csv.reader([line]), []) for line in FOOTER)]
        path = write_workbook(folder / "report.xlsx", {"Report": rows})
        loaded, short = ["R1", "R2", "R4"], []
    rules = mapped_rules(tmp_path, SURVEY_RESPONSES, {"skip_footer_rows": 4})

    result = load_file(con, SURVEY_RESPONSES, path, rules=rules)

    assert [r for (r,) in con.execute("select response_id from raw.survey_responses order by 1").fetchall()] == loaded
    rejects = con.execute("select row_number, rule from raw.load_rejects order by 1").fetchall()
    assert rejects == [*short, (3, "range")]
    assert (result.delivered, result.left_out) == (4, 4)  # the footer's lines are no records, and counted


@pytest.mark.parametrize("value", [0, "2", True])
def test_header_rows_is_a_count(value):
    with pytest.raises(MappingError, match="header_rows must be the number of rows"):
        parse_mapping({"header_rows": value}, SURVEY_RESPONSES)


@pytest.mark.parametrize("value", [-1, "4", 1.0])
def test_skip_footer_rows_is_a_count(value):
    with pytest.raises(MappingError, match="skip_footer_rows must be the number of non-blank rows"):
        parse_mapping({"skip_footer_rows": value}, SURVEY_RESPONSES)
