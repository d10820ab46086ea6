"""One export, two entities: a survey tool's wide export holds each response and its answers to the
items, so the item scores' mapping reads the responses' files (`files_of: survey_responses`)
instead of a second copy of each file in its own folder."""

from __future__ import annotations

import pytest

from dagster_project.contract import SURVEY_ITEM_SCORES, SURVEY_RESPONSES
from dagster_project.ingestion.loader import ingest_landing_entity
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import entity_folder, mapped_rules

# A Qualtrics-like wide export: the response's own columns, then one column per item.
WIDE = [
    "ResponseId,SurveyId,RecordedDate,NPS,Q1_1,Q1_2",
    "R_1,SV_1,2025-03-10 12:00:00,9,5,7",
    "R_2,SV_1,2025-03-11 12:00:00,3,2,",
]
RESPONSES = {
    "columns": {
        "response_id": "ResponseId",
        "survey_id": "SurveyId",
        "submitted_at": "RecordedDate",
        "likelihood_to_recommend": "NPS",
    },
    "constants": {"channel": "web"},
}
ITEMS = {
    "files_of": "survey_responses",
    "columns": {"response_id": "ResponseId"},
    "item_columns": {"perception_score": {"Q1_1": "TAN1", "Q1_2": "TAN2"}},
}


def load_items(con, landing, tmp_path):
    rules = mapped_rules(tmp_path, SURVEY_ITEM_SCORES, ITEMS)
    return ingest_landing_entity(con, SURVEY_ITEM_SCORES, landing, rules=rules)


@pytest.fixture
def wide_export(landing):
    path = entity_folder(landing, SURVEY_RESPONSES) / "2025-03_export.csv"
    path.write_text("\n".join(WIDE) + "\n", encoding="utf-8")
    return path


def test_the_item_scores_read_the_responses_files(con, landing, tmp_path, wide_export):
    responses = ingest_landing_entity(
        con, SURVEY_RESPONSES, landing, rules=mapped_rules(tmp_path / "r", SURVEY_RESPONSES, RESPONSES)
    )
    items = load_items(con, landing, tmp_path)

    assert (responses.total("loaded"), items.total("loaded")) == (2, 3)
    assert items.warnings == []
    got = con.execute("select response_id, item_code, perception_score from raw.survey_item_scores order by 1, 2")
    assert got.fetchall() == [("R_1", "TAN1", 5), ("R_1", "TAN2", 7), ("R_2", "TAN1", 2)]
    # each entity records the file in its own manifest rows: a re-run skips it for both
    manifest = con.execute("select entity, source_file from raw.load_manifest order by 1").fetchall()
    assert manifest == [("survey_item_scores", str(wide_export)), ("survey_responses", str(wide_export))]
    again = load_items(con, landing, tmp_path)
    assert [f.skipped for f in again.files] == [True]


def test_files_in_the_entity_s_own_folder_are_named_not_read(con, landing, tmp_path, wide_export):
    stray = entity_folder(landing, SURVEY_ITEM_SCORES) / "copy.csv"
    stray.write_text("\n".join(WIDE) + "\n", encoding="utf-8")

    items = load_items(con, landing, tmp_path)

    assert [f.source_file for f in items.files] == [str(wide_export)]
    assert items.warnings == [
        "survey/survey_item_scores/copy.csv: not read: the mapping of survey_item_scores reads the files of "
        "survey/survey_responses (`files_of`)"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("survey_answers", "files_of: 'survey_answers' is not an entity; the entities: "),
        ("survey_item_scores", "files_of: names survey_item_scores itself"),
        (["survey_responses"], "files_of: \\['survey_responses'\\] is not an entity"),
    ],
)
def test_files_of_names_another_entity(value, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping({"files_of": value}, SURVEY_ITEM_SCORES)
