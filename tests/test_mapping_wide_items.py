"""A survey tool's wide export (one row per respondent, one column per item) loaded as item answers
by the mapping's `item_columns` alone: blank cells are no answer, every other cell meets the item's
scale, and a reject names the file's row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagster_project.contract import SURVEY_ITEM_SCORES, TICKETS
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import entity_folder, mapped_rules, write_csv

SEEDS = Path(__file__).parent.parent / "seeds"  # items TAN1.. on 1-7, no "not applicable" code

# A SERVQUAL questionnaire exported wide: expectation and perception of three items, labels for
# the scale's ends, as survey tools export them.
MAPPING = {
    "entity": "survey_item_scores",
    "columns": {"response_id": "Respondent"},
    "item_columns": {
        "perception_score": {"Modern equipment": "TAN1", "Appealing facilities": "TAN2", "Neat staff": "TAN3"},
        "expectation_score": {"Modern equipment (expected)": "TAN1", "Appealing facilities (expected)": "TAN2"},
    },
    "values": {"perception_score": {"Strongly agree": 7, "Strongly disagree": 1}},
}
HEADER = [
    "Respondent",
    "Age",
    "Modern equipment",
    "Modern equipment (expected)",
    "Appealing facilities",
    "Appealing facilities (expected)",
    "Neat staff",
]
ROWS = [
    ["R1", "34", "5", "6", "Strongly agree", "7", "4"],
    ["R2", "51", "", "", "3", "5", ""],  # TAN1 and TAN3 unanswered: no rows for them
    ["R3", "29", "9", "6", "2", "", " "],  # TAN1's perception off the 1-7 scale
    ["R4", "40", "", "", "", "", ""],  # answered nothing: no rows at all
]


def write_export(landing: Path, header: list[str], rows: list[list[str]], name: str = "wide.csv") -> Path:
    records = [dict(zip(header, row, strict=True)) for row in rows]
    return write_csv(entity_folder(landing, SURVEY_ITEM_SCORES) / name, records, header)


@pytest.fixture
def rules(tmp_path):
    return mapped_rules(tmp_path, SURVEY_ITEM_SCORES, MAPPING)


def test_a_wide_export_loads_one_row_per_answered_item(con, landing, rules):
    result = load_file(con, SURVEY_ITEM_SCORES, write_export(landing, HEADER, ROWS), rules=rules)

    got = con.execute(
        "select response_id, item_code, expectation_score, perception_score, _row_number"
        " from raw.survey_item_scores order by 1, 2"
    ).fetchall()
    assert got == [
        ("R1", "TAN1", 6, 5, 1),  # the delivered row each answer comes from
        ("R1", "TAN2", 7, 7, 1),  # "Strongly agree" is 7 by the mapping's values
        ("R1", "TAN3", None, 4, 1),  # perception only: no expectation column for TAN3
        ("R2", "TAN2", 5, 3, 2),
        ("R3", "TAN2", None, 2, 3),
    ]
    # eight answered cells in seven answers (R3's TAN3 is spaces only); one breaks its item's scale
    assert (result.delivered, result.loaded, result.rejected) == (6, 5, 1)
    reject = con.execute("select row_number, rule, column_name, reason, raw_values from raw.load_rejects").fetchone()
    assert reject[:3] == (3, "range", "perception_score") and "TAN1" in reject[3]
    assert json.loads(reject[4]) == dict(zip(HEADER, ROWS[2], strict=True)) | {  # the row as delivered
        "Appealing facilities (expected)": None  # an empty field reads as NULL
    }
    delivered = con.execute("select column_name from raw.delivered_columns where entity = 'survey_item_scores'")
    assert {r[0] for r in delivered.fetchall()} == {"response_id", "item_code", "perception_score", "expectation_score"}


def test_a_row_that_cannot_be_parsed_is_one_reject_not_one_per_item(con, landing, rules):
    path = write_export(landing, HEADER, ROWS)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines[:2], "R9,too,few", *lines[2:]]) + "\n", encoding="utf-8")

    result = load_file(con, SURVEY_ITEM_SCORES, path, rules=rules)

    assert (result.loaded, result.rejected) == (5, 2)
    rejected = con.execute("select row_number, rule from raw.load_rejects order by 1").fetchall()
    assert rejected == [(2, "malformed"), (4, "range")]


def test_an_older_questionnaire_without_some_items_loads_the_items_it_has(con, landing, rules):
    header = ["Respondent", "Modern equipment", "Modern equipment (expected)"]
    result = load_file(con, SURVEY_ITEM_SCORES, write_export(landing, header, [["R1", "5", "6"]]), rules=rules)

    assert (result.loaded, result.rejected) == (1, 0)
    rows = con.execute("select item_code, expectation_score, perception_score from raw.survey_item_scores")
    assert rows.fetchall() == [("TAN1", 6, 5)]


def test_a_file_with_none_of_the_item_columns_is_refused_naming_them(con, landing, rules):
    path = write_export(landing, ["Respondent", "Q1"], [["R1", "5"]])
    with pytest.raises(ContractError, match=r"none of the item columns .*Modern equipment.*Found: Respondent, Q1"):
        load_file(con, SURVEY_ITEM_SCORES, path, rules=rules)


@pytest.mark.parametrize(
    ("entity", "data", "message"),
    [
        (TICKETS, {"item_columns": {"perception_score": {"Q1": "TAN1"}}}, "tickets has no item_code"),
        (SURVEY_ITEM_SCORES, {"item_columns": {"perception_score": ["Q1"]}}, "must map export columns to item"),
        (SURVEY_ITEM_SCORES, {"item_columns": {"response_id": {"Q1": "TAN1"}}}, "only int columns allowed"),
        (SURVEY_ITEM_SCORES, {"item_columns": {"answer": {"Q1": "TAN1"}}}, "'answer' is not a column"),
        (
            SURVEY_ITEM_SCORES,
            {"columns": {"item_code": "question"}, "item_columns": {"perception_score": {"Q1": "TAN1"}}},
            "item_code comes from the item columns; map it nowhere else",
        ),
        (
            SURVEY_ITEM_SCORES,
            {"item_columns": {"perception_score": {"Q1": "TAN1"}}, "values": {"item_code": {"tan1": "TAN2"}}},
            "values: item_code comes from item_columns",
        ),
        (
            SURVEY_ITEM_SCORES,
            {"item_columns": {"perception_score": {"Q1": "TAN1", "Q2": "TAN1"}}},
            "item TAN1 comes from two columns",
        ),
        (
            SURVEY_ITEM_SCORES,
            {"item_columns": {"perception_score": {"Q1": "TAN1"}, "expectation_score": {"q1": "TAN1"}}},
            "column 'q1' is listed twice",
        ),
    ],
)
def test_bad_item_columns_are_refused_naming_the_key(entity, data, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(data, entity)
