"""`csat check`: ingestion's dry run on a landing folder, with the deployment's mappings and seeds,
that reports per file what loads and what is rejected, and needs nor touches a warehouse, key or
erasure register."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dagster_project.cli import main
from dagster_project.contract import CUSTOMERS, ORDERS, SURVEY_RESPONSES, TICKETS

from deliveries import entity_folder, mapped_rules, write_csv, write_jsonl

FIXTURES = Path(__file__).parent / "fixtures_deployments"
ORDER_COLUMNS = ["order_id", "customer_id", "ordered_at", "status", "amount"]


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    """Where a real run would write or read: the check must leave all of it absent (no key either)."""
    monkeypatch.setenv("CSAT_WAREHOUSE_PATH", str(tmp_path / "warehouse" / "csat.duckdb"))
    monkeypatch.setenv("CSAT_PSEUDONYM_KEY_FILE", str(tmp_path / "secrets" / "key"))
    monkeypatch.delenv("CSAT_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("CSAT_ERASURE_REGISTER", raising=False)
    monkeypatch.delenv("CSAT_DEPLOYMENT_CONFIG", raising=False)
    return tmp_path


def run_check(capsys, *args: str) -> tuple[int, list[str]]:
    code = main(["check", *args])
    return code, capsys.readouterr().out.splitlines()


def check_with_mapping(isolated, landing, capsys, monkeypatch, entity, mapping) -> tuple[int, list[str]]:
    """`csat check` of one entity with `mapping` as its mapping file (the deployment's only one)."""
    mapped_rules(isolated, entity, mapping)  # writes isolated/mappings/<entity>.yml
    (isolated / "deployment.yml").write_text("mappings_dir: mappings\n", encoding="utf-8")
    monkeypatch.setenv("CSAT_DEPLOYMENT_CONFIG", str(isolated / "deployment.yml"))
    return run_check(capsys, "--landing", str(landing), "--entity", entity.name)


def test_a_mapped_deployment_is_checked_without_a_warehouse(isolated, capsys, monkeypatch):
    deployment = isolated / "deployment"
    shutil.copytree(FIXTURES / "complaints_register", deployment)
    monkeypatch.setenv("CSAT_DEPLOYMENT_CONFIG", str(deployment / "deployment.yml"))

    code, out = run_check(capsys, "--landing", str(deployment / "landing"))

    assert code == 0
    assert "complaints.tickets (mapping " in out[1] and out[1].endswith("mappings/tickets.yml)")
    assert out[2] == "  complaints/tickets/2024-06-01_register.csv: 310 rows, 310 load"
    # the register's narratives are blank (as the public register's are without the consumer's
    # consent): a mapped column that finds nothing says so
    assert out[4] == "  contract columns empty in every loaded row: description"
    # the register's columns no contract column comes from: a forgotten mapping would show here
    assert out[5] == (
        "  export columns mapped to nothing (kept in _extra): Company, Company public response, "
        "Consumer disputed?, Product, State"
    )
    assert out[-1].startswith("== 1 entities: 310 rows, 310 load (a dry run")
    assert not (isolated / "warehouse").exists() and not (isolated / "secrets").exists()


def test_rejects_are_shown_by_row_and_a_broken_file_fails_the_check(isolated, landing, capsys):
    rows = [
        dict(zip(ORDER_COLUMNS, values, strict=True))
        for values in (
            ("O1", "C1", "2025-01-01T10:00:00Z", "completed", "5"),
            ("O2", "C1", "2025-01-02T10:00:00Z", "pigeon", "5"),
            ("O3", "C2", "", "completed", "-1"),
        )
    ]
    write_csv(entity_folder(landing, ORDERS) / "2025-01_orders.csv", rows, ORDER_COLUMNS)

    code, out = run_check(capsys, "--landing", str(landing), "--entity", "orders")

    assert code == 0  # rejects are the data's problem; only a file that cannot load fails the check
    assert out[1:] == [
        "crm.orders (no mapping: the contract's names)",
        "  crm/orders/2025-01_orders.csv: 3 rows, 1 load, 2 rejected (enum 1, required 1)",
        "    crm/orders/2025-01_orders.csv row 2: enum: status is not one of completed, pending, cancelled, "
        "refunded: pigeon",
        "    crm/orders/2025-01_orders.csv row 3: required: ordered_at is required but empty; range: amount outside "
        "0..: -1",
        "  contract columns never delivered: channel, store_id, product_category, currency",
        "== 1 entities: 3 rows, 1 load, 2 rejected (enum 1, required 1) (a dry run: the warehouse was not touched)",
    ]
    assert run_check(capsys, "--landing", str(landing), "--entity", "orders", "--strict")[0] == 1

    (entity_folder(landing, ORDERS) / "2025-02_orders.csv").write_text("order_id;customer_id\nO9;C9\n")
    code, out = run_check(capsys, "--landing", str(landing), "--entity", "orders")
    assert code == 1
    assert any(line.startswith("  NOT LOADED: ") and "declare `delimiter: ';'`" in line for line in out)


def test_personal_values_of_rejects_are_not_printed(isolated, landing, capsys):
    (entity_folder(landing, CUSTOMERS) / "crm.csv").write_text(
        "customer_id,full_name,email,birth_date\n"
        "C1,Ada Lovelace,ada@example.com,10/12/1815\n"
        "C2,Grace Hopper,grace@example.com,1906-12-09,extra\n",
        encoding="utf-8",
    )

    code, out = run_check(capsys, "--landing", str(landing), "--entity", "customers")

    text = "\n".join(out)
    assert code == 0 and "row 1: type: birth_date is not a valid date: (value not shown: personal data)" in text
    assert "row 2: malformed: " in text and "(not shown: this entity holds personal data)" in text
    assert "1815" not in text and "Grace" not in text and "grace@" not in text


def test_an_expression_s_inputs_are_not_listed_as_mapped_to_nothing(isolated, landing, capsys, monkeypatch):
    (entity_folder(landing, ORDERS) / "erp.csv").write_text(
        "Order,Customer,Day,Time,Region\nO1,C1,2025-01-01,10:00:00,North\n", encoding="utf-8"
    )
    mapping = {
        "columns": {"order_id": "Order", "customer_id": "Customer"},
        "expressions": {"ordered_at": '"Day" || \' \' || "Time"'},
    }

    code, out = check_with_mapping(isolated, landing, capsys, monkeypatch, ORDERS, mapping)

    assert code == 0 and "  crm/orders/erp.csv: 1 rows, 1 load" in out
    assert "  export columns mapped to nothing (kept in _extra): Region" in out


def test_a_wide_export_read_by_two_entities_is_checked_for_both(isolated, capsys, monkeypatch):
    """The passenger survey's one file feeds the responses and, through `files_of`, the item scores:
    the item columns are the item scores' own, so the responses do not list them as mapped to nothing."""
    deployment = isolated / "deployment"
    shutil.copytree(FIXTURES / "passenger_survey", deployment)
    monkeypatch.setenv("CSAT_DEPLOYMENT_CONFIG", str(deployment / "deployment.yml"))

    code, out = run_check(capsys, "--landing", str(deployment / "landing"))

    assert code == 0
    shown = "  survey/survey_responses/passenger_survey.csv: "
    assert out[out.index(next(line for line in out if line.startswith("survey.survey_responses"))) + 1] == (
        shown + "210 rows, 210 load"
    )
    assert out[out.index(next(line for line in out if line.startswith("survey.survey_item_scores"))) + 1] == (
        shown + "2,940 rows, 2,940 load"
    )
    unmapped = next(line for line in out if line.startswith("  export columns mapped to nothing"))
    assert unmapped == (
        "  export columns mapped to nothing (kept in _extra): Age, Class, Customer Type, Flight Distance, Gender, "
        "Type of Travel"
    )


def test_a_shared_drop_is_checked_with_every_mapping_s_files(isolated, landing, capsys, monkeypatch):
    """Customers and orders in one folder, each mapping naming its files: the check knows whose a
    file is, so only the file no entity reads is named, and neither lists the other's columns."""
    folder = entity_folder(landing, CUSTOMERS)
    (folder / "Accounts.csv").write_text("Id,Segment,Owner\nC1,retail,Ann\n", encoding="utf-8")
    (folder / "Orders.csv").write_text("Id,Account,Date,Owner\nO1,C1,2025-03-01,Bob\n", encoding="utf-8")
    (folder / "Leads.csv").write_text("Id\nL1\n", encoding="utf-8")
    mapped_rules(isolated, CUSTOMERS, {"files": "accounts*", "columns": {"customer_id": "Id", "segment": "Segment"}})
    mapped_rules(
        isolated,
        ORDERS,
        {
            "files_of": "customers",
            "files": "orders*",
            "columns": {"order_id": "Id", "customer_id": "Account", "ordered_at": "Date", "store_id": "Owner"},
            "date_only": ["ordered_at"],
        },
    )
    (isolated / "deployment.yml").write_text("mappings_dir: mappings\n", encoding="utf-8")
    monkeypatch.setenv("CSAT_DEPLOYMENT_CONFIG", str(isolated / "deployment.yml"))

    code, out = run_check(capsys, "--landing", str(landing), "--entity", "customers", "--entity", "orders")

    assert code == 0
    assert "  crm/customers/Accounts.csv: 1 rows, 1 load" in out and "  crm/customers/Orders.csv: 1 rows, 1 load" in out
    assert [line for line in out if "landing folder" in line] == [
        "  landing folder: crm/customers/Leads.csv: not read: its name matches no mapping's `files` "
        "(customers: accounts*; orders: orders*)"
    ]
    # the orders map Owner, the customers do not: the customers' Owner is still mapped to nothing
    assert "  export columns mapped to nothing (kept in _extra): Owner" in out


def test_a_key_s_columns_are_not_listed_as_mapped_to_nothing(isolated, landing, capsys, monkeypatch):
    (entity_folder(landing, SURVEY_RESPONSES) / "form.csv").write_text(
        "Timestamp,Email Address,NPS,Comments\n2025-03-05 14:22:05,ann@example.com,9,ok\n", encoding="utf-8"
    )
    mapping = {
        "key_from": {"response_id": ["Timestamp", "Email Address"]},
        "columns": {"submitted_at": "Timestamp", "likelihood_to_recommend": "NPS"},
        "constants": {"survey_id": "form"},
    }

    code, out = check_with_mapping(isolated, landing, capsys, monkeypatch, SURVEY_RESPONSES, mapping)

    assert code == 0 and "  survey/survey_responses/form.csv: 1 rows, 1 load" in out
    assert "  export columns mapped to nothing (kept in _extra): Comments" in out


def test_a_where_s_columns_are_not_listed_as_mapped_to_nothing(isolated, landing, capsys, monkeypatch):
    (entity_folder(landing, CUSTOMERS) / "contacts.csv").write_text(
        "Id,Type,Owner\nC1,Customer,Ann\nL1,Lead,Bob\n", encoding="utf-8"
    )

    mapping = {"columns": {"customer_id": "Id"}, "where": "\"Type\" = 'Customer'"}

    code, out = check_with_mapping(isolated, landing, capsys, monkeypatch, CUSTOMERS, mapping)

    assert code == 0
    assert "  export columns mapped to nothing (kept in _extra): Owner" in out


def test_a_pivoted_answer_s_original_is_not_listed_as_mapped_to_nothing(isolated, landing, capsys, monkeypatch):
    (entity_folder(landing, SURVEY_RESPONSES) / "long.csv").write_text(
        "response_id,survey,at,question,value,Device\nR1,S1,2025-03-05 10:00:00,NPS,10 - Extremely likely,ios\n",
        encoding="utf-8",
    )
    mapping = {
        "columns": {"survey_id": "survey", "submitted_at": "at"},
        "pivot": {"question": "question", "answer": "value", "columns": {"likelihood_to_recommend": "NPS"}},
        "values": {"likelihood_to_recommend": {"10 - Extremely likely": "10"}},
    }

    code, out = check_with_mapping(isolated, landing, capsys, monkeypatch, SURVEY_RESPONSES, mapping)

    assert code == 0 and "  survey/survey_responses/long.csv: 1 rows, 1 load" in out
    assert "  export columns mapped to nothing (kept in _extra): Device" in out


def test_a_mapped_column_that_finds_nothing_is_named(isolated, landing, capsys, monkeypatch):
    """A path the JSON does not write (its names are case-sensitive) loads as NULL, without a
    reject: the check names the column."""
    write_jsonl(
        entity_folder(landing, TICKETS) / "tickets.jsonl",
        [{"id": 1, "created_at": "2025-03-05T10:00:00Z", "via": {"channel": "web"}}],
    )
    mapping = {"columns": {"ticket_id": "id", "opened_at": "created_at", "channel": "via.Channel"}}

    code, out = check_with_mapping(isolated, landing, capsys, monkeypatch, TICKETS, mapping)

    assert code == 0 and "  contract columns empty in every loaded row: channel" in out


def test_answers_a_later_file_changes_fail_the_check(isolated, landing, capsys):
    """A cumulative export repeating its rows passes; one that changes an answer is what a run's
    gate blocks on, so the dry run fails too."""
    header = "response_id,survey_id,submitted_at,likelihood_to_recommend"
    folder = entity_folder(landing, SURVEY_RESPONSES)
    (folder / "1.csv").write_text(f"{header}\nR1,S1,2025-03-05T10:00:00Z,9\n", encoding="utf-8")
    (folder / "2.csv").write_text(f"{header}\nR1,S1,2025-03-05T10:00:00Z,9\nR2,S1,2025-03-06T10:00:00Z,3\n")
    assert run_check(capsys, "--landing", str(landing))[0] == 0

    (folder / "3.csv").write_text(f"{header}\nR1,S1,2025-03-05T10:00:00Z,2\n", encoding="utf-8")
    code, out = run_check(capsys, "--landing", str(landing))

    assert code == 1
    # R1 of both earlier files: each file's rows are counted
    assert "  CHANGED BY A LATER FILE: 2 rows delivered again with other values" in "\n".join(out)
