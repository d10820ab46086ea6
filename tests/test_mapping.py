"""Mapping a company's own export onto the contract with a YAML file alone (issue 10, point 3), optional
columns that are absent (point 2) and the complaints-register shape (point 6, contract side)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from dagster_project.contract import SURVEY_RESPONSES, TICKETS
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.loader import EntityRules, entity_rules, load_file
from dagster_project.ingestion.mapping import MappingError, load_mapping, parse_mapping

from deliveries import entity_folder, write_csv

FIXTURES = Path(__file__).parent / "fixtures_deployment"
SEEDS = FIXTURES / "seeds"  # a complaints register's channels and categories
REPO_SEEDS = Path(__file__).parent.parent / "seeds"


def rejects(con) -> list[tuple]:
    return con.execute("select row_number, rule, column_name, reason from raw.load_rejects order by 1").fetchall()


def delivered_columns(con, entity: str) -> set[str]:
    rows = con.execute("select column_name from raw.delivered_columns where entity = ?", [entity]).fetchall()
    return {r[0] for r in rows}


# ------------------------------------------------------------------------------ complaints register


@pytest.fixture
def register(tmp_path: Path, landing: Path) -> tuple[Path, EntityRules]:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(FIXTURES / "tickets_mapping.yml", mappings / "tickets.yml")
    path = entity_folder(landing, TICKETS) / "2024-04-03_register.csv"
    shutil.copy(FIXTURES / "complaints_register.csv", path)
    return path, entity_rules(TICKETS, SEEDS, mappings)


def test_complaints_register_loads_with_the_mapping_alone(con, register):
    path, rules = register
    result = load_file(con, TICKETS, path, rules=rules)

    assert rejects(con) == []
    assert (result.delivered, result.loaded, result.rejected) == (12, 12, 0)
    rows = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticket_id, customer_id, ticket_type, channel, category, status, opened_at, company_response_at,"
            " sla_met, resolved_at, first_response_at from raw.tickets"
        ).fetchall()
    }
    # Anonymous, a constant type, mapped enums, a date received at midnight New York time (EST, -5h).
    assert rows["8411001"] == (
        None, "complaint", "web", "incorrect_information", "closed",
        datetime(2024, 3, 1, 5), datetime(2024, 3, 4, 5), True, None, None,
    )  # fmt: skip
    # After the switch to daylight saving time (10 March 2024) New York is UTC-4.
    assert rows["8411010"][5:8] == (datetime(2024, 3, 31, 4), datetime(2024, 4, 1, 4), False)
    assert {r[2] for r in rows.values()} == {"web", "referral", "postal_mail", "fax", "phone", "email"}
    assert rows["8411011"][3] is None  # no issue delivered: category unknown, not rejected
    assert rows["8411007"][6] is None  # still in progress: no company response yet
    # Status is what the register says: closed without any resolution timestamp.
    closed = [k for k, r in rows.items() if r[4] == "closed"]
    assert len(closed) == 9 and all(rows[k][8] is None for k in closed)


def test_original_values_are_kept_next_to_the_mapped_ones(con, register):
    path, rules = register
    load_file(con, TICKETS, path, rules=rules)
    extra = json.loads(con.execute("select _extra from raw.tickets where ticket_id = '8411003'").fetchone()[0])
    # Mapped columns keep their original text; columns the contract has no place for stay as delivered.
    assert extra["Submitted via"] == "Postal mail"
    assert extra["Company response to consumer"] == "Closed with monetary relief"
    assert extra["Issue"] == "Trouble during payment process"
    assert extra["Date received"] == "2024-03-02"
    assert extra["Product"] == "Mortgage" and extra["State"] == "CA" and extra["ZIP code"] == "94105"
    assert "Complaint ID" not in extra  # renamed without a change of value: it is ticket_id


def test_delivered_columns_list_what_the_register_carries(con, register):
    path, rules = register
    load_file(con, TICKETS, path, rules=rules)
    assert delivered_columns(con, "tickets") == {
        "ticket_id", "ticket_type", "channel", "category", "opened_at", "company_response_at", "status",
        "sla_met", "description",
    }  # fmt: skip


def test_a_value_the_mapping_did_not_foresee_is_still_rejected(con, register, tmp_path):
    path, rules = register
    text = path.read_text(encoding="utf-8").replace(",Fax,2024-03-05", ",Carrier pigeon,2024-03-05")
    path.write_text(text, encoding="utf-8")
    result = load_file(con, TICKETS, path, rules=rules)
    assert (result.loaded, result.rejected) == (11, 1)
    [(row, rule, column, reason)] = rejects(con)
    assert (row, rule, column) == (4, "enum", "channel") and "Carrier pigeon" in reason
    raw = json.loads(con.execute("select raw_values from raw.load_rejects").fetchone()[0])
    assert raw["Submitted via"] == "Carrier pigeon" and raw["Complaint ID"] == "8411004"  # as delivered


def test_without_the_mapping_the_register_is_refused_with_what_to_map(con, register):
    path, _ = register
    with pytest.raises(ContractError) as error:
        load_file(con, TICKETS, path, rules=entity_rules(TICKETS, SEEDS))
    message = str(error.value)
    assert "missing required column(s): ticket_id, opened_at" in message
    assert "tickets.yml" in message and "columns:" in message and "Optional columns may be left out" in message


# ----------------------------------------------------------------------- a survey tool's own export

SURVEY_MAPPING = {
    "entity": "survey_responses",
    "columns": {
        "response_id": "Response ID",
        "survey_id": "Survey",
        "submitted_at": "Submitted",
        "channel": "Collected via",
        "touchpoint": "Journey step",
        "csat_score": "Stars",
        "is_satisfied": "Overall",
    },
    "values": {
        "channel": {"Web": "web", "In-App": "app", "WeChat Mini Program": "wechat"},
        "touchpoint": {"Checkout": "purchase", "Parcel received": "delivery", "N/A": None},
        "is_satisfied": {"Satisfied": True, "Not satisfied": False},
    },
    "time_zone": "Asia/Shanghai",
    "formats": {"submitted_at": "%d/%m/%Y %H:%M"},
}
SURVEY_EXPORT = [
    {"Response ID": "A1", "Survey": "shop", "Submitted": "31/03/2025 23:30", "Collected via": "Web",
     "Journey step": "Checkout", "Stars": "5", "Overall": "Satisfied", "Order no": "1001"},
    {"Response ID": "A2", "Survey": "shop", "Submitted": "01/04/2025 08:00", "Collected via": "in-app ",
     "Journey step": "N/A", "Stars": "2", "Overall": "Not satisfied", "Order no": "1002"},
    {"Response ID": "A3", "Survey": "shop", "Submitted": "15/01/2025 00:15", "Collected via": "WeChat Mini Program",
     "Journey step": "Parcel received", "Stars": "4", "Overall": "", "Order no": ""},
]  # fmt: skip


def write_mapping(folder: Path, entity: str, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entity}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_foreign_survey_export_loads_with_the_mapping_alone(con, landing, tmp_path):
    write_mapping(tmp_path / "mappings", "survey_responses", SURVEY_MAPPING)
    rules = entity_rules(SURVEY_RESPONSES, REPO_SEEDS, tmp_path / "mappings")
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "export.csv", SURVEY_EXPORT, list(SURVEY_EXPORT[0]))

    result = load_file(con, SURVEY_RESPONSES, path, rules=rules)

    assert rejects(con) == [] and (result.loaded, result.rejected) == (3, 0)
    rows = con.execute(
        "select response_id, submitted_at, channel, touchpoint, csat_score, is_satisfied, likelihood_to_recommend,"
        " json_extract_string(_extra, '$.Submitted'), json_extract_string(_extra, '$.\"Order no\"')"
        " from raw.survey_responses order by 1"
    ).fetchall()
    # Shanghai is UTC+8 all year: local 23:30 on 31 March is 15:30 UTC the same day.
    assert rows == [
        ("A1", datetime(2025, 3, 31, 15, 30), "web", "purchase", 5, True, None, "31/03/2025 23:30", "1001"),
        ("A2", datetime(2025, 4, 1, 0, 0), "app", None, 2, False, None, "01/04/2025 08:00", "1002"),
        ("A3", datetime(2025, 1, 14, 16, 15), "wechat", "delivery", 4, None, None, "15/01/2025 00:15", None),
    ]
    assert delivered_columns(con, "survey_responses") == {
        "response_id", "survey_id", "submitted_at", "channel", "touchpoint", "csat_score", "is_satisfied",
    }  # fmt: skip


def test_time_zone_leaves_timestamps_with_an_offset_as_delivered(con, landing, tmp_path):
    mapping = {
        "columns": {"response_id": "id", "survey_id": "survey", "submitted_at": "at"},
        "time_zone": "Asia/Shanghai",
    }
    write_mapping(tmp_path / "m", "survey_responses", mapping)
    rules = entity_rules(SURVEY_RESPONSES, SEEDS, tmp_path / "m")
    rows = [
        {"id": "1", "survey": "s", "at": "2025-03-31 23:30:00"},
        {"id": "2", "survey": "s", "at": "2025-03-31T23:30:00+02:00"},
        {"id": "3", "survey": "s", "at": "2025-03-31T23:30:00Z"},
        {"id": "4", "survey": "s", "at": "not a time"},
    ]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "e.csv", rows, ["id", "survey", "at"])
    load_file(con, SURVEY_RESPONSES, path, rules=rules)
    got = con.execute("select response_id, submitted_at from raw.survey_responses order by 1").fetchall()
    assert got == [
        ("1", datetime(2025, 3, 31, 15, 30)),  # naive: Shanghai local time
        ("2", datetime(2025, 3, 31, 21, 30)),  # its own offset wins
        ("3", datetime(2025, 3, 31, 23, 30)),
    ]
    [(row, rule, column, reason)] = rejects(con)
    assert (row, rule, column) == (4, "type", "submitted_at") and "not a time" in reason


# ------------------------------------------------------------------------------- optional columns


def test_absent_optional_columns_load_as_null(con, landing):
    columns = ["response_id", "survey_id", "submitted_at", "csat_score"]
    rows = [{"response_id": "R1", "survey_id": "S", "submitted_at": "2025-03-01T10:00:00Z", "csat_score": "4"}]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "min.csv", rows, columns)
    result = load_file(con, SURVEY_RESPONSES, path)
    assert (result.loaded, result.rejected) == (1, 0)
    row = con.execute(
        "select * exclude (_extra, _source_file, _row_number, _file_sha256, _loaded_at) from raw.survey_responses"
    ).df()
    assert row.loc[0, "csat_score"] == 4
    absent = [c for c in SURVEY_RESPONSES.column_names if c not in columns]
    assert row[absent].isna().all(axis=None)
    assert delivered_columns(con, "survey_responses") == set(columns)


def test_missing_required_column_names_the_columns_to_add_or_map(con, landing):
    rows = [{"response_id": "R1", "when": "2025-03-01T10:00:00Z"}]
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "bad.csv", rows, ["response_id", "when"])
    with pytest.raises(ContractError) as error:
        load_file(con, SURVEY_RESPONSES, path)
    message = str(error.value)
    assert str(path) in message
    assert "missing required column(s): survey_id, submitted_at" in message
    assert "Found: response_id, when" in message
    assert "survey_responses.yml" in message and "Add these columns" in message


def test_a_mapped_column_missing_from_the_file_says_where_it_was_mapped_from(con, landing, tmp_path):
    write_mapping(tmp_path / "m", "survey_responses", {"columns": {"submitted_at": "Date", "survey_id": "Survey"}})
    rules = entity_rules(SURVEY_RESPONSES, SEEDS, tmp_path / "m")
    path = write_csv(entity_folder(landing, SURVEY_RESPONSES) / "x.csv", [], ["response_id", "Survey", "Submitted"])
    with pytest.raises(ContractError, match=r"submitted_at \(mapped from 'Date'\)"):
        load_file(con, SURVEY_RESPONSES, path, rules=rules)


# ---------------------------------------------------------------------------------- bad mapping files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [a, b]", "columns must be a mapping"),
        ("colums: {ticket_id: ID}", "unknown key(s) colums"),
        ("entity: orders", "entity is 'orders' but this file maps tickets"),
        ("columns: {ticket_no: ID}", "'ticket_no' is not a column of complaints.tickets"),
        ("columns: {ticket_id: ''}", "give the export's column name"),
        ("columns: {ticket_type: Kind}\nconstants: {ticket_type: complaint}", "also mapped from column 'Kind'"),
        ("constants: {ticket_type: [a, b]}", "expected a single value"),
        ("values: {channel: web}", "values: channel must map export values to contract values"),
        ("time_zone: Mars/Olympus", "'Mars/Olympus' is not an IANA time zone"),
        ("date_only: [channel]", "channel is a str column; only ts columns allowed"),
        ("formats: {opened_at: 'MM/DD/YYYY'}", "give a strptime format"),
        ("columns: {ticket_id: [", "not valid YAML"),
        ("- just a list", "expected a mapping with keys"),
    ],
)
def test_bad_mapping_files_are_refused_with_a_clear_message(tmp_path, text, message):
    (tmp_path / "tickets.yml").write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as error:
        load_mapping(tmp_path, TICKETS)
    assert message in str(error.value)
    assert str(tmp_path / "tickets.yml") in str(error.value)


def test_the_shipped_mapping_example_is_valid():
    data = yaml.safe_load((FIXTURES / "tickets_mapping.yml").read_text(encoding="utf-8"))
    mapping = parse_mapping(data, TICKETS)
    assert mapping.constants == {"ticket_type": "complaint"}
    assert mapping.values["status"]["closed with explanation"] == "closed"
