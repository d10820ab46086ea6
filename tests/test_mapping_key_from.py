"""A key the export lacks, from the columns that identify a row (`key_from`).

A form tool's export (Google Forms: a timestamp, the respondent's email, the answers) or a review
site's CSV has no id. A row number would give a cumulative export, downloaded again each day, new
keys for old rows; a hash of the row's identifying columns gives the same key every time, so the
row replaces itself."""

from __future__ import annotations

import hashlib

import pytest

from dagster_project.contract import SURVEY_ITEM_SCORES, SURVEY_RESPONSES
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import ingest_landing_entity, load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import entity_folder, mapped_rules

HEADER = "Timestamp,Email Address,How likely are you to recommend us?,Comfort"
DAY_1 = [
    "3/5/2025 14:22:05,ann@example.com,9,4",
    "3/5/2025 15:01:44,bob@example.com,6,2",
]
DAY_2 = [*DAY_1, "3/6/2025 09:12:00,,10,5"]  # the form's export is cumulative; the new row has no email
RESPONSES = {
    "key_from": {"response_id": ["Timestamp", "email address"]},  # names matched as columns are
    "columns": {"submitted_at": "Timestamp", "likelihood_to_recommend": "How likely are you to recommend us?"},
    "constants": {"survey_id": "customer-survey-2025", "channel": "web"},
    "formats": {"submitted_at": "%m/%d/%Y %H:%M:%S"},
}


def key(*texts: str) -> str:
    """The key computed here, apart from the SQL: the texts joined by the unit separator."""
    return hashlib.sha256("\x1f".join(texts).encode()).hexdigest()[:32]


def _deliver(landing, name, rows):
    path = entity_folder(landing, SURVEY_RESPONSES) / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _responses(con):
    return con.execute(
        "select response_id, submitted_at, likelihood_to_recommend, _source_file from raw.survey_responses order by 2"
    ).fetchall()


def test_a_cumulative_export_without_ids_replaces_its_rows(con, landing, tmp_path):
    rules = mapped_rules(tmp_path, SURVEY_RESPONSES, RESPONSES)
    first = _deliver(landing, "form_2025-03-05.csv", DAY_1)
    ingest_landing_entity(con, SURVEY_RESPONSES, landing, rules=rules)
    second = _deliver(landing, "form_2025-03-06.csv", DAY_2)
    report = ingest_landing_entity(con, SURVEY_RESPONSES, landing, rules=rules)

    assert (report.total("loaded"), report.total("rejected")) == (3, 0)
    got = _responses(con)
    assert [(r[0], r[2], r[3]) for r in got] == [
        (key("3/5/2025 14:22:05", "ann@example.com"), 9, str(second)),
        (key("3/5/2025 15:01:44", "bob@example.com"), 6, str(second)),
        (key("3/6/2025 09:12:00", ""), 10, str(second)),  # a blank column counts as empty text
    ]
    assert str(first) not in {r[3] for r in got}  # three rows, not five: the old ones replaced
    # the key's inputs stay as delivered in `_extra`
    extra = con.execute("select _extra->>'Email Address' from raw.survey_responses order by submitted_at limit 1")
    assert extra.fetchone()[0] == "ann@example.com"


def test_a_row_whose_key_columns_are_all_blank_is_rejected_as_required(con, landing, tmp_path):
    path = _deliver(landing, "form.csv", [" , ,7,3", "3/5/2025 14:22:05,ann@example.com,9,4"])
    rules = mapped_rules(tmp_path, SURVEY_RESPONSES, RESPONSES)

    result = load_file(con, SURVEY_RESPONSES, path, rules=rules)

    assert (result.loaded, result.rejected) == (1, 1)
    rejects = con.execute("select row_number, rule, column_name from raw.load_rejects").fetchall()
    assert (1, "required", "response_id") in rejects  # rows count from the first record


def test_a_key_column_missing_from_the_file_is_named(con, landing, tmp_path):
    path = entity_folder(landing, SURVEY_RESPONSES) / "form.csv"
    path.write_text("Timestamp,How likely are you to recommend us?\n3/5/2025 14:22:05,9\n", encoding="utf-8")
    rules = mapped_rules(tmp_path, SURVEY_RESPONSES, RESPONSES)

    with pytest.raises(
        ContractError, match=r"missing required column\(s\): email address \(for key_from: response_id\)"
    ):
        load_file(con, SURVEY_RESPONSES, path, rules=rules)


def test_a_wide_export_s_answers_get_their_response_s_key(con, landing, tmp_path):
    """The responses and, through `files_of`, the item scores hash the same columns: one key."""
    _deliver(landing, "form.csv", DAY_1)
    items = {
        "files_of": "survey_responses",
        "key_from": {"response_id": ["Timestamp", "Email Address"]},
        "item_columns": {"perception_score": {"Comfort": "TAN1"}},  # an item of the repo's catalogue
    }
    ingest_landing_entity(
        con, SURVEY_RESPONSES, landing, rules=mapped_rules(tmp_path / "r", SURVEY_RESPONSES, RESPONSES)
    )
    ingest_landing_entity(
        con, SURVEY_ITEM_SCORES, landing, rules=mapped_rules(tmp_path / "i", SURVEY_ITEM_SCORES, items)
    )

    joined = con.execute(
        "select i.perception_score, r.likelihood_to_recommend from raw.survey_item_scores i "
        "join raw.survey_responses r using (response_id) order by 1"
    ).fetchall()
    assert joined == [(2, 6), (4, 9)]


@pytest.mark.parametrize(
    ("key_from", "message"),
    [
        ({"survey_id": ["Timestamp"]}, "key_from: survey_id is not a key of survey_responses; its key: response_id"),
        ({"response_id": []}, "give the export's column whose text identifies a row"),
        ({"response_id": ["Timestamp", " timestamp"]}, "names a column twice"),
        ({"nonsense": ["Timestamp"]}, "nonsense"),
    ],
)
def test_key_from_names_a_key_and_its_columns(key_from, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping({"key_from": key_from}, SURVEY_RESPONSES, path=None)


def test_a_key_is_computed_or_mapped_not_both():
    with pytest.raises(MappingError, match="key_from: response_id is also mapped"):
        parse_mapping(
            {"columns": {"response_id": "Id"}, "key_from": {"response_id": "Timestamp"}}, SURVEY_RESPONSES, path=None
        )
