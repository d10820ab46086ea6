"""A JSON record's nested members, named by their path (`columns: {channel: via.channel}`): APIs
nest their fields (HubSpot's `properties`, Zendesk's `via` and `satisfaction_rating`)."""

from __future__ import annotations

from datetime import datetime

from dagster_project.contract import TICKETS
from dagster_project.ingestion.loader import load_file
from dagster_project.ingestion.mapped_delivery import match_columns
from dagster_project.ingestion.mapping import parse_mapping

from deliveries import entity_folder, mapped_rules, write_csv, write_jsonl

TICKETS_API = [  # a help desk API's tickets
    {
        "id": 1,
        "created_at": "2025-03-05T10:00:00Z",
        "via": {"channel": "web", "source": {"from": {"address": "ann@example.com"}}},
        "properties": {"hs_pipeline_stage": "closed"},
    },
    {"id": 2, "created_at": "2025-03-05T11:00:00Z", "via": {"channel": "email"}, "properties": {}},
    {"id": 3, "created_at": "2025-03-05T12:00:00Z", "via": "phone", "properties": None},  # no object: nothing there
]
MAPPING = {
    "columns": {
        "ticket_id": "id",
        "opened_at": "created_at",
        "channel": "via.channel",
        "status": "Properties.hs_pipeline_stage",  # the record's member matched as columns are
    }
}


def test_a_nested_member_is_read_by_its_path(con, landing, tmp_path):
    path = write_jsonl(entity_folder(landing, TICKETS) / "tickets.jsonl", TICKETS_API)

    result = load_file(con, TICKETS, path, rules=mapped_rules(tmp_path, TICKETS, MAPPING))

    assert (result.loaded, result.rejected) == (3, 0)
    got = con.execute("select ticket_id, opened_at, channel, status from raw.tickets order by 1").fetchall()
    assert got == [
        ("1", datetime(2025, 3, 5, 10), "web", "closed"),
        ("2", datetime(2025, 3, 5, 11), "email", None),
        ("3", datetime(2025, 3, 5, 12), None, None),
    ]
    # the whole member stays in `_extra`: nothing of it is lost
    extra = con.execute("select _extra->>'via' from raw.tickets where ticket_id = '1'").fetchone()[0]
    assert "ann@example.com" in extra


def test_a_member_whose_name_holds_a_dot_wins_over_a_path(tmp_path):
    """A flattened export's `via.channel` member is that member, not a path into `via`."""
    mapping = parse_mapping(MAPPING, TICKETS)
    match = match_columns(TICKETS, "t.jsonl", ["id", "created_at", "via", "via.channel"], mapping, file_format="jsonl")
    assert match.columns["channel"] == "via.channel" and "channel" not in match.paths
    deeper = match_columns(
        TICKETS,
        "t.jsonl",
        ["id", "created_at", "a.b", "a"],
        parse_mapping({"columns": {"ticket_id": "id", "opened_at": "created_at", "channel": "a.b.c"}}, TICKETS),
        file_format="jsonl",
    )
    assert deeper.paths["channel"] == ("a.b", ("c",))


def test_a_csv_s_dotted_name_is_a_column_name_only(con, landing, tmp_path):
    rows = [{"id": "1", "created_at": "2025-03-05T10:00:00Z", "via": '{"channel": "web"}'}]
    path = write_csv(entity_folder(landing, TICKETS) / "t.csv", rows, ["id", "created_at", "via"])

    load_file(con, TICKETS, path, rules=mapped_rules(tmp_path, TICKETS, MAPPING))

    assert con.execute("select channel from raw.tickets").fetchall() == [(None,)]
