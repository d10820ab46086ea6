"""A workbook kept by hand with a sheet per month (or per region): the mapping's `sheet` gives a
pattern or a list, and each matching sheet is a delivery of its own, labelled `<workbook>/<sheet>`
and known by the workbook's checksum and the sheet's name."""

from __future__ import annotations

import pytest

from dagster_project.contract import SURVEY_RESPONSES
from dagster_project.ingestion.files import file_sha256, part_id
from dagster_project.ingestion.loader import ingest_landing_entity
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import entity_folder, mapped_rules, write_workbook

HEADER = ["response_id", "survey_id", "submitted_at", "channel", "csat_score"]
MONTHS = {
    "2025-01": [HEADER, ["R1", "S1", "2025-01-10 12:00:00", "web", 5], ["R2", "S1", "2025-01-11 12:00:00", "web", 9]],
    "2025-02": [HEADER, ["R3", "S1", "2025-02-10 12:00:00", "email", 4]],
    "Notes": [["Kept by the service desk; one sheet a month"]],
}


@pytest.fixture
def workbook(landing):
    return write_workbook(entity_folder(landing, SURVEY_RESPONSES) / "csat_log.xlsx", MONTHS)


def _load(con, landing, tmp_path, sheet):
    rules = mapped_rules(tmp_path, SURVEY_RESPONSES, {"sheet": sheet})
    return ingest_landing_entity(con, SURVEY_RESPONSES, landing, rules=rules)


def test_each_sheet_matching_a_pattern_is_a_delivery(con, landing, tmp_path, workbook):
    report = _load(con, landing, tmp_path, "2025-*")

    assert report.errors == []
    assert [(f.source_file, f.loaded, f.rejected) for f in report.files] == [
        (f"{workbook}/2025-01", 1, 1),
        (f"{workbook}/2025-02", 1, 0),
    ]
    assert con.execute("select response_id from raw.survey_responses order by 1").fetchall() == [("R1",), ("R3",)]
    # a reject names the sheet and its row there
    assert con.execute("select source_file, row_number, rule from raw.load_rejects").fetchall() == [
        (f"{workbook}/2025-01", 2, "range")
    ]
    recorded = con.execute("select file_sha256 from raw.load_manifest order by source_file").fetchall()
    assert recorded == [(part_id(file_sha256(workbook), "2025-01"),), (part_id(file_sha256(workbook), "2025-02"),)]

    again = _load(con, landing, tmp_path, "2025-*")
    assert [f.skipped for f in again.files] == [True, True]


def test_a_list_names_sheets_and_patterns(con, landing, tmp_path, workbook):
    report = _load(con, landing, tmp_path, ["2025-02", "notes*"])

    # the notes sheet matches too (case-insensitive) and is refused as a sheet without the columns;
    # its text is a title, never a CSV separator to declare
    assert [f.source_file for f in report.files] == [f"{workbook}/2025-02"]
    [error] = report.errors
    assert error.startswith(f"{workbook}/Notes: columns do not match") and "missing required column(s)" in error
    assert "delimiter" not in error and "(`header_row`)" in error


def test_no_sheet_matching_is_refused_listing_the_sheets(con, landing, tmp_path, workbook):
    report = _load(con, landing, tmp_path, "2024-*")

    assert report.errors == [
        f"{workbook}: no sheet matches the mapping's `sheet` (2024-*); its sheets: 2025-01, 2025-02, Notes"
    ]


def test_one_sheet_by_name_is_the_workbook_s_delivery_as_before(con, landing, tmp_path, workbook):
    report = _load(con, landing, tmp_path, "2025-02")

    assert [(f.source_file, f.sha256) for f in report.files] == [(str(workbook), file_sha256(workbook))]


@pytest.mark.parametrize("value", [[], [""], True, {"a": 1}])
def test_sheet_names_a_sheet_or_patterns(value):
    with pytest.raises(MappingError, match="sheet must name a sheet of the workbook, or give patterns"):
        parse_mapping({"sheet": value}, SURVEY_RESPONSES)


def test_sheet_patterns_are_parsed():
    assert parse_mapping({"sheet": 2024}, SURVEY_RESPONSES).sheet == "2024"
    assert parse_mapping({"sheet": "2025-*"}, SURVEY_RESPONSES).sheets == ("2025-*",)
    assert parse_mapping({"sheet": ["Jan", 2]}, SURVEY_RESPONSES).sheets == ("Jan", "2")
