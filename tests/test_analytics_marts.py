"""Customer-experience analytics marts (dbt_project/models/marts/analytics) on hand-made data with
known answers, and the key-driver mart on generated sample data.

The hand-made raw warehouse is built with test_dbt_build's helpers and `dbt build` runs once for the
module (the analytics marts, everything upstream, and their data tests). The as-of time of the marts
is the latest event: the order ANCHOR at 2024-06-30 12:00 (a subscription end scheduled later does
not count). Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_dbt_build import build_raw_warehouse, ts
from working_files import open_working

import kpi_reference as ref

pytestmark = pytest.mark.pipeline

AS_OF = datetime(2024, 6, 30, 12, 0, 0)
SERVQUAL_PREFIX = {
    "tangibles": "TAN",
    "reliability": "REL",
    "responsiveness": "RES",
    "assurance": "ASS",
    "empathy": "EMP",
}
ITEMS_PER_DIMENSION = {"tangibles": 4, "reliability": 5, "responsiveness": 4, "assurance": 4, "empathy": 5}
DRIVER_RESPONSES = 60
MARTS = (
    "driver_importance_quarterly",
    "loyalty_linkage_monthly",
    "customer_risk",
    "followup_queue",
    "staff_performance_monthly",
    "store_performance_monthly",
)


def _customer(customer_id: str, store_id: str | None = None, account_manager_id: str | None = None, **extra) -> dict:
    return {
        "customer_id": customer_id,
        "full_name": f"Secret Name {customer_id}",
        "email": f"{customer_id.lower()}@secret.example",
        "phone": f"+47 555 {customer_id}",
        "segment": extra.pop("segment", "regular"),
        "region": extra.pop("region", "north"),
        "store_id": store_id,
        "account_manager_id": account_manager_id,
        "updated_at": ts("2023-01-01 00:00:00"),
        **extra,
    }


def _response(response_id: str, customer_id: str | None, at: str, **scores) -> dict:
    return {"response_id": response_id, "survey_id": "SV", "customer_id": customer_id, "submitted_at": ts(at), **scores}


def _order(order_id: str, customer_id: str, at: str, status: str = "completed") -> dict:
    return {"order_id": order_id, "customer_id": customer_id, "ordered_at": ts(at), "status": status, "amount": 10}


def _driver_data() -> tuple[list[dict], list[dict]]:
    """60 anonymous responses in February 2024 whose CSI and likelihood to recommend are exact linear
    functions of the reliability perception (kept low, 1-3: a priority); the other four dimensions
    are random, so reliability's importance is known by construction."""
    rng = np.random.default_rng(7)
    responses, items = [], []
    for i in range(DRIVER_RESPONSES):
        rid = f"D{i:03d}"
        levels = {d: int(rng.integers(1, 8)) for d in SERVQUAL_PREFIX}
        levels["reliability"] = int(rng.integers(1, 4))
        outcome = levels["reliability"] + 3  # 4..6 on the 1-10 items and the 0-10 NPS question
        responses.append(
            _response(
                rid,
                None,
                f"2024-02-{1 + i % 28:02d} 10:00:00",
                likelihood_to_recommend=outcome,
                overall_satisfaction=outcome,
                expectation_confirmation=outcome,
                ideal_comparison=outcome,
            )
        )
        for dimension, prefix in SERVQUAL_PREFIX.items():
            for k in range(ITEMS_PER_DIMENSION[dimension]):
                items.append(
                    {
                        "response_id": rid,
                        "item_code": f"{prefix}{k + 1}",
                        "expectation_score": 6,
                        "perception_score": levels[dimension],
                    }
                )
    return responses, items


