"""The entity's rows of a file that holds others' too (`where`): a CRM's contacts export with its
leads, a service desk's tickets with compliments, a survey tool's answers in long form with the
answers to questions that are no item. Rows outside the condition are left out and counted, so a
file's rows still reconcile: delivered + left out."""

from __future__ import annotations

import pytest

from dagster_project.contract import CUSTOMERS, SURVEY_ITEM_SCORES, SURVEY_RESPONSES
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import ingest_landing_entity, load_file
from dagster_project.ingestion.mapping import MappingError, parse_mapping

from deliveries import entity_folder, mapped_rules

CONTACTS = [
    "Id,Type,Segment",
    "C1,Customer,retail",
    "L1,Lead,retail",
    ",Lead,",  # another entity's row that would break this one's rules (no key): left out, not rejected
    "C2,customer ,business",
    "X1,,retail",  # no type: the condition is not true, so it is not the entity's
    "C3,Lead,retail,extra",  # malformed (a field too many): rejected whatever its type says
]
CUSTOMERS_MAPPING = {
    "columns": {"customer_id": "Id", "segment": "Segment"},
    "where": "lower(trim(\"Type\")) = 'customer'",
}


def _contacts(landing):
    path = entity_folder(landing, CUSTOMERS) / "contacts.csv"
    path.write_text("\n".join(CONTACTS) + "\n", encoding="utf-8")
    return path


def test_rows_outside_the_condition_are_left_out_and_counted(con, landing, tmp_path):
    path = _contacts(landing)

    result = load_file(con, CUSTOMERS, path, rules=mapped_rules(tmp_path, CUSTOMERS, CUSTOMERS_MAPPING))

    assert (result.delivered, result.loaded, result.rejected, result.left_out) == (3, 2, 1, 3)
    assert con.execute("select customer_id from raw.customers order by 1").fetchall() == [("C1",), ("C2",)]
    assert con.execute("select row_number, rule from raw.load_rejects").fetchall() == [(6, "malformed")]
    manifest = con.execute("select rows_delivered, rows_loaded, rows_rejected, rows_left_out from raw.load_manifest")
    assert manifest.fetchall() == [(3, 2, 1, 3)]


LONG = [  # a survey tool's answers in long form, as its warehouse connector delivers them
    "response_id,question_id,value",
    "R1,NPS,9",
    "R1,TAN1,4",
    "R1,REL2,5",
    "R2,NPS,3",
    "R2,TAN1,2",
]


def test_a_long_export_s_item_answers_without_the_other_questions(con, landing, tmp_path):
    path = entity_folder(landing, SURVEY_ITEM_SCORES) / "question_response.csv"
    path.write_text("\n".join(LONG) + "\n", encoding="utf-8")
    mapping = {
        "columns": {"item_code": "question_id", "perception_score": "value"},
        "where": "question_id <> 'NPS'",
    }

    result = load_file(con, SURVEY_ITEM_SCORES, path, rules=mapped_rules(tmp_path, SURVEY_ITEM_SCORES, mapping))

    assert (result.loaded, result.rejected, result.left_out) == (3, 0, 2)
    got = con.execute("select response_id, item_code, perception_score from raw.survey_item_scores order by 1, 2")
    assert got.fetchall() == [("R1", "REL2", 5), ("R1", "TAN1", 4), ("R2", "TAN1", 2)]


def test_a_wide_export_s_rows_outside_are_left_out_once_each(con, landing, tmp_path):
    """A survey tool's export with unfinished responses: neither they nor their answers load."""
    wide = ["ResponseId,Finished,TAN1,TAN2", "R1,True,4,5", "R2,False,2,3", "R3,True,,1"]
    (entity_folder(landing, SURVEY_RESPONSES) / "export.csv").write_text("\n".join(wide) + "\n", encoding="utf-8")
    mapping = {
        "files_of": "survey_responses",
        "columns": {"response_id": "ResponseId"},
        "where": "\"Finished\" = 'True'",
        "item_columns": {"perception_score": {"TAN1": "TAN1", "TAN2": "TAN2"}},
    }

    report = ingest_landing_entity(
        con, SURVEY_ITEM_SCORES, landing, rules=mapped_rules(tmp_path, SURVEY_ITEM_SCORES, mapping)
    )

    [result] = report.files
    assert (result.loaded, result.rejected, result.left_out) == (3, 0, 1)
    got = con.execute("select response_id, item_code from raw.survey_item_scores order by 1, 2").fetchall()
    assert got == [("R1", "TAN1"), ("R1", "TAN2"), ("R3", "TAN2")]


def test_a_condition_over_a_column_the_file_lacks_refuses_the_file(con, landing, tmp_path):
    path = _contacts(landing)
    mapping = dict(CUSTOMERS_MAPPING, where="\"Record type\" = 'Customer'")

    with pytest.raises(ContractError, match=r"contacts.csv: .*customers.yml: where: .*Record type"):
        load_file(con, CUSTOMERS, path, rules=mapped_rules(tmp_path, CUSTOMERS, mapping))


@pytest.mark.parametrize("value", ["", "  ", 3, ["a = 1"]])
def test_where_is_a_condition(value):
    with pytest.raises(MappingError, match="where: give a SQL condition over the export's columns"):
        parse_mapping({"where": value}, CUSTOMERS)
