"""The deployment file (issue 10, point 1), raw.entity_delivery / raw.delivered_columns, and the
contract values a deployment takes from its own seeds (channels, categories, per-item scales)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project.contract import ENTITIES, SURVEY_ITEM_SCORES, SURVEY_RESPONSES, TICKETS
from dagster_project.deployment import DeploymentConfigError, load_deployment, parse_deployment
from dagster_project.ingestion.loader import entity_rules, load_file
from dagster_project.ingestion.warehouse import connect, raw_table_ddl
from dagster_project.settings import repo_root

from deliveries import entity_folder, survey_response, ticket, write_csv

FIXTURE_SEEDS = Path(__file__).parent / "fixtures_deployment" / "seeds"
ALL = tuple(e.name for e in ENTITIES)


@pytest.fixture(autouse=True)
def _no_deployment_env(monkeypatch):
    for name in ("CSAT_DEPLOYMENT_CONFIG", "CSAT_REPORTING_TIME_ZONE", "CSAT_SEEDS_DIR"):
        monkeypatch.delenv(name, raising=False)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "deployment.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_repo_default_declares_every_entity_in_utc():
    deployment = load_deployment()
    assert deployment.entities == ALL
    assert deployment.reporting_time_zone == "UTC"
    assert deployment.seeds_dir == repo_root() / "seeds"
    assert deployment.mappings_dir == repo_root() / "config" / "mappings"
    assert parse_deployment({}).entities == ALL  # every key is optional


def test_entities_sources_time_zone_and_folders(tmp_path):
    path = write_config(
        tmp_path,
        "entities: [survey, crm.customers, subscriptions]\nreporting_time_zone: Asia/Shanghai\n"
        "seeds_dir: my_seeds\nmappings_dir: /srv/mappings\n",
    )
    deployment = load_deployment(path)
    assert deployment.entities == ("survey_responses", "survey_item_scores", "customers", "subscriptions", "followups")
    assert deployment.reporting_time_zone == "Asia/Shanghai"
    assert deployment.seeds_dir == path.parent / "my_seeds"  # relative to the file
    assert deployment.mappings_dir == Path("/srv/mappings")
    assert deployment.is_declared("followups") and not deployment.is_declared("tickets")


def test_environment_overrides(tmp_path, monkeypatch):
    path = write_config(tmp_path, "entities: [tickets]\nreporting_time_zone: Europe/Paris\n")
    monkeypatch.setenv("CSAT_DEPLOYMENT_CONFIG", str(path))
    monkeypatch.setenv("CSAT_REPORTING_TIME_ZONE", "America/Sao_Paulo")
    monkeypatch.setenv("CSAT_SEEDS_DIR", str(tmp_path / "seeds"))
    deployment = load_deployment()
    assert deployment.entities == ("tickets",)
    assert deployment.reporting_time_zone == "America/Sao_Paulo"
    assert deployment.seeds_dir == tmp_path / "seeds"
    from dagster_project.assets.warehouse import dbt_vars

    assert dbt_vars() == {"reporting_time_zone": "America/Sao_Paulo"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entities: [survey_responses, complaints_register]", "unknown entity or source 'complaints_register'"),
        ("entities: []", "entities must be a non-empty list"),
        ("entities: [crm.tickets]", "entity tickets belongs to source complaints"),
        ("reporting_time_zone: Europe/Atlantis", "'Europe/Atlantis' is not an IANA time zone"),
        ("time_zone: UTC", "unknown key(s) time_zone"),
        ("seeds_dir: 42", "seeds_dir must be a folder path"),
        ("entities: [a", "not valid YAML"),
    ],
)
def test_bad_deployment_files_are_refused_with_a_clear_message(tmp_path, text, message):
    path = write_config(tmp_path, text)
    with pytest.raises(DeploymentConfigError) as error:
        load_deployment(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_a_missing_deployment_file_that_was_asked_for_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CSAT_DEPLOYMENT_CONFIG", str(tmp_path / "nope.yml"))
    with pytest.raises(DeploymentConfigError, match="deployment file not found"):
        load_deployment()


def test_bad_time_zone_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("CSAT_REPORTING_TIME_ZONE", "GMT+8 Beijing")
    with pytest.raises(DeploymentConfigError, match="CSAT_REPORTING_TIME_ZONE"):
        load_deployment()


# --------------------------------------------------------------------------------------- raw layer


def raw_columns(con, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
            "order by ordinal_position",
            [table],
        ).fetchall()
    ]


def test_a_fresh_warehouse_has_every_raw_table_and_the_delivery_tables(con):
    for entity in ENTITIES:
        assert raw_columns(con, entity.name)[: len(entity.columns)] == entity.column_names, entity.name
    assert raw_columns(con, "delivered_columns") == ["entity", "column_name"]
    assert raw_columns(con, "entity_delivery") == [
        "entity", "source", "is_declared", "is_delivered", "rows_loaded", "first_loaded_at", "last_loaded_at",
    ]  # fmt: skip
    rows = con.execute(
        "select entity, source, is_declared, is_delivered, rows_loaded from raw.entity_delivery"
    ).fetchall()
    assert sorted(rows) == sorted((e.name, e.source, True, False, 0) for e in ENTITIES)


def test_an_older_raw_table_gains_the_new_contract_columns(tmp_path):
    path = tmp_path / "old.duckdb"
    before = dataclasses.replace(
        TICKETS, columns=tuple(c for c in TICKETS.columns if c.name not in ("company_response_at", "sla_met"))
    )
    with duckdb.connect(str(path)) as old:
        old.execute("create schema raw")
        old.execute(raw_table_ddl(before))
        old.execute("insert into raw.tickets (ticket_id, opened_at) values ('T1', timestamp '2025-01-01')")
    with connect(path) as con:
        columns = raw_columns(con, "tickets")
        assert {"company_response_at", "sla_met"} <= set(columns)
        assert con.execute("select ticket_id, sla_met from raw.tickets").fetchall() == [("T1", None)]
        # Loading still puts every value in its column (the new columns sit after the old ones).
        folder = tmp_path / "landing" / "complaints" / "tickets"
        rows = [ticket("T2", sla_met="yes", company_response_at="2025-03-10T10:00:00Z")]
        path = write_csv(folder / "t.csv", rows, TICKETS.column_names)
        load_file(con, TICKETS, path)
        got = con.execute(
            "select sla_met, company_response_at, description, _source_file from raw.tickets where ticket_id = 'T2'"
        ).fetchone()
        assert got == (True, datetime(2025, 3, 10, 10), "late parcel", str(path))


def test_an_older_warehouse_gets_its_delivered_columns_backfilled(tmp_path):
    """Rows loaded before ingestion recorded deliveries: the columns holding a value count as delivered
    (dbt reads raw.delivered_columns alone), the empty ones and the untouched entities do not."""
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as old:
        old.execute("create schema raw")
        old.execute(raw_table_ddl(TICKETS))
        old.execute(
            "insert into raw.tickets (ticket_id, customer_id, opened_at, status)"
            " values ('T1', 'C1', timestamp '2025-01-01', 'open'), ('T2', null, timestamp '2025-01-02', null)"
        )
    with connect(path) as con:
        recorded = con.execute("select entity, column_name from raw.delivered_columns order by 1, 2").fetchall()
        delivered = con.execute("select entity from raw.entity_delivery where is_delivered").fetchall()
    assert recorded == [("tickets", c) for c in ("customer_id", "opened_at", "status", "ticket_id")]
    assert delivered == [("tickets",)]


def test_entity_delivery_follows_the_deployment_and_the_loads(tmp_path, landing, monkeypatch):
    monkeypatch.setenv("CSAT_DEPLOYMENT_CONFIG", str(write_config(tmp_path, "entities: [survey]\n")))
    with connect(tmp_path / "wh.duckdb") as con:
        rows = [survey_response("R1"), survey_response("R2"), survey_response("R1", csat_score="4")]
        columns = [c for c in SURVEY_RESPONSES.column_names if c != "is_satisfied"]
        load_file(con, SURVEY_RESPONSES, write_csv(entity_folder(landing, SURVEY_RESPONSES) / "a.csv", rows, columns))
        got = {
            r[0]: r[1:]
            for r in con.execute(
                "select entity, is_declared, is_delivered, rows_loaded, first_loaded_at is not null"
                " from raw.entity_delivery"
            ).fetchall()
        }
    assert got["survey_responses"] == (True, True, 2, True)  # two keys (a later row replaced R1)
    assert got["survey_item_scores"] == (True, False, 0, False)  # declared, never delivered
    assert got["tickets"] == (False, False, 0, False)  # neither
    assert got["followups"] == (True, False, 0, False)


# ---------------------------------------------------------------------------------- seeds and scales


def test_channels_and_categories_come_from_the_deployments_seeds(con, landing):
    rows = [
        ticket("T1", channel="fax", category="payment_trouble"),
        ticket("T2", channel="postal_mail", category="mortgage"),  # a product: any node of the tree
        ticket("T3", channel="chat", category="incorrect_information"),  # chat: not in this deployment's seed
        ticket("T4", channel="web", category="billing"),  # billing: not in this deployment's categories
    ]
    path = write_csv(entity_folder(landing, TICKETS) / "t.csv", rows, TICKETS.column_names)
    result = load_file(con, TICKETS, path, rules=entity_rules(TICKETS, FIXTURE_SEEDS))
    assert (result.loaded, result.rejected) == (2, 2)
    got = con.execute("select row_number, rule, column_name from raw.load_rejects order by 1").fetchall()
    assert got == [(3, "enum", "channel"), (4, "enum", "category")]


def test_item_scores_are_checked_on_each_items_own_scale(con, landing):
    rows = [
        {"response_id": "R1", "item_code": "SEAT", "perception_score": "5"},
        {"response_id": "R1", "item_code": "WIFI", "perception_score": "0"},  # 0 = not applicable: loaded as delivered
        {"response_id": "R1", "item_code": "LIKE", "perception_score": "10"},  # 0-10 item
        {"response_id": "R2", "item_code": "SEAT", "perception_score": "6"},  # above 1-5
        {"response_id": "R2", "item_code": "LIKE", "perception_score": "11"},  # above 0-10
        {"response_id": "R2", "item_code": "WIFI", "perception_score": "3", "expectation_score": "9"},
    ]
    columns = ["response_id", "item_code", "perception_score", "expectation_score"]
    path = write_csv(entity_folder(landing, SURVEY_ITEM_SCORES) / "s.csv", rows, columns)
    result = load_file(con, SURVEY_ITEM_SCORES, path, rules=entity_rules(SURVEY_ITEM_SCORES, FIXTURE_SEEDS))
    assert (result.loaded, result.rejected) == (3, 3)
    got = con.execute("select row_number, rule, column_name, reason from raw.load_rejects order by 1").fetchall()
    assert [r[:3] for r in got] == [
        (4, "range", "perception_score"),
        (5, "range", "perception_score"),
        (6, "range", "expectation_score"),
    ]
    assert "outside the scale of item SEAT (1..5, not applicable 0): 6" in got[0][3]
    assert "(0..10)" in got[1][3]
    loaded = con.execute("select item_code, perception_score from raw.survey_item_scores order by 1").fetchall()
    assert loaded == [("LIKE", 10), ("SEAT", 5), ("WIFI", 0)]


def test_the_repo_catalogue_keeps_the_servqual_scale(con, landing):
    rows = [
        {"response_id": "R1", "item_code": "TAN1", "expectation_score": "7", "perception_score": "1"},
        {"response_id": "R1", "item_code": "TAN2", "expectation_score": "8", "perception_score": "1"},
    ]
    path = write_csv(entity_folder(landing, SURVEY_ITEM_SCORES) / "s.csv", rows, SURVEY_ITEM_SCORES.column_names)
    result = load_file(con, SURVEY_ITEM_SCORES, path)
    assert (result.loaded, result.rejected) == (1, 1)
    assert con.execute("select rule, column_name from raw.load_rejects").fetchall() == [("range", "expectation_score")]
