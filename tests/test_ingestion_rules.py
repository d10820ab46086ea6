"""Every contract rule sends a bad row to raw.load_rejects with its file, row, rule and raw values."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from dagster_project.contract import SUBSCRIPTIONS, SURVEY_ITEM_SCORES, SURVEY_RESPONSES, TICKETS
from dagster_project.ingestion.loader import allowed_values_from_seeds, load_file
from dagster_project.settings import repo_root

from deliveries import entity_folder, survey_response, ticket, write_csv, write_jsonl


def rejects(con):
    return con.execute(
        "select source_file, row_number, rule, column_name, reason, raw_values from raw.load_rejects "
        "order by row_number"
    ).fetchall()


# (override on an otherwise valid survey response, expected rule, expected column)
BAD_RESPONSES = [
    ({"response_id": "  "}, "required", "response_id"),
    ({"survey_id": None}, "required", "survey_id"),
    ({"submitted_at": ""}, "required", "submitted_at"),
    ({"submitted_at": "yesterday"}, "type", "submitted_at"),
    ({"likelihood_to_recommend": "nine"}, "type", "likelihood_to_recommend"),
    ({"likelihood_to_recommend": "9.5"}, "type", "likelihood_to_recommend"),
    ({"likelihood_to_recommend": "11"}, "range", "likelihood_to_recommend"),
    ({"likelihood_to_recommend": "-1"}, "range", "likelihood_to_recommend"),
    ({"csat_score": "0"}, "range", "csat_score"),
    ({"effort_score": "8"}, "range", "effort_score"),
    ({"overall_satisfaction": "0"}, "range", "overall_satisfaction"),
    ({"channel": "fax"}, "enum", "channel"),
    ({"touchpoint": "checkout"}, "enum", "touchpoint"),
    ({"submitted_at": "2099-01-01T00:00:00Z"}, "future", "submitted_at"),
]


@pytest.mark.parametrize(("override", "rule", "column"), BAD_RESPONSES)
def test_each_rule_rejects_the_row_with_its_reason(con, landing, override, rule, column):
    rows = [survey_response("R1"), {**survey_response("R2"), **override}, survey_response("R3")]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", rows, SURVEY_RESPONSES.column_names)

    result = load_file(con, SURVEY_RESPONSES, path)

    assert (result.delivered, result.loaded, result.rejected) == (3, 2, 1)
    [(source_file, row_number, got_rule, got_column, reason, raw_values)] = rejects(con)
    assert (source_file, row_number, got_rule, got_column) == (str(path), 2, rule, column)
    assert rule in reason and column in reason
    raw = json.loads(raw_values)
    assert raw["response_id"] == (override.get("response_id", "R2") or None)
    assert sorted(r[0] for r in con.execute("select response_id from raw.survey_responses").fetchall()) == [
        "R1",
        "R3",
    ]


def test_boundaries_and_lenient_forms_load(con, landing):
    rows = [
        survey_response("R1", likelihood_to_recommend="0", csat_score="1", effort_score="1"),
        survey_response("R2", likelihood_to_recommend="10", csat_score="5", effort_score="7"),
        survey_response("R3", channel=" WeChat ", touchpoint="Support", likelihood_to_recommend="7.0"),
        survey_response("R4", customer_id=None, likelihood_to_recommend=None, csat_score=" "),
    ]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", rows, SURVEY_RESPONSES.column_names)
    result = load_file(con, SURVEY_RESPONSES, path)
    assert (result.loaded, result.rejected) == (4, 0)
    assert con.execute(
        "select likelihood_to_recommend, channel, customer_id, csat_score from raw.survey_responses "
        "where response_id in ('R3', 'R4') order by response_id"
    ).fetchall() == [(7, " WeChat ", "C1", 5), (None, "web", None, None)]


def test_order_rules_and_booleans_on_tickets(con, landing):
    rows = [
        ticket("T1", escalated="Yes"),
        ticket("T2", first_response_at="2025-03-10T07:59:59Z"),
        ticket("T3", resolved_at="2025-03-09T08:00:00Z", closed_at=None),
        ticket("T4", closed_at="2025-03-11T07:00:00Z"),
        ticket("T5", escalated="maybe"),
        ticket("T6", contact_count="0"),
        ticket("T7", reopen_count="-1"),
        ticket("T8", first_response_at=None, resolved_at=None, closed_at=None, status="open", escalated="0"),
    ]
    path = write_jsonl(entity_folder(landing, TICKETS) / "t.jsonl", rows)
    result = load_file(con, TICKETS, path)
    assert (result.delivered, result.loaded, result.rejected) == (8, 2, 6)
    assert [(r[1], r[2], r[3]) for r in rejects(con)] == [
        (2, "order", "first_response_at"),
        (3, "order", "resolved_at"),
        (4, "order", "closed_at"),
        (5, "type", "escalated"),
        (6, "range", "contact_count"),
        (7, "range", "reopen_count"),
    ]
    assert con.execute("select ticket_id, escalated from raw.tickets order by 1").fetchall() == [
        ("T1", True),
        ("T8", False),
    ]


def test_subscription_may_stay_open_but_not_end_before_start(con, landing):
    rows = [
        {
            "subscription_id": "S1",
            "customer_id": "C1",
            "plan": "basic",
            "started_at": "2025-01-01",
            "ended_at": None,
            "mrr": "19.90",
            "cancel_reason": None,
        },
        {
            "subscription_id": "S2",
            "customer_id": "C1",
            "plan": "basic",
            "started_at": "2025-01-01",
            "ended_at": "2024-12-31",
            "mrr": "19.90",
            "cancel_reason": "price",
        },
        {
            "subscription_id": "S3",
            "customer_id": "C1",
            "plan": "basic",
            "started_at": "2025-01-01",
            "ended_at": None,
            "mrr": "-1",
            "cancel_reason": None,
        },
        {
            "subscription_id": "S4",
            "customer_id": "C1",
            "plan": "basic",
            "started_at": "2025-01-01",
            "ended_at": None,
            "mrr": "a lot",
            "cancel_reason": None,
        },
    ]
    path = write_csv(entity_folder(landing, SUBSCRIPTIONS) / "s.csv", rows, SUBSCRIPTIONS.column_names)
    result = load_file(con, SUBSCRIPTIONS, path)
    assert [(r[1], r[2], r[3]) for r in rejects(con)] == [
        (2, "order", "ended_at"),
        (3, "range", "mrr"),
        (4, "type", "mrr"),
    ]
    assert result.loaded == 1
    assert con.execute("select mrr from raw.subscriptions").fetchone()[0] == Decimal("19.9")


def test_item_code_must_be_a_seeded_servqual_item(con, landing):
    rows = [
        {"response_id": "R1", "item_code": "REL1", "expectation_score": "6", "perception_score": "5"},
        {"response_id": "R1", "item_code": "XYZ9", "expectation_score": "6", "perception_score": "5"},
        {"response_id": "R1", "item_code": "TAN1", "expectation_score": "8", "perception_score": "5"},
    ]
    path = write_csv(entity_folder(landing, SURVEY_ITEM_SCORES) / "i.csv", rows, SURVEY_ITEM_SCORES.column_names)
    allowed = allowed_values_from_seeds(repo_root() / "seeds")["survey_item_scores"]
    assert len(allowed["item_code"]) == 22
    load_file(con, SURVEY_ITEM_SCORES, path, allowed=allowed)
    assert [(r[1], r[2], r[3]) for r in rejects(con)] == [(2, "enum", "item_code"), (3, "range", "expectation_score")]


def test_duplicate_key_in_one_delivery_keeps_the_latest_version(con, landing):
    rows = [
        survey_response("R1", submitted_at="2025-03-10T12:00:00Z", comment="first"),
        survey_response("R2"),
        survey_response("R1", submitted_at="2025-03-11T12:00:00Z", comment="latest"),
        survey_response("R1", submitted_at="2025-03-09T12:00:00Z", comment="oldest"),
    ]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "d.csv", rows, SURVEY_RESPONSES.column_names)
    result = load_file(con, SURVEY_RESPONSES, path)
    assert (result.delivered, result.loaded, result.rejected) == (4, 2, 2)
    assert [(r[1], r[2], r[3]) for r in rejects(con)] == [
        (1, "duplicate", "response_id"),
        (4, "duplicate", "response_id"),
    ]
    assert con.execute("select comment from raw.survey_responses where response_id = 'R1'").fetchone() == ("latest",)


def test_duplicate_composite_key_without_version_keeps_the_last_row(con, landing):
    rows = [
        {"response_id": "R1", "item_code": "REL1", "expectation_score": "6", "perception_score": "2"},
        {"response_id": "R1", "item_code": "REL1", "expectation_score": "6", "perception_score": "4"},
        {"response_id": "R1", "item_code": "REL2", "expectation_score": "6", "perception_score": "4"},
    ]
    path = write_csv(entity_folder(landing, SURVEY_ITEM_SCORES) / "i.csv", rows, SURVEY_ITEM_SCORES.column_names)
    load_file(con, SURVEY_ITEM_SCORES, path)
    assert [(r[1], r[2], r[3]) for r in rejects(con)] == [(1, "duplicate", "response_id,item_code")]
    assert con.execute("select perception_score from raw.survey_item_scores where item_code = 'REL1'").fetchone() == (
        4,
    )


def test_malformed_csv_lines_are_rejected_with_their_position(con, landing):
    header = ",".join(c for c in SURVEY_RESPONSES.column_names if c != "is_satisfied")  # optional, absent
    good = "R{n},S1,C1,2025-03-10T12:00:00Z,web,purchase,9,5,6,9,8,9,,,en,ok"
    text = (
        "\n".join(
            [
                header,
                good.format(n=1),
                "R2,S1,C1,too,short",
                good.format(n=3),
                good.format(n=4) + ",one too many",
                good.format(n=5),
            ]
        )
        + "\n"
    )
    path = entity_folder(landing, SURVEY_RESPONSES) / "m.csv"
    path.write_text(text, encoding="utf-8")
    result = load_file(con, SURVEY_RESPONSES, path)
    assert (result.delivered, result.loaded, result.rejected) == (5, 3, 2)
    assert [(r[1], r[2]) for r in rejects(con)] == [(2, "malformed"), (4, "malformed")]
    assert "R2,S1,C1,too,short" in rejects(con)[0][4]
    assert con.execute("select response_id, _row_number from raw.survey_responses order by 1").fetchall() == [
        ("R1", 1),
        ("R3", 3),
        ("R5", 5),
    ]


def test_malformed_json_line_is_rejected(con, landing):
    path = entity_folder(landing, TICKETS) / "t.jsonl"
    write_jsonl(path, [ticket("T1"), ticket("T3")])
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0], "this is not json", lines[1]]) + "\n", encoding="utf-8")
    result = load_file(con, TICKETS, path)
    assert (result.delivered, result.loaded, result.rejected) == (3, 2, 1)
    assert [(r[1], r[2]) for r in rejects(con)] == [(2, "malformed")]
