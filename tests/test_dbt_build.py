"""Builds the dbt project (seed, run, test) on a tiny raw warehouse and checks the KPI marts.

The raw tables are created here from `dagster_project.contract` (same layout as ingestion: contract
columns in contract order with the contract's DuckDB types, then the load metadata columns), so this
test does not depend on the loader. The data is hand-made and small; the expected KPI values below
are worked out by hand from it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from working_files import copy_working, open_working

from dagster_project.contract import ENTITIES, Entity
from dagster_project.ingestion.warehouse import METADATA_COLUMNS, connect
from dagster_project.privacy.keys import load_keys
from dagster_project.privacy.pseudonyms import install_keys, refresh_customer_pseudonyms

from kpi_reference import invoke_dbt, unit_test_statuses

pytestmark = pytest.mark.pipeline

LOADED_AT = datetime(2024, 5, 1, 0, 0, 0)


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Tiny raw data set: entity -> list of rows (dicts keyed by contract column; missing = NULL).
TINY_RAW: dict[str, list[dict]] = {
    "customers": [
        {
            "customer_id": "C1",
            "full_name": "Ann Lee",
            "email": "ann@example.com",
            "segment": "VIP",
            "region": "North",
            "city": "Oslo",
            "signup_at": ts("2023-01-01 00:00:00"),
            "updated_at": ts("2023-06-01 00:00:00"),
        },
        {
            "customer_id": "C2",
            "full_name": "Bo Chen",
            "phone": "+86 10 1234",
            "segment": "Regular ",
            "region": " South",
            "updated_at": ts("2023-06-01 00:00:00"),
        },
        {"customer_id": "C3", "segment": None, "region": "", "updated_at": ts("2023-07-01 00:00:00")},
        {"customer_id": "C4", "segment": "new", "region": "east", "updated_at": None},
    ],
    "stores": [
        {
            "store_id": "S1",
            "store_name": "Main street",
            "city": "Oslo",
            "region": "North",
            "opened_at": date(2020, 1, 1),
        },
    ],
    "employees": [
        {"employee_id": "E1", "full_name": "Agent One", "role": "Agent", "team": "care"},
        {"employee_id": "E2", "full_name": "Manager Two", "role": "account_manager"},
    ],
    "survey_responses": [
        {
            "response_id": "R1",
            "survey_id": "SV1",
            "customer_id": "C1",
            "submitted_at": ts("2024-01-05 10:00:00"),
            "channel": "web",
            "touchpoint": "purchase",
            "likelihood_to_recommend": 10,
            "csat_score": 5,
            "effort_score": 6,
            "overall_satisfaction": 10,
            "expectation_confirmation": 10,
            "ideal_comparison": 7,
            "order_id": "O1",
            "language": " EN",
            "comment": " Great service ",
        },
        {
            "response_id": "R2",
            "survey_id": "SV1",
            "customer_id": "C2",
            "submitted_at": ts("2024-01-20 10:00:00"),
            "channel": " App",
            "touchpoint": "delivery",
            "likelihood_to_recommend": 3,
            "csat_score": 2,
            "effort_score": 2,
            "comment": "   ",  # blank: no comment
        },
        {
            "response_id": "R3",
            "survey_id": "SV2",
            "customer_id": None,
            "submitted_at": ts("2024-02-03 10:00:00"),
            "channel": "email",
            "touchpoint": "support",
            "likelihood_to_recommend": 8,
            "csat_score": 4,
            "effort_score": 5,
            "overall_satisfaction": 1,
            "expectation_confirmation": 1,
            "ideal_comparison": 1,
        },
        {
            "response_id": "R4",
            "survey_id": "SV2",
            "customer_id": "C3",
            "submitted_at": ts("2024-03-10 10:00:00"),
            "channel": "web",
            "touchpoint": "purchase",
            "likelihood_to_recommend": 9,
        },
    ],
    "survey_item_scores": [
        *[
            {"response_id": "R1", "item_code": code, "expectation_score": 6, "perception_score": p}
            for code, p in [("TAN1", 5), ("TAN2", 7), ("REL1", 4), ("RES1", 6), ("ASS1", 7), ("EMP1", 3)]
        ],
        {"response_id": "R3", "item_code": "REL1", "expectation_score": 7, "perception_score": 7},
    ],
    "orders": [
        {
            "order_id": "O1",
            "customer_id": "C1",
            "ordered_at": ts("2024-01-02 09:00:00"),
            "status": "completed",
            "channel": "web",
            "store_id": None,
            "amount": 100,
            "currency": "eur",
        },
        {
            "order_id": "O2",
            "customer_id": "C1",
            "ordered_at": ts("2024-01-15 09:00:00"),
            "status": "Completed",
            "channel": "app",
            "amount": 50,
            "currency": "EUR",
        },
        {
            "order_id": "O3",
            "customer_id": "C2",
            "ordered_at": ts("2024-01-10 09:00:00"),
            "status": "cancelled",
            "channel": "store",
            "store_id": "S1",
            "amount": 10,
        },
        {
            "order_id": "O4",
            "customer_id": "C2",
            "ordered_at": ts("2024-02-01 09:00:00"),
            "status": "completed",
            "channel": "store",
            "store_id": "S1",
            "amount": 20,
        },
        {
            "order_id": "O5",
            "customer_id": "C2",
            "ordered_at": ts("2024-03-15 09:00:00"),
            "status": "completed",
            "channel": "store",
            "store_id": "S1",
            "amount": 30,
        },
        {
            "order_id": "O6",
            "customer_id": "C4",
            "ordered_at": ts("2024-03-20 09:00:00"),
            "status": "refunded",
            "channel": "web",
            "amount": 40,
        },
        {
            "order_id": "O7",
            "customer_id": "C3",
            "ordered_at": ts("2024-04-01 09:00:00"),
            "status": "pending",
            "channel": "web",
            "amount": 60,
        },
    ],
    "tickets": [
        {
            "ticket_id": "T1",
            "customer_id": "C1",
            "ticket_type": "complaint",
            "channel": "phone",
            "category": "delivery",
            "severity": "high",
            "opened_at": ts("2024-01-03 08:00:00"),
            "first_response_at": ts("2024-01-03 10:30:00"),
            "resolved_at": ts("2024-01-04 06:00:00"),
            "closed_at": ts("2024-01-05 00:00:00"),
            "status": "closed",
            "reopen_count": 0,
            "contact_count": 1,
            "escalated": False,
            "agent_id": "E1",
        },
        {
            "ticket_id": "T2",
            "customer_id": "C2",
            "ticket_type": "Complaint",
            "channel": "email",
            "category": "billing",
            "severity": "low",
            "opened_at": ts("2024-01-25 00:00:00"),
            "first_response_at": ts("2024-01-26 00:00:00"),
            "resolved_at": ts("2024-02-10 00:00:00"),
            "status": "reopened",
            "reopen_count": 1,
            "contact_count": 3,
            "escalated": True,
            "agent_id": "E1",
        },
        {
            "ticket_id": "T3",
            "customer_id": "C3",
            "ticket_type": "inquiry",
            "channel": "chat",
            "category": "other",
            "severity": "low",
            "opened_at": ts("2024-02-01 00:00:00"),
            "status": "open",
        },
        {
            "ticket_id": "T4",
            "customer_id": "C4",
            "ticket_type": "complaint",
            "channel": "chat",
            "category": "price",
            "severity": None,
            "opened_at": ts("2024-02-14 00:00:00"),
            "status": "open",
            "reopen_count": 0,
            "contact_count": 1,
        },
        {
            "ticket_id": "T5",
            "customer_id": "C1",
            "ticket_type": "complaint",
            "channel": "app",
            "category": "product_quality",
            "severity": "critical",
            "opened_at": ts("2024-03-01 00:00:00"),
            "first_response_at": ts("2024-03-01 00:30:00"),
            "resolved_at": ts("2024-03-01 05:00:00"),
            "status": "resolved",
            "reopen_count": 0,
            "contact_count": 1,
            "escalated": False,
            "agent_id": "E1",
        },
        {
            "ticket_id": "T6",
            "customer_id": "C2",
            "ticket_type": "complaint",
            "channel": "email",
            "category": "billing",
            "severity": "medium",
            "opened_at": ts("2024-02-01 00:00:00"),
            "first_response_at": ts("2024-02-01 01:00:00"),
            "resolved_at": ts("2024-02-03 00:00:00"),
            "status": "closed",
            "reopen_count": 1,
            "contact_count": 2,
            "escalated": False,
        },
    ],
    "subscriptions": [
        {
            "subscription_id": "SB1",
            "customer_id": "C1",
            "plan": "Gold",
            "started_at": ts("2023-12-01 00:00:00"),
            "ended_at": None,
            "mrr": 50,
        },
        {
            "subscription_id": "SB2",
            "customer_id": "C2",
            "plan": "basic",
            "started_at": ts("2023-11-15 00:00:00"),
            "ended_at": ts("2024-02-10 00:00:00"),
            "mrr": 30,
        },
        {
            "subscription_id": "SB3",
            "customer_id": "C3",
            "plan": "basic",
            "started_at": ts("2024-01-10 00:00:00"),
            "ended_at": ts("2024-03-05 00:00:00"),
            "mrr": 20,
        },
        {
            "subscription_id": "SB4",
            "customer_id": "C4",
            "plan": "basic",
            "started_at": ts("2024-02-01 00:00:00"),
            "ended_at": None,
            "mrr": 10,
        },
    ],
}


def insert_rows(con: duckdb.DuckDBPyConnection, entity: Entity, rows: list[dict]) -> None:
    names = entity.column_names + list(METADATA_COLUMNS)
    placeholders = ", ".join("?" for _ in names)
    for number, row in enumerate(rows, start=1):
        unknown = set(row) - set(entity.column_names)
        if unknown:
            raise ValueError(f"{entity.name}: columns not in the contract: {sorted(unknown)}")
        values = [row.get(name) for name in entity.column_names]
        values += [None, f"test/{entity.name}.csv", number, "0" * 64, LOADED_AT]
        con.execute(f"insert into raw.{entity.name} values ({placeholders})", values)


def build_raw_warehouse(path: Path, data: dict[str, list[dict]] | None = None) -> None:
    """Write a DuckDB file at `path` holding the raw layer filled with `data` (default TINY_RAW)."""
    data = TINY_RAW if data is None else data
    con = connect(path)  # ingestion's raw layer: the tables, the pseudonym table, delivery records
    try:
        for entity in ENTITIES:
            insert_rows(con, entity, data.get(entity.name, []))
        # Ingestion's keyed pseudonyms of e-mails and phones (dagster_project/privacy).
        install_keys(con, load_keys())
        refresh_customer_pseudonyms(con, load_keys())
    finally:
        con.close()
    # Reopening records what the rows written here deliver (raw.delivered_columns, raw.entity_delivery).
    connect(path).close()


def run_dbt(args: list[str], tmp_path: Path) -> None:
    """Run dbt in-process against the project; fail with dbt's own messages when it fails."""
    result = invoke_dbt([*args, "--threads", "2"], tmp_path)
    if not result.success:
        failures = []
        for node_result in getattr(result.result, "results", None) or []:
            if str(node_result.status) not in ("success", "pass"):
                failures.append(f"{node_result.node.unique_id}: {node_result.status}: {node_result.message}")
        pytest.fail(f"dbt {' '.join(args)} failed: {result.exception or ''}\n" + "\n".join(failures))


