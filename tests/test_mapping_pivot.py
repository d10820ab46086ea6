"""A long export, one row per response and question (`pivot`), as a survey tool's warehouse
connector delivers its answers: the rows of one response become the response's one row, its NPS
and CSAT questions filling the contract's columns; the same file's item answers load as item
scores with `where`."""

from __future__ import annotations

from datetime import datetime

import pytest

from dagster_project.contract import SURVEY_ITEM_SCORES, SURVEY_RESPONSES
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import ingest_landing_entity, load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import entity_folder, mapped_rules, write_jsonl

LONG = [
    "response_id,survey_id,recorded_date,question_id,value",
    "R1,S1,2025-03-05 10:00:00,NPS,9",  # row 1
    "R1,S1,2025-03-05 10:00:00,csat ,4",  # a question's name matched as a column's is
    "R1,S1,2025-03-05 10:00:00,TAN1,5",  # an item: the item scores' row, ignored here
    "R2,S1,2025-03-06 11:00:00,NPS,3",  # row 4
    "R3,S1,2025-03-06 12:00:00,CSAT,2",  # row 5: R3 answers CSAT twice, differently
    "R3,S1,2025-03-06 12:00:00,CSAT,5",
    "R4,S1,2025-03-07 09:00:00,TAN1,2",  # row 7: only an item answered
    "R2,S1,2025-03-06 11:00:00,NPS, 3",  # the same answer again: one answer
    "R5,S1,2025-03-07 10:00:00,NPS,7,extra",  # malformed: a row of its own
]
RESPONSES = {
    "columns": {"submitted_at": "recorded_date"},
    "pivot": {
        "question": "question_id",
        "answer": "value",
        "columns": {"likelihood_to_recommend": "NPS", "csat_score": "CSAT"},
    },
}


@pytest.fixture
def long_export(landing):
    path = entity_folder(landing, SURVEY_RESPONSES) / "question_response.csv"
    path.write_text("\n".join(LONG) + "\n", encoding="utf-8")
    return path


def test_a_response_s_rows_become_its_one_row(con, tmp_path, long_export):
    result = load_file(con, SURVEY_RESPONSES, long_export, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, RESPONSES))

    # the rows counted are the responses: R1, R2, R3, R4 and the malformed row
    assert (result.delivered, result.loaded, result.rejected) == (5, 3, 2)
    got = con.execute(
        "select response_id, submitted_at, likelihood_to_recommend, csat_score from raw.survey_responses order by 1"
    ).fetchall()
    assert got == [
        ("R1", datetime(2025, 3, 5, 10), 9, 4),
        ("R2", datetime(2025, 3, 6, 11), 3, None),
        ("R4", datetime(2025, 3, 7, 9), None, None),
    ]
    rejects = con.execute("select row_number, rule, reason from raw.load_rejects order by 1").fetchall()
    assert [(n, rule) for n, rule, _ in rejects] == [(5, "malformed"), (9, "malformed")]
    assert "the rows of one record answer CSAT twice, differently" in rejects[0][2]


def test_the_same_file_s_item_answers_load_as_item_scores(con, landing, tmp_path, long_export):
    items = {
        "files_of": "survey_responses",
        "columns": {"item_code": "question_id", "perception_score": "value"},
        "where": "upper(trim(question_id)) not in ('NPS', 'CSAT')",
    }
    report = ingest_landing_entity(
        con, SURVEY_ITEM_SCORES, landing, rules=mapped_rules(tmp_path, SURVEY_ITEM_SCORES, items)
    )

    [result] = report.files
    assert (result.loaded, result.rejected, result.left_out) == (2, 1, 6)
    got = con.execute("select response_id, item_code, perception_score from raw.survey_item_scores order by 1")
    assert got.fetchall() == [("R1", "TAN1", 5), ("R4", "TAN1", 2)]


def test_a_pivoted_answer_is_mapped_as_a_column_s_value(con, landing, tmp_path):
    """Value maps, and the original text kept in `_extra` under the question's name."""
    path = entity_folder(landing, SURVEY_RESPONSES) / "long.csv"
    path.write_text(
        "response_id,survey_id,recorded_date,question_id,value\nR1,S1,2025-03-05 10:00:00,NPS,10 - Extremely likely\n",
        encoding="utf-8",
    )
    mapping = dict(RESPONSES, values={"likelihood_to_recommend": {"10 - Extremely likely": "10"}})

    load_file(con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, mapping))

    got = con.execute("select likelihood_to_recommend, _extra->>'NPS' from raw.survey_responses").fetchall()
    assert got == [(10, "10 - Extremely likely")]


def test_a_file_without_the_question_column_is_refused(con, landing, tmp_path):
    path = entity_folder(landing, SURVEY_RESPONSES) / "wide.csv"
    path.write_text("response_id,survey_id,recorded_date,NPS\nR1,S1,2025-03-05 10:00:00,9\n", encoding="utf-8")

    with pytest.raises(ContractError, match=r"question_id \(pivot's question column\), value \(pivot's answer"):
        load_file(con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, RESPONSES))


@pytest.mark.parametrize(
    ("pivot", "message"),
    [
        ({"question": "q", "answer": "a"}, "pivot must name the export's question and answer columns"),
        ({"question": "q", "answer": "a", "columns": {}}, "pivot must name"),
        ({"question": "q", "answer": "a", "columns": {"response_id": "ID"}}, "response_id is the key"),
        (
            {"question": "q", "answer": "a", "columns": {"csat_score": "X", "effort_score": " x"}},
            "a question fills two",
        ),
        ({"question": "q", "answer": "a", "columns": {"nope": "X"}}, "'nope' is not a column"),
    ],
)
def test_pivot_names_its_columns_and_questions(pivot, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping({"pivot": pivot}, SURVEY_RESPONSES)


def test_a_json_export_s_nested_key_groups_its_rows(con, landing, tmp_path):
    """A connector's JSON rows whose response id is nested (`response.id`)."""
    rows = [
        {"response": {"id": "R1"}, "survey_id": "S1", "recorded_date": "2025-03-05 10:00:00", "q": "NPS", "v": "9"},
        {"response": {"id": "R1"}, "survey_id": "S1", "recorded_date": "2025-03-05 10:00:00", "q": "CSAT", "v": "4"},
    ]
    path = write_jsonl(entity_folder(landing, SURVEY_RESPONSES) / "long.jsonl", rows)
    mapping = {
        "columns": {"response_id": "response.id", "submitted_at": "recorded_date"},
        "pivot": {"question": "q", "answer": "v", "columns": {"likelihood_to_recommend": "NPS", "csat_score": "CSAT"}},
    }

    load_file(con, SURVEY_RESPONSES, path, rules=mapped_rules(tmp_path, SURVEY_RESPONSES, mapping))

    got = con.execute("select response_id, likelihood_to_recommend, csat_score from raw.survey_responses")
    assert got.fetchall() == [("R1", 9, 4)]