def _staff_data() -> tuple[list[dict], list[dict], list[dict]]:
    """May 2024: one complaint per customer K.., handled by an agent, resolved, then surveyed.
    Team care: A1 5 x CSAT 5 (all within SLA), A2 CSAT 5,5,5,2,2 (2 SLA misses), A3 4 x CSAT 4 (too
    few to rank); team billing: A4 5 x CSAT 1. Home stores: A1's customers S1, A2's S2 (north), A3's
    and A4's S3 (south)."""
    plan = [("A1", "S1", [5] * 5), ("A2", "S2", [5, 5, 5, 2, 2]), ("A3", "S3", [4] * 4), ("A4", "S3", [1] * 5)]
    customers, tickets, responses = [], [], []
    n = 0
    for agent, store, scores in plan:
        for j, csat in enumerate(scores):
            n += 1
            cid, tid = f"K{n:02d}", f"TK{n:02d}"
            day = 1 + n
            hours = 60 if (agent == "A2" and j >= 3) else 10  # medium severity: 48 h target
            customers.append(_customer(cid, store_id=store, account_manager_id="M1"))
            tickets.append(
                {
                    "ticket_id": tid,
                    "customer_id": cid,
                    "ticket_type": "complaint",
                    "severity": "medium",
                    "opened_at": datetime(2024, 5, day, 0, 0),
                    "first_response_at": datetime(2024, 5, day, 1, 0),
                    "resolved_at": datetime(2024, 5, day, 0, 0) + timedelta(hours=hours),
                    "status": "resolved",
                    "reopen_count": 0,
                    "contact_count": 1,
                    "agent_id": agent,
                }
            )
            ltr = {5: 9, 4: 8, 2: 3, 1: 2}[csat]
            responses.append(
                _response(
                    f"RK{n:02d}",
                    cid,
                    f"2024-05-{day + 3:02d} 09:00:00",
                    touchpoint="support",
                    ticket_id=tid,
                    csat_score=csat,
                    likelihood_to_recommend=ltr,
                )
            )
    return customers, tickets, responses