@pytest.fixture(scope="module")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny raw warehouse on which `dbt build` has run once; returns the DuckDB file path."""
    tmp_path = tmp_path_factory.mktemp("dbt_build")
    warehouse = tmp_path / "csat.duckdb"
    build_raw_warehouse(warehouse)
    mp = pytest.MonkeyPatch()
    mp.setenv("CSAT_WAREHOUSE_PATH", str(warehouse))
    try:
        run_dbt(["build"], tmp_path)
    finally:
        mp.undo()
    return warehouse


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = open_working(path)  # the configuration of dbt's own (still open) in-process connection
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def kpi(path: Path, name: str, month: str, **slice_: str) -> tuple:
    slices = {c: slice_.get(c, "all") for c in ("segment", "region", "channel", "touchpoint", "category")}
    rows = query(
        path,
        "select value, numerator, denominator, sample_size, is_mature from marts.kpi_monthly"
        " where kpi = ? and month_start_date = ? and segment = ? and region = ? and channel = ?"
        " and touchpoint = ? and category = ?",
        [name, date.fromisoformat(month), *slices.values()],
    )
    assert len(rows) == 1, f"{name} {month} {slices}: {len(rows)} rows"
    return rows[0]


def test_build_succeeds_and_marts_have_rows(built_warehouse: Path) -> None:
    assert query(built_warehouse, "select count(*) from marts.kpi_monthly")[0][0] > 0
    assert query(built_warehouse, "select count(*) from marts.scorecard_monthly")[0][0] > 0


def test_the_build_ran_and_passed_every_dbt_unit_test(built_warehouse: Path) -> None:
    # The pipeline's build leaves dbt's unit tests out (fixed inline rows, not the run's data); this
    # build is where they run on DuckDB, so it must have run all of them.
    declared, ran = unit_test_statuses(built_warehouse.parent / "target")
    assert len(declared) >= 20 and set(ran) == declared
    assert set(ran.values()) == {"pass"}


def test_grid_has_one_row_per_month_kpi_and_slice(built_warehouse: Path) -> None:
    months = query(built_warehouse, "select distinct month_start_date from marts.kpi_monthly order by 1")
    # first month: subscription SB2 started 2023-11; last: valid (pending) order O7 in 2024-04
    assert [m[0] for m in months] == [date(2023, m, 1) for m in (11, 12)] + [date(2024, m, 1) for m in (1, 2, 3, 4)]
    duplicates = query(
        built_warehouse,
        "select count(*) from (select month_start_date, kpi, segment, region, channel, touchpoint,"
        " category from marts.kpi_monthly group by all having count(*) > 1)",
    )
    assert duplicates[0][0] == 0
    kpis = {r[0] for r in query(built_warehouse, "select distinct kpi from marts.kpi_monthly")}
    # 28 KPIs of KPIS.md + satisfied_pct, timely_response_rate, perception_score and one
    # perception_score_<dimension> per SERVQUAL dimension (issue 10)
    assert len(kpis) == 36


def test_survey_kpis(built_warehouse: Path) -> None:
    # January: R1 promoter, R2 detractor -> NPS 0 over 2 responses
    assert kpi(built_warehouse, "nps", "2024-01-01")[:4] == (0.0, 0.0, 2.0, 2)
    # February: R3 (anonymous, passive) -> segment unknown
    assert kpi(built_warehouse, "nps", "2024-02-01", segment="unknown")[:4] == (0.0, 0.0, 1.0, 1)
    # empty group: vip in February has no response -> NULL value, zero counts
    assert kpi(built_warehouse, "nps", "2024-02-01", segment="vip")[:4] == (None, 0.0, 0.0, 0)
    # channel trimmed and lower-cased: ' App' -> app
    assert kpi(built_warehouse, "csat_pct", "2024-01-01", channel="app")[:3] == (0.0, 0.0, 1.0)
    assert kpi(built_warehouse, "csat_pct", "2024-01-01")[0] == 50.0
    assert kpi(built_warehouse, "ces", "2024-01-01")[0] == 4.0
    assert kpi(built_warehouse, "ces_easy_pct", "2024-01-01")[0] == 50.0
    # CSI of R1: (100 + 100 + 66.667) / 3 = 88.8889; R2 has no CSI items
    assert kpi(built_warehouse, "csi", "2024-01-01")[::3] == (88.8889, 1)
    # SERVQUAL R1: tangibles (-1 + 1) / 2 = 0, reliability -2, responsiveness 0, assurance 1,
    # empathy -3 -> unweighted -0.8; weighted 0.11*0 + 0.32*-2 + 0.22*0 + 0.19*1 + 0.16*-3 = -0.93
    assert kpi(built_warehouse, "servqual_gap", "2024-01-01")[0] == -0.8
    assert kpi(built_warehouse, "servqual_gap_weighted", "2024-01-01")[0] == -0.93
    assert kpi(built_warehouse, "servqual_gap_reliability", "2024-01-01")[0] == -2.0
    # February: only reliability answered -> dimension gap 0, overall gap NULL (dimensions missing)
    assert kpi(built_warehouse, "servqual_gap_reliability", "2024-02-01")[0] == 0.0
    assert kpi(built_warehouse, "servqual_gap", "2024-02-01")[0] is None


def test_commercial_kpis(built_warehouse: Path) -> None:
    # January valid orders: C1 x2 (O1 web, O2 app); O3 cancelled -> 1 buyer, 1 repeater
    assert kpi(built_warehouse, "repeat_purchase_rate", "2024-01-01")[:4] == (100.0, 1.0, 1.0, 1)
    # by order channel, C1 bought once on web and once in the app: no repeat within a channel
    assert kpi(built_warehouse, "repeat_purchase_rate", "2024-01-01", channel="web")[0] == 0.0
    # cohorts: C1 in January (O2 within 90 days), C2 in February (O5 43 days later),
    # C3 in April (pending counts as valid; no repurchase); last event 2024-04-01 -> none mature
    assert kpi(built_warehouse, "repurchase_90d_rate", "2024-01-01")[:5] == (100.0, 1.0, 1.0, 1, False)
    assert kpi(built_warehouse, "repurchase_90d_rate", "2024-04-01")[:4] == (0.0, 0.0, 1.0, 1)
    assert kpi(built_warehouse, "nps", "2024-01-01")[4] is None
    # February: active at start C1, C2, C3 (SB3 started 2024-01-10); C2 churned (SB2 ended 02-10)
    assert kpi(built_warehouse, "logo_churn_rate", "2024-02-01")[:4] == (33.3333, 1.0, 3.0, 3)
    assert kpi(built_warehouse, "gross_revenue_churn_rate", "2024-02-01")[:3] == (30.0, 30.0, 100.0)
    assert kpi(built_warehouse, "retention_rate", "2024-02-01")[0] == 66.6667
    # January: C3 joined during the month -> not in the denominator; active C1, C2
    assert kpi(built_warehouse, "logo_churn_rate", "2024-01-01")[:4] == (0.0, 0.0, 2.0, 2)


def test_complaint_kpis(built_warehouse: Path) -> None:
    # T3 is an inquiry, not a complaint; 'Complaint' is lower-cased at staging
    assert kpi(built_warehouse, "complaint_volume", "2024-01-01")[:4] == (2.0, 2.0, None, 2)
    assert kpi(built_warehouse, "complaint_volume", "2023-12-01")[:4] == (0.0, 0.0, None, 0)
    # January: 2 complaints / 2 valid orders * 1000
    assert kpi(built_warehouse, "complaint_rate", "2024-01-01")[0] == 1000.0
    # first response: T1 2.5 h, T2 24 h -> median 13.25, p90 = 2.5 + 0.9 * 21.5 = 21.85
    assert kpi(built_warehouse, "first_response_hours_median", "2024-01-01")[:4] == (13.25, None, None, 2)
    assert kpi(built_warehouse, "first_response_hours_p90", "2024-01-01")[0] == 21.85
    # January resolved: T1 in 22 h (high: 24 h target) -> SLA met, FCR
    assert kpi(built_warehouse, "resolution_hours_median", "2024-01-01")[0] == 22.0
    assert kpi(built_warehouse, "sla_attainment_rate", "2024-01-01")[0] == 100.0
    # T2's latest status is reopened: not resolved, whatever its resolved_at (2024-02-10).
    # February resolved: T6 only, in 48 h (medium: 48 h target, met), reopened once, 2 contacts
    assert kpi(built_warehouse, "resolution_hours_median", "2024-02-01")[:4] == (48.0, None, None, 1)
    assert kpi(built_warehouse, "sla_attainment_rate", "2024-02-01")[:4] == (100.0, 1.0, 1.0, 1)
    assert kpi(built_warehouse, "first_contact_resolution_rate", "2024-02-01")[0] == 0.0
    assert kpi(built_warehouse, "reopen_rate", "2024-02-01")[0] == 100.0
    # March: T5 critical resolved in 5 h (target 8 h) -> met; nothing resolved in April
    assert kpi(built_warehouse, "sla_attainment_rate", "2024-03-01")[0] == 100.0
    assert kpi(built_warehouse, "sla_attainment_rate", "2024-04-01")[:4] == (None, 0.0, 0.0, 0)
    # backlog at end of January: T2 (resolved in February); end of February: T2 (reopened), T4
    assert kpi(built_warehouse, "backlog", "2024-01-01")[0] == 1.0
    assert kpi(built_warehouse, "backlog", "2024-02-01")[0] == 2.0
    assert kpi(built_warehouse, "escalation_rate", "2024-01-01")[0] == 50.0
    # complaint KPIs are sliced by category; complaint_rate is not
    assert kpi(built_warehouse, "complaint_volume", "2024-02-01", category="price")[0] == 1.0
    assert (
        query(
            built_warehouse,
            "select count(*) from marts.kpi_monthly where kpi = 'complaint_rate' and category <> 'all'",
        )[0][0]
        == 0
    )


def test_scorecard(built_warehouse: Path) -> None:
    rows = query(
        built_warehouse,
        "select actual, target, variance, status, direction from marts.scorecard_monthly"
        " where kpi = 'nps' and month_start_date = date '2024-01-01'",
    )
    # NPS 0 against a target of 30 is off target, but on 2 responses (minimum 30): insufficient sample
    assert rows == [(0.0, 30.0, -30.0, "insufficient_sample", "higher_is_better")]
    statuses = {r[0] for r in query(built_warehouse, "select distinct status from marts.scorecard_monthly")}
    assert statuses <= {"green", "amber", "red", "no_data", "insufficient_sample"}
    no_data = query(
        built_warehouse,
        "select status from marts.scorecard_monthly where kpi = 'nps' and month_start_date = date '2023-11-01'",
    )
    assert no_data == [("no_data",)]


def test_survey_fact_carries_each_response_s_own_attributes(built_warehouse: Path) -> None:
    """Each response's ticket, language and comment flag as delivered (trimmed, the language
    lower-cased, a blank comment none), and its order in the analytics responses: they reach both
    models through int_survey_responses_scored, not from a second read of the staging view."""
    delivered = {r["response_id"]: r for r in TINY_RAW["survey_responses"]}
    fact = query(
        built_warehouse, "select response_id, ticket_id, language, has_comment from marts.fct_survey_responses"
    )
    assert {row[0] for row in fact} == set(delivered)
    for response_id, ticket_id, language, has_comment in fact:
        raw = delivered[response_id]
        assert ticket_id == raw.get("ticket_id"), response_id
        assert language == (raw["language"].strip().lower() if raw.get("language") else None), response_id
        assert has_comment == bool((raw.get("comment") or "").strip()), response_id
    assert query(
        built_warehouse, "select language, has_comment from marts.fct_survey_responses where response_id = 'R1'"
    ) == [("en", True)]
    orders = dict(query(built_warehouse, "select response_id, order_id from intermediate.int_analytics_responses"))
    assert orders == {k: r.get("order_id") for k, r in delivered.items() if k in orders}
    assert any(orders.values())


def test_dim_customer_hides_personal_data(built_warehouse: Path) -> None:
    columns = {
        r[0]
        for r in query(
            built_warehouse,
            "select column_name from information_schema.columns where table_schema = 'marts'"
            " and table_name = 'dim_customer'",
        )
    }
    assert not columns & {"full_name", "email", "phone", "birth_date"}
    values = json.dumps(query(built_warehouse, "select * from marts.dim_customer"), default=str)
    assert "ann@example.com" not in values and "Ann Lee" not in values
    # E-mail only as the keyed pseudonym computed at ingestion, on every version of the customer.
    pseudonym = load_keys().current.pseudonym("ann@example.com")
    assert hashlib.md5(b"ann@example.com").hexdigest() not in values
    assert set(query(built_warehouse, "select email_hash from marts.dim_customer where customer_id = 'C1'")) == {
        (pseudonym,)
    }


def test_every_model_and_column_is_documented(built_warehouse: Path) -> None:
    """Every staging / intermediate / mart model, and every column it has in the warehouse, carries a
    description; every source table carries its Dagster asset key."""
    manifest = json.loads((built_warehouse.parent / "target" / "manifest.json").read_text())
    layers = ("staging", "intermediate", "marts")
    actual = {}
    for _schema, table, column in query(
        built_warehouse,
        "select table_schema, table_name, column_name from information_schema.columns"
        " where table_schema in ('staging', 'intermediate', 'marts')",
    ):
        actual.setdefault(table, set()).add(column)
    problems = []
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] in layers]
    assert models, "no models in the manifest"
    for node in models:
        if not node["description"].strip():
            problems.append(f"{node['name']}: no description")
        documented = {name for name, c in node["columns"].items() if c["description"].strip()}
        for column in sorted(actual.get(node["alias"], set()) - documented):
            problems.append(f"{node['name']}.{column}: no description")
    for source in manifest["sources"].values():
        if source["meta"].get("dagster", {}).get("asset_key") != ["raw", source["name"]]:
            problems.append(f"source {source['source_name']}.{source['name']}: no dagster asset_key meta")
    assert problems == []


# A model-level test folds one dbt test per column into one scan and one node (dbt's per-node cost
# dominated sample-data builds); each must still fail with one row per broken column and its count.
# (test, model, statements that break a copy of the built warehouse, expected failure rows; a count
# written as a query is counted on the intact copy)
FOLDED_TESTS = {
    "not_null_columns": (
        "intermediate.int_driver_response_values",
        [
            "update intermediate.int_driver_response_values set driver_value = null",
            "update intermediate.int_driver_response_values set driver = null"
            " where response_id = (select min(response_id) from intermediate.int_driver_response_values)",
        ],
        [
            (
                "driver",
                "select count(*) from intermediate.int_driver_response_values"
                " where response_id = (select min(response_id) from intermediate.int_driver_response_values)",
            ),
            ("driver_value", "select count(*) from intermediate.int_driver_response_values"),
        ],
    ),
    # the key's rows count each row that shares its key with another: C1's versions, twice
    "key_and_not_null_columns": (
        "marts.dim_customer",
        [
            "update marts.dim_customer set segment = null",
            "update marts.dim_customer set region = null where customer_id = 'C2'",
            "insert into marts.dim_customer select * from marts.dim_customer where customer_id = 'C1'",
        ],
        [
            ("not_null", "region", "select count(*) from marts.dim_customer where customer_id = 'C2'"),
            (
                "not_null",
                "segment",
                "select count(*) + (select count(*) from marts.dim_customer where customer_id = 'C1')"
                " from marts.dim_customer",
            ),
            (
                "unique",
                "customer_id, valid_from_at",
                "select 2 * count(*) from marts.dim_customer where customer_id = 'C1'",
            ),
        ],
    ),
    "relationships_columns": (
        "marts.fct_survey_responses",
        [
            "update marts.fct_survey_responses set channel_key = 'no such channel'",
            "update marts.fct_survey_responses set order_key = null",  # NULL is not an orphan
            # `unknown` is allowed without a parent (the test's `where`); another value is not
            "update marts.fct_survey_responses set touchpoint = 'unknown'",
            "update marts.fct_survey_responses set touchpoint = 'no such touchpoint'"
            " where response_id = (select min(response_id) from marts.fct_survey_responses)",
        ],
        [
            ("channel_key", "dim_channel", "select count(*) from marts.fct_survey_responses"),
            ("touchpoint", "touchpoints", 1),
        ],
    ),
    "accepted_values_columns": (
        "marts.scorecard_monthly",
        [
            "update marts.scorecard_monthly set status = 'purple'",
            "update marts.scorecard_monthly set status = null"  # NULL is the not-null test's
            " where kpi = (select min(kpi) from marts.scorecard_monthly)",
        ],
        [
            (
                "status",
                "select count(*) from marts.scorecard_monthly"
                " where kpi <> (select min(kpi) from marts.scorecard_monthly)",
            )
        ],
    ),
}


@pytest.mark.parametrize("test_name", sorted(FOLDED_TESTS))
def test_a_folded_test_names_each_broken_column_and_its_rows(
    built_warehouse: Path, tmp_path: Path, test_name: str
) -> None:
    """not_null_columns, key_and_not_null_columns, relationships_columns and accepted_values_columns
    fail with one row per broken column (and broken key), carrying the number of rows that break it;
    untouched columns pass."""
    relation, statements, expected = FOLDED_TESTS[test_name]
    broken = tmp_path / "csat.duckdb"
    copy_working(built_warehouse, broken)
    with open_working(broken) as con:
        assert con.execute(f"select count(*) from {relation}").fetchone()[0] > 1
        counts = {
            value: con.execute(value).fetchone()[0]
            for row in expected
            for value in row
            if isinstance(value, str) and value.startswith("select ")
        }
        for statement in statements:
            con.execute(statement)
    model = relation.split(".")[1]
    mp = pytest.MonkeyPatch()
    mp.setenv("CSAT_WAREHOUSE_PATH", str(broken))
    try:
        result = invoke_dbt(["test", "--select", f"{model},test_name:{test_name}", "--store-failures"], tmp_path)
    finally:
        mp.undo()
    assert not result.success
    # --store-failures keeps a table per selected test (the tests of models that reference this one
    # too); only the broken model's own test has rows
    tables = [
        f"{schema}.{name}"
        for schema, name in query(
            broken,
            f"select table_schema, table_name from information_schema.tables where table_name like '{test_name}%'",
        )
    ]
    [failures] = [found for found in (query(broken, f"select * from {table}") for table in tables) if found]
    failures = sorted(failures)
    assert failures == sorted(tuple(counts.get(v, v) for v in row) for row in expected)


def test_customer_history_grows_delivery_by_delivery(built_warehouse: Path) -> None:
    """A later CRM version of a customer adds a version to dim_customer; facts keep pointing at the
    version valid at their event. (Runs last: it changes the shared warehouse.)"""
    con = open_working(built_warehouse)
    try:
        # a delivery of C2's new version, written as ingestion writes it: the row replaces the raw
        # one and the version is appended to the history (dagster_project/ingestion/history.py)
        con.execute(
            "update raw.customers set segment = 'vip', updated_at = timestamp '2024-03-01 00:00:00'"
            " where customer_id = 'C2'"
        )
        con.execute(
            "insert into raw.customers_history by name"
            " select * exclude (full_name, email, phone, birth_date, _extra),"
            " (select max(_delivery_seq) + 1 from raw.customers_history) as _delivery_seq"
            " from raw.customers where customer_id = 'C2'"
        )
    finally:
        con.close()
    mp = pytest.MonkeyPatch()
    mp.setenv("CSAT_WAREHOUSE_PATH", str(built_warehouse))
    try:
        # int_customers_history (a table) feeds dim_customer: rebuild it first, as a full build would
        selection = ["int_customers_history", "dim_customer", "fct_orders"]
        run_dbt(["build", "--select", *selection], built_warehouse.parent)
    finally:
        mp.undo()
    versions = query(
        built_warehouse,
        "select version_number, segment, current_segment, is_current, valid_to_at from marts.dim_customer"
        " where customer_id = 'C2' order by version_number",
    )
    assert versions == [
        (1, "regular", "vip", False, datetime(2024, 3, 1)),
        (2, "vip", "vip", True, None),
    ]
    # O4 (February) belongs to the first version, O5 (March 15) to the second
    segments = query(
        built_warehouse,
        "select o.order_id, c.segment from marts.fct_orders as o"
        " inner join marts.dim_customer as c on o.customer_key = c.customer_key"
        " where o.customer_id = 'C2' order by o.order_id",
    )
    assert segments == [("O3", "regular"), ("O4", "regular"), ("O5", "vip")]