def analytics_raw() -> dict[str, list[dict]]:
    driver_responses, driver_items = _driver_data()
    staff_customers, staff_tickets, staff_responses = _staff_data()
    return {
        "stores": [
            {"store_id": "S1", "store_name": "North one", "region": "north"},
            {"store_id": "S2", "store_name": "North two", "region": "north"},
            {"store_id": "S3", "store_name": "South one", "region": "south"},
        ],
        "employees": [
            {"employee_id": "A1", "full_name": "Agent Secret One", "role": "agent", "team": "care"},
            {"employee_id": "A2", "full_name": "Agent Secret Two", "role": "agent", "team": "care"},
            {"employee_id": "A3", "full_name": "Agent Secret Three", "role": "agent", "team": "care"},
            {"employee_id": "A4", "full_name": "Agent Secret Four", "role": "agent", "team": "billing"},
            {
                "employee_id": "M1",
                "full_name": "Manager Secret",
                "role": "account_manager",
                "team": "keys",
                "store_id": "S1",
            },
        ],
        "customers": [
            _customer("C_DET", "S1", "M1"),
            _customer("C_CONS", "S1"),
            _customer("C_SLA", "S2"),
            _customer("C_SLA_OK", "S2"),
            _customer("C_FALL", "S3"),
            _customer("C_STEADY", "S3"),
            _customer("C_END", "S1", "M1", segment="VIP"),
            _customer("C_OK", "S1"),
            _customer("C_INACTIVE", "S1"),
            _customer("C_CHURN", "S2"),
            *[_customer(f"C_FU{i}", "S1") for i in range(1, 5)],
            *staff_customers,
        ],
        "subscriptions": [
            {"subscription_id": "SB_DET", "customer_id": "C_DET", "started_at": ts("2024-01-01 00:00:00"), "mrr": 10},
            {
                "subscription_id": "SB_END",
                "customer_id": "C_END",
                "started_at": ts("2024-01-01 00:00:00"),
                "ended_at": ts("2024-07-15 00:00:00"),
                "mrr": 10,
            },
            {"subscription_id": "SB_OK", "customer_id": "C_OK", "started_at": ts("2023-06-01 00:00:00"), "mrr": 10},
            {
                "subscription_id": "SB_CHURN",
                "customer_id": "C_CHURN",
                "started_at": ts("2024-01-01 00:00:00"),
                "ended_at": ts("2024-06-15 00:00:00"),
                "mrr": 10,
            },
        ],
        "orders": [
            _order("O_CONS", "C_CONS", "2024-05-01 10:00:00"),
            _order("O_SLA", "C_SLA", "2024-06-01 10:00:00"),
            _order("O_SLA_OK", "C_SLA_OK", "2024-06-01 10:00:00"),
            *[
                _order(f"O_FALL{i}", "C_FALL", at)
                for i, at in enumerate(
                    ["2024-01-10 10:00:00", "2024-01-20 10:00:00", "2024-02-10 10:00:00", "2024-02-20 10:00:00"]
                )
            ],
            *[
                _order(f"O_STEADY{i}", "C_STEADY", at)
                for i, at in enumerate(
                    [
                        "2024-01-10 10:00:00",
                        "2024-01-20 10:00:00",
                        "2024-02-10 10:00:00",
                        "2024-02-20 10:00:00",
                        "2024-06-20 10:00:00",
                    ]
                )
            ],
            _order("O_INACTIVE", "C_INACTIVE", "2023-01-05 10:00:00"),
            _order("ANCHOR", "C_SLA_OK", "2024-06-30 12:00:00"),
        ],
        "tickets": [
            {
                "ticket_id": "T_SLA",
                "customer_id": "C_SLA",
                "ticket_type": "complaint",
                "severity": "high",
                "opened_at": ts("2024-06-20 00:00:00"),
                "status": "open",
                "contact_count": 1,
            },
            {
                "ticket_id": "T_SLA_OK",
                "customer_id": "C_SLA_OK",
                "ticket_type": "complaint",
                "severity": "low",
                "opened_at": ts("2024-06-30 00:00:00"),
                "status": "open",
                "contact_count": 1,
            },
            {
                "ticket_id": "T_FU1",
                "customer_id": "C_FU1",
                "ticket_type": "inquiry",
                "opened_at": ts("2024-06-02 23:00:00"),
                "status": "open",
            },
            {
                "ticket_id": "T_FU2",
                "customer_id": "C_FU2",
                "ticket_type": "inquiry",
                "opened_at": ts("2024-06-03 01:00:00"),
                "status": "open",
            },
            *staff_tickets,
        ],
        "survey_responses": [
            _response("R_DET_OLD", "C_DET", "2024-04-01 10:00:00", likelihood_to_recommend=10),
            _response("R_DET", "C_DET", "2024-06-20 10:00:00", likelihood_to_recommend=3),
            _response("R_CONS_OK", "C_CONS", "2024-04-01 10:00:00", likelihood_to_recommend=10, csat_score=5),
            _response("R_CONS1", "C_CONS", "2024-05-01 10:00:00", likelihood_to_recommend=8, csat_score=1),
            _response("R_CONS2", "C_CONS", "2024-05-10 10:00:00", likelihood_to_recommend=7, csat_score=2),
            _response("R_CHURN", "C_CHURN", "2024-03-01 10:00:00", likelihood_to_recommend=2),
            _response(
                "R_FALL",
                "C_FALL",
                "2023-12-15 10:00:00",
                overall_satisfaction=10,
                expectation_confirmation=10,
                ideal_comparison=10,
            ),
            _response(
                "R_STEADY",
                "C_STEADY",
                "2024-01-20 10:00:00",
                overall_satisfaction=1,
                expectation_confirmation=1,
                ideal_comparison=1,
            ),
            _response("R_F47", "C_FU1", "2024-06-01 00:00:00", likelihood_to_recommend=4),
            _response("R_F49", "C_FU2", "2024-06-01 00:00:00", likelihood_to_recommend=5),
            _response("R_NONE", "C_FU3", "2024-06-10 12:00:00", likelihood_to_recommend=8, csat_score=1),
            _response("R_PEND", "C_FU4", "2024-06-30 00:00:00", likelihood_to_recommend=0, csat_score=2),
            _response("R_ANON", None, "2024-06-05 00:00:00", likelihood_to_recommend=1),
            *driver_responses,
            *staff_responses,
        ],
        "survey_item_scores": driver_items,
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("analytics")
    path = root / "csat.duckdb"
    build_raw_warehouse(path, analytics_raw())
    run = ref.run_dbt(
        [
            "build",
            "--select",
            "+path:models/marts/analytics",
            "+int_driver_correlations",
            "--indirect-selection",
            "cautious",
        ],
        warehouse_path=path,
        work_dir=root / "dbt",
    )
    assert run.success, "dbt build failed:\n" + "\n".join(run.failures)
    assert ref.build_key_drivers(path)  # the pipeline's next step: the Dagster asset driver_importance_quarterly
    return path


def rows(path: Path, sql: str, params: list | None = None) -> list[dict]:

    con = open_working(path)  # same configuration as dbt's in-process connection
    try:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    finally:
        con.close()


def one(path: Path, sql: str, params: list | None = None) -> dict:
    result = rows(path, sql, params)
    assert len(result) == 1, f"{len(result)} rows for {sql} {params}"
    return result[0]


# ---------------------------------------------------------------------------------------------- key drivers


def test_driver_known_by_construction_ranks_first(warehouse: Path) -> None:
    q1 = "select * from marts.driver_importance_quarterly where quarter_start_date = date '2024-01-01'"
    for outcome in ("csi", "nps"):
        result = {
            r["driver"]: r
            for r in rows(
                warehouse,
                q1 + " and segment = 'all' and outcome = ? and driver_group = 'servqual_dimension'",
                [outcome],
            )
        }
        reliability = result["reliability"]
        assert (
            reliability["sample_size"] == DRIVER_RESPONSES and reliability["regression_sample_size"] == DRIVER_RESPONSES
        )
        assert reliability["correlation"] == pytest.approx(1.0)
        assert reliability["standardised_weight"] == pytest.approx(1.0, abs=1e-6)
        assert reliability["regression_r_squared"] == pytest.approx(1.0)
        assert reliability["relative_weight_pct"] > 90
        assert sum(r["relative_weight_pct"] for r in result.values()) == pytest.approx(100.0)
        assert reliability["importance_basis"] == "relative_weight"
        assert reliability["importance_rank"] == 1
        # reliability is kept at 1-3 (mean 2 -> index ~17): important and weak -> priority
        assert reliability["quadrant"] == "priority"
        assert reliability["performance_index"] < min(
            r["performance_index"] for d, r in result.items() if d != "reliability"
        )
        for driver in ("tangibles", "responsiveness", "assurance", "empathy"):
            assert abs(result[driver]["standardised_weight"]) < 1e-6
            assert result[driver]["importance_rank"] > 1
        assert {r["quadrant"] for r in result.values()} <= {"strength", "priority", "maintain", "low_priority"}


def test_driver_results_empty_below_minimum_sample(warehouse: Path) -> None:
    # the transactional drivers have no data in Q1 and only a handful of CSAT scores in Q2
    for r in rows(warehouse, "select * from marts.driver_importance_quarterly where driver_group = 'transactional'"):
        assert r["sample_size"] < 30 and not r["is_sample_sufficient"]
        assert r["correlation"] is None and r["importance"] is None and r["quadrant"] is None
    q2 = one(
        warehouse,
        "select * from marts.driver_importance_quarterly where quarter_start_date = date '2024-04-01'"
        " and segment = 'all' and outcome = 'nps' and driver = 'csat'",
    )
    # 19 support responses of May + R_CONS_OK, R_CONS1, R_CONS2, R_NONE, R_PEND have CSAT and NPS scores
    assert q2["sample_size"] == 24
    assert q2["performance_mean"] is None


# ---------------------------------------------------------------------------------------------- loyalty linkage


def linkage(path: Path, month: str, kpi: str) -> dict[str, tuple]:
    return {
        r["group_value"]: (r["numerator_count"], r["denominator_count"], r["rate_pct"])
        for r in rows(
            path,
            "select * from marts.loyalty_linkage_monthly where month_start_date = ? and kpi = ?",
            [date.fromisoformat(month), kpi],
        )
    }


def test_loyalty_linkage_churn_by_nps_category(warehouse: Path) -> None:
    # June: active at start C_DET (latest scored response before June: promoter, the June detractor
    # response comes later), C_END and C_OK (no response), C_CHURN (detractor in March, ends 06-15)
    assert linkage(warehouse, "2024-06-01", "logo_churn_rate") == {
        "promoter": (0, 1, 0.0),
        "passive": (0, 0, None),
        "detractor": (1, 1, 100.0),
        "no_response": (0, 2, 0.0),
    }


def test_loyalty_linkage_repeat_by_csi_band(warehouse: Path) -> None:
    # January: C_FALL (CSI 100 in December: high) and C_STEADY (its CSI-0 response is on 01-20, not
    # before January: no response) both buy twice; February: C_STEADY is in the low band
    assert linkage(warehouse, "2024-01-01", "repeat_purchase_rate") == {
        "high": (1, 1, 100.0),
        "medium": (0, 0, None),
        "low": (0, 0, None),
        "no_response": (1, 1, 100.0),
    }
    february = linkage(warehouse, "2024-02-01", "repeat_purchase_rate")
    assert february["high"] == (1, 1, 100.0) and february["low"] == (1, 1, 100.0)
    months = rows(warehouse, "select month_start_date, count(*) as n from marts.loyalty_linkage_monthly group by 1")
    assert {r["n"] for r in months} == {8}


# ---------------------------------------------------------------------------------------------- at-risk customers

REASONS = (
    "has_latest_response_low",
    "has_consecutive_low_responses",
    "has_open_complaint_past_sla",
    "has_falling_order_frequency",
    "has_subscription_ending_soon",
)


def risk(path: Path, customer_id: str) -> dict:
    return one(path, "select * from marts.customer_risk where customer_id = ?", [customer_id])


@pytest.mark.parametrize(
    ("customer_id", "reason", "score", "level"),
    [
        ("C_DET", "has_latest_response_low", 30.0, "medium"),
        ("C_CONS", "has_consecutive_low_responses", 20.0, "low"),
        ("C_SLA", "has_open_complaint_past_sla", 25.0, "medium"),
        ("C_FALL", "has_falling_order_frequency", 15.0, "low"),
        ("C_END", "has_subscription_ending_soon", 10.0, "low"),
    ],
)
def test_customer_at_risk_for_each_reason(warehouse: Path, customer_id, reason, score, level) -> None:
    row = risk(warehouse, customer_id)
    assert {r: row[r] for r in REASONS} == {r: r == reason for r in REASONS}
    assert (row["risk_score"], row["risk_level"], row["is_at_risk"]) == (score, level, True)
    assert row["risk_reasons"] == reason.removeprefix("has_")
    assert row["as_of_at"] == AS_OF


def test_customer_risk_details(warehouse: Path) -> None:
    assert risk(warehouse, "C_CONS")["consecutive_low_responses"] == 2  # R_CONS_OK breaks the run
    assert risk(warehouse, "C_SLA")["open_complaints_past_sla"] == 1
    fall, steady = risk(warehouse, "C_FALL"), risk(warehouse, "C_STEADY")
    assert (fall["recent_valid_orders"], fall["baseline_valid_orders"]) == (0, 4)
    assert (steady["recent_valid_orders"], steady["has_falling_order_frequency"]) == (1, False)
    end = risk(warehouse, "C_END")
    assert end["subscription_ends_at"] == datetime(2024, 7, 15) and end["is_subscriber"]
    # account manager and store are carried as keys for someone to act
    assert end["account_manager_id"] == "M1" and end["account_manager_key"] is not None
    assert end["store_id"] == "S1" and end["store_key"] is not None
    ok = risk(warehouse, "C_OK")
    assert (ok["risk_score"], ok["risk_level"], ok["is_at_risk"], ok["risk_reasons"]) == (0.0, "none", False, None)
    sla_ok = risk(warehouse, "C_SLA_OK")  # a low-severity complaint open 12 h (target 72 h)
    assert not sla_ok["has_open_complaint_past_sla"]
    # not active: last order 2023-01-05 (> 365 days), or subscription ended before the as-of time
    customers = {r["customer_id"] for r in rows(warehouse, "select customer_id from marts.customer_risk")}
    assert "C_INACTIVE" not in customers and "C_CHURN" not in customers and "K01" not in customers


# ---------------------------------------------------------------------------------------------- follow-up queue


def test_followup_queue_48_hour_window(warehouse: Path) -> None:
    queue = {r["response_id"]: r for r in rows(warehouse, "select * from marts.followup_queue")}
    assert "R_F47" not in queue  # followed up (ticket opened) 47 h after the response
    late = queue["R_F49"]
    assert (late["followup_status"], late["followup_ticket_id"], late["is_open"], late["is_overdue"]) == (
        "followed_up_late",
        "T_FU2",
        False,
        True,
    )
    assert late["hours_waited"] == pytest.approx(49.0)
    overdue = queue["R_NONE"]  # CSAT 1, no contact: waited until the as-of time (20 days)
    assert (overdue["followup_status"], overdue["trigger_reason"], overdue["is_open"]) == ("overdue", "low_csat", True)
    assert overdue["hours_waited"] == pytest.approx(480.0)
    pending = queue["R_PEND"]
    assert (pending["followup_status"], pending["trigger_reason"], pending["is_overdue"]) == (
        "pending",
        "detractor_and_low_csat",
        False,
    )
    assert pending["hours_waited"] == pytest.approx(12.0)
    assert "R_ANON" not in queue and not any(r.startswith("D") for r in queue)  # anonymous: nobody to call
    assert "R_CONS2" in queue and "R_CONS_OK" not in queue


# ---------------------------------------------------------------------------------------------- staff and stores


def test_staff_performance_and_ranks_within_team(warehouse: Path) -> None:
    staff = {
        r["employee_id"]: r
        for r in rows(
            warehouse,
            "select * from marts.staff_performance_monthly"
            " where responsibility = 'agent' and month_start_date = date '2024-05-01'",
        )
    }
    a1, a2, a3, a4 = (staff[a] for a in ("A1", "A2", "A3", "A4"))
    assert (a1["csat_pct"], a1["nps"], a1["sla_attainment_pct"]) == (100.0, 100.0, 100.0)
    assert (a2["csat_pct"], a2["nps"], a2["sla_attainment_pct"]) == (60.0, 20.0, 60.0)
    assert (a2["complaints_opened_count"], a2["complaints_resolved_count"], a2["first_contact_resolution_pct"]) == (
        5,
        5,
        100.0,
    )
    assert a2["resolution_hours_median"] == 10.0
    assert (a1["csat_rank_in_team"], a2["csat_rank_in_team"], a3["csat_rank_in_team"]) == (1, 2, None)
    assert (a1["nps_rank_in_team"], a2["nps_rank_in_team"]) == (1, 2)
    assert (a1["sla_rank_in_team"], a2["sla_rank_in_team"]) == (1, 2)
    assert a3["csat_pct"] == 100.0 and a3["csat_response_count"] == 4  # too few responses to rank
    assert (a4["team"], a4["csat_pct"], a4["csat_rank_in_team"]) == ("billing", 0.0, 1)
    assert a1["team_member_count"] == 3 and a1["employee_key"] is not None
    manager = one(
        warehouse,
        "select * from marts.staff_performance_monthly"
        " where employee_id = 'M1' and month_start_date = date '2024-05-01'",
    )
    assert (manager["responsibility"], manager["response_count"], manager["complaints_opened_count"]) == (
        "account_manager",
        19,
        19,
    )


def test_store_performance_and_ranks_within_region(warehouse: Path) -> None:
    stores = {
        r["store_id"]: r
        for r in rows(
            warehouse, "select * from marts.store_performance_monthly where month_start_date = date '2024-05-01'"
        )
    }
    s1, s2, s3 = stores["S1"], stores["S2"], stores["S3"]
    # S1: A1's five CSAT 5 plus C_CONS's two low May responses (home store S1)
    assert (s1["csat_pct"], s1["csat_rank_in_region"], s1["region"]) == (pytest.approx(100 * 5 / 7), 1, "north")
    assert (s2["csat_pct"], s2["csat_rank_in_region"], s2["sla_rank_in_region"]) == (60.0, 2, 2)
    assert s3["csat_pct"] == pytest.approx(100 * 4 / 9) and s3["csat_rank_in_region"] == 1  # alone in the south
    assert s1["region_store_count"] == 2


# ---------------------------------------------------------------------------------------------- privacy


def test_no_personal_data_in_analytics_marts(warehouse: Path) -> None:
    for mart in MARTS:
        columns = {
            r["column_name"]
            for r in rows(
                warehouse,
                "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ?",
                [mart],
            )
        }
        assert columns, mart
        assert not columns & {"full_name", "email", "phone", "birth_date", "comment"}, mart
        values = json.dumps(rows(warehouse, f"select * from marts.{mart}"), default=str)
        assert "Secret" not in values and "secret.example" not in values and "+47 555" not in values, mart


# ---------------------------------------------------------------------------------------------- sample data


def test_generated_sample_data_ranks_the_strongest_driver_first(tmp_path_factory) -> None:
    """The sample-data generator makes reliability the most influential SERVQUAL dimension
    (DRIVER_WEIGHTS): in every quarter with enough responses it ranks first for CSI."""
    from csat_sample_data import DRIVER_WEIGHTS

    strongest = max(DRIVER_WEIGHTS, key=DRIVER_WEIGHTS.get)
    sample = ref.sample_warehouse(tmp_path_factory)
    assert sample.dbt.success, "\n".join(sample.dbt.failures)
    first = rows(
        sample.warehouse_path,
        "select quarter_start_date, outcome, driver from marts.driver_importance_quarterly"
        " where segment = 'all' and driver_group = 'servqual_dimension' and importance_rank = 1",
    )
    csi = [r["driver"] for r in first if r["outcome"] == "csi"]
    assert len(csi) >= 2, first
    assert csi == [strongest] * len(csi), first
    # over both outcomes the strongest driver is ranked first most often
    counts = {d: sum(r["driver"] == d for r in first) for d in DRIVER_WEIGHTS}
    assert max(counts, key=counts.get) == strongest, counts


def test_generated_sample_data_drivers_by_segment_equal_an_independent_computation(tmp_path_factory) -> None:
    """Every segment of every quarter and `all`: each SERVQUAL dimension's sample and correlation
    with CSI, computed here from the raw rows (the customer's current segment, `unknown` without
    one; a dimension's value the mean of its rated items), equal the mart's."""
    sample = ref.sample_warehouse(tmp_path_factory)
    assert sample.dbt.success, "\n".join(sample.dbt.failures)
    con = ref.open_warehouse(sample)
    try:
        raw = ref.read_raw(con)
    finally:
        con.close()
    seeds = ref.load_seeds(ref.seed_dirs())
    thresholds = ref._read_csv_rows(ref.find_seed("analytics_thresholds", ref.seed_dirs()))
    min_sample = next(float(r["value"]) for r in thresholds if r["parameter"] == "driver_min_sample")
    responses = ref.prepare(raw, seeds).responses.set_index("response_id")
    responses["quarter"] = [date(m.year, 3 * ((m.month - 1) // 3) + 1, 1) for m in responses["month"]]

    scores = raw["survey_item_scores"].assign(response_id=lambda s: ref.norm_id(s["response_id"]))
    scores["item_code"] = scores["item_code"].str.strip().str.upper()
    scores["dimension"] = scores["item_code"].map(seeds.item_dimension)
    na_code = scores["item_code"].map(lambda c: seeds.item_scale[c][2])
    scores["perception"] = pd.to_numeric(scores["perception_score"], errors="coerce").astype(float)
    scores = scores[scores["perception"].notna() & (scores["perception"] != na_code.astype(float))]
    # the sample's items share one scale per dimension, so a dimension's value is its items' mean score
    for dimension, items in scores.groupby("dimension")["item_code"]:
        assert len({seeds.item_scale[i][:2] for i in items.unique()}) == 1, dimension
    values = scores.groupby(["response_id", "dimension"])["perception"].mean().unstack()
    observed = responses[["quarter", "segment", "csi"]].join(values, how="left")

    mart = {
        (r["quarter_start_date"], r["segment"], r["driver"]): r
        for r in rows(
            sample.warehouse_path,
            "select * from marts.driver_importance_quarterly"
            " where outcome = 'csi' and driver_group = 'servqual_dimension'",
        )
    }
    groups = [(q, s, g) for (q, s), g in observed.groupby(["quarter", "segment"])]
    groups += [(q, "all", g) for q, g in observed.groupby("quarter")]
    assert len({s for _, s, _ in groups}) >= 3, "the sample should have several segments"
    checked = 0
    for quarter, segment, group in groups:
        for dimension in values.columns:
            row = mart[(quarter, segment, dimension)]
            pair = group[[dimension, "csi"]].dropna()
            assert row["sample_size"] == len(pair), (quarter, segment, dimension)
            if len(pair) >= min_sample and pair[dimension].nunique() > 1 and pair["csi"].nunique() > 1:
                expected = pair[dimension].corr(pair["csi"])
                assert row["correlation"] == pytest.approx(expected, abs=1e-9), (quarter, segment, dimension)
                checked += 1
            else:
                assert row["correlation"] is None, (quarter, segment, dimension)
    assert checked > len(values.columns), "too few groups with a correlation to compare"
    # no other groups, none missing: a group per quarter and segment with responses, and `all`
    assert {(q, s) for q, s, _ in mart} == {(q, s) for q, s, _ in groups}
