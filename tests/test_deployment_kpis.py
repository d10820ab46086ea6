"""KPIs and scorecard on deployments shaped like real programmes (issue 10), small hand-made fixtures.

- A public complaints register: tickets only (no surveys, orders, subscriptions), no resolution or
  first-response timestamps, no escalation or contact counts, a source "timely response" flag, closed
  complaints without any closing time, a delivery that ends in the middle of March.
- A passenger survey: 14 perception-only items on a 1-5 scale with 0 = not applicable, in three
  custom dimensions, and a binary satisfied / not satisfied outcome (seeds in their own folder).
- Responses around month ends, built in the reporting time zones Asia/Shanghai and America/Sao_Paulo.

Each expected value is worked out by hand in the comments, and (for the KPIs) also compared with the
independent pandas reference (tests/kpi_reference.py).
"""

from __future__ import annotations

import csv
import os
from datetime import date, datetime
from pathlib import Path

import deploy_fixtures as fx
import numpy as np
import pandas as pd
import pytest

from dagster_project.scorecard import write_scorecard

import kpi_reference as ref

pytestmark = pytest.mark.pipeline

# ------------------------------------------------------------------------------------- the register

TICKET_COLUMNS = ["ticket_id", "customer_id", "ticket_type", "channel", "category", "opened_at", "status"]
TICKET_COLUMNS += ["closed_at", "company_response_at", "sla_met"]


def _ticket(ticket_id, opened_at, status, sla_met=None, closed_at=None, ticket_type="complaint"):
    return {
        "ticket_id": ticket_id,
        "customer_id": "C1",  # the register's complainants are not CRM customers
        "ticket_type": ticket_type,
        "channel": "email",
        "category": "billing",
        "opened_at": opened_at,
        "status": status,
        "closed_at": closed_at,
        "company_response_at": opened_at,
        "sla_met": sla_met,
    }


REGISTER = [
    # closed without any closing time: in no month-end backlog (the old rule kept it open forever)
    _ticket("T1", "2024-01-05T10:00:00Z", "closed", "yes"),
    _ticket("T2", "2024-01-10T10:00:00Z", "open", "no"),  # open: in every backlog
    _ticket("T3", "2024-01-20T10:00:00Z", "closed", "yes", closed_at="2024-02-03T10:00:00Z"),  # open at end Jan
    _ticket("T4", "2024-02-02T10:00:00Z", "resolved", None),  # resolved, no time; no timely flag
    _ticket("T5", "2024-02-15T10:00:00Z", "pending", "yes"),  # open
    _ticket("T6", "2024-02-20T10:00:00Z", "open", None, ticket_type="inquiry"),  # not a complaint
    _ticket("T7", "2024-03-14T10:00:00Z", "closed", "no"),  # the delivery ends on 14 March
]
JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)


@pytest.fixture(scope="module")
def register(tmp_path_factory) -> ref.BuiltWarehouse:
    root = tmp_path_factory.mktemp("register")
    fx.write_landing(root / "landing", "tickets", REGISTER)
    built = fx.build(root, root / "landing", {"tickets": TICKET_COLUMNS})
    assert built.ingest_errors == [], built.ingest_errors
    assert built.dbt.success, "\n".join(built.dbt.failures)
    return built


def test_closed_complaints_without_resolution_time_are_not_in_the_backlog(register):
    # end Jan: T2 open, T3 closed on 3 Feb -> 2 (T1 closed: not counted although it has no time)
    # end Feb: T2, T5 (T4 resolved) -> 2; end Mar: T2, T5 (T7 closed) -> 2
    backlog = fx.all_up(register, "backlog")
    assert {m: r["value"] for m, r in backlog.items()} == {JAN: 2.0, FEB: 2.0, MAR: 2.0}
    assert all(r["null_reason"] is None for r in backlog.values())
    problems = ref.compare_kpi(ref.read_table(register, "marts.kpi_monthly"), ref.reference_for(register), "backlog")
    assert not problems, problems


def test_timely_response_rate_from_the_source_flag(register):
    # Jan: T1 yes, T2 no, T3 yes -> 2/3; Feb: T4 no flag, T5 yes -> 1/1; Mar: T7 no -> 0/1
    rate = fx.all_up(register, "timely_response_rate")
    assert [(r["value"], r["numerator"], r["denominator"]) for r in rate.values()] == [
        (66.6667, 2.0, 3.0),
        (100.0, 1.0, 1.0),
        (0.0, 0.0, 1.0),
    ]
    mart, reference = ref.read_table(register, "marts.kpi_monthly"), ref.reference_for(register)
    for kpi in ("timely_response_rate", "complaint_volume"):
        assert not ref.compare_kpi(mart, reference, kpi), kpi


@pytest.mark.parametrize(
    ("kpi", "reason"),
    [
        ("nps", "not delivered: survey_responses"),
        ("servqual_gap_tangibles", "not delivered: survey_item_scores"),
        ("complaint_rate", "not delivered: orders"),
        ("logo_churn_rate", "not delivered: subscriptions"),
        ("escalation_rate", "column never delivered: tickets.escalated"),
        ("first_contact_resolution_rate", "column never delivered: tickets.contact_count"),
        ("resolution_hours_median", "column never delivered: tickets.resolved_at"),
        ("first_response_hours_median", "column never delivered: tickets.first_response_at"),
    ],
)
def test_kpis_without_delivered_inputs_are_null_with_their_reason(register, kpi, reason):
    rows = fx.query(register, "select value, null_reason from marts.kpi_monthly where kpi = ?", [kpi])
    assert rows, f"{kpi} is not published"
    assert {r["null_reason"] for r in rows} == {reason}
    assert all(r["value"] is None for r in rows)  # never 0 (escalation_rate would be 0 % otherwise)


def test_scorecard_reports_the_last_complete_month_and_no_data(register, tmp_path):
    # The delivery ends on 14 March: March is partial in the data, so February is reported, even on
    # 15 April when March is over by the calendar.
    completeness = fx.query(register, "select * from marts.data_completeness")
    assert [(r["entity"], r["latest_complete_month_start_date"]) for r in completeness] == [("tickets", FEB)]
    database = fx.warehouse_copy(register, tmp_path / "copy")
    result = write_scorecard(database, tmp_path / "s.html", as_of=datetime(2024, 4, 15))
    assert result.data.month == FEB and result.data.is_month_complete
    nps = result.data.current("nps")
    assert (nps.actual, nps.status, nps.null_reason) == (None, "no_data", "not delivered: survey_responses")
    page = result.path.read_text(encoding="utf-8")
    # the header names the published file, not where it lies on the server
    assert f"source: {database.name}</p>" in page and str(database.parent) not in page
    # the NPS card is grey "No data" with its reason, never green
    card = page[page.index('<section class="card status-no_data" data-kpi="nps">') :]
    card = card[: card.index("</section>")]
    assert 'data-status="no_data"' in card and "not delivered: survey_responses" in card
    statuses = fx.query(
        register, "select kpi, status from marts.scorecard_monthly where null_reason like 'not delivered%'"
    )
    assert statuses and {r["status"] for r in statuses} == {"no_data"}


def test_kpi_below_its_minimum_sample_is_insufficient_sample(register, tmp_path):
    # February's timely-response rate is 100 % (target 90 %) on one flagged complaint; the seed's
    # minimum for complaint rates is 5: neither green nor red
    row = fx.query(
        register,
        "select actual, target, status, sample_size, min_sample_size from marts.scorecard_monthly"
        " where kpi = 'timely_response_rate' and month_start_date = ?",
        [FEB],
    )[0]
    assert row == {
        "actual": 100.0,
        "target": 90.0,
        "status": "insufficient_sample",
        "sample_size": 1,
        "min_sample_size": 5,
    }
    # a count has no minimum: the volume of February (2 complaints, target 100, lower is better) is green
    volume = fx.query(
        register,
        "select status from marts.scorecard_monthly where kpi = 'complaint_volume' and month_start_date = ?",
        [FEB],
    )
    assert volume == [{"status": "green"}]


# ---------------------------------------------------------------------------- a passenger survey

DIMENSIONS = {
    "comfort": ["SEAT", "LEGR", "CLEAN", "FOOD", "ENT"],
    "service": ["CHKIN", "BOARD", "CREW", "BAGG", "ONLB"],
    "digital": ["WIFI", "BOOK", "GATE", "APP"],
}
ITEM_DIMENSION = {item: d for d, items in DIMENSIONS.items() for item in items}
# mean level of each dimension's scores (service rates lowest, comfort highest) and its weight in
# the respondents' overall verdict (service matters most, digital least)
LEVEL = {"comfort": 3.6, "service": 2.6, "digital": 3.1}
WEIGHT = {"comfort": 0.5, "service": 0.9, "digital": 0.1}
N_RESPONSES = 90
NOT_APPLICABLE = 0


def _passenger_survey() -> tuple[list[dict], pd.DataFrame]:
    """Responses (submitted Jan 1 - Mar 31 2024, the last on the evening of 31 March) and their item
    scores (1-5, about 6 % not applicable), from a fixed random seed."""
    rng = np.random.default_rng(20240331)
    responses, scores = [], []
    for i in range(N_RESPONSES):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=i * 90 // (N_RESPONSES - 1), hours=20)
        latent = {d: rng.normal() for d in DIMENSIONS}
        verdict = sum(WEIGHT[d] * latent[d] for d in DIMENSIONS) + rng.normal(scale=0.5)
        response_id = f"P{i:03d}"
        responses.append(
            {
                "response_id": response_id,
                "survey_id": "PAX",
                "submitted_at": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "channel": "web",
                "is_satisfied": "yes" if verdict > 0 else "no",  # travel class etc. stay in _extra
                "travel_class": "eco" if i % 3 else "business",
            }
        )
        for item, dimension in ITEM_DIMENSION.items():
            value = int(np.clip(round(LEVEL[dimension] + 0.9 * latent[dimension] + rng.normal(scale=0.6)), 1, 5))
            if rng.random() < 0.06:
                value = NOT_APPLICABLE
            scores.append({"response_id": response_id, "item_code": item, "perception_score": value})
    return responses, pd.DataFrame(scores)


@pytest.fixture(scope="module")
def passenger(tmp_path_factory):
    root = tmp_path_factory.mktemp("passenger")
    responses, scores = _passenger_survey()
    fx.write_landing(root / "landing", "survey_responses", responses)
    # the loader of this branch checks scores against 1-7; the n/a code 0 is loaded as delivered
    # (ingestion's per-item ranges), so it is delivered as 1 and set to 0 after loading
    delivered_scores = scores.assign(perception_score=scores["perception_score"].clip(lower=1))
    fx.write_landing(root / "landing", "survey_item_scores", delivered_scores.to_dict("records"))
    not_applicable = scores[scores["perception_score"] == NOT_APPLICABLE]

    def mark_not_applicable(con):
        con.register("not_applicable", not_applicable[["response_id", "item_code"]])
        con.execute(
            "update raw.survey_item_scores as s set perception_score = 0 from not_applicable as n"
            " where s.response_id = n.response_id and s.item_code = n.item_code"
        )
        con.unregister("not_applicable")

    seeds = fx.copy_seeds(
        root / "seeds",
        {
            "survey_items": [
                {
                    "item_code": item,
                    "dimension": dimension,
                    "item_order": n,
                    "item_text": f"How do you rate {item.lower()}?",
                    "scale_min": 1,
                    "scale_max": 5,
                    "na_code": NOT_APPLICABLE,
                }
                for n, (item, dimension) in enumerate(ITEM_DIMENSION.items(), start=1)
            ],
            "servqual_weights": [{"dimension": d, "weight": 1 / 3} for d in DIMENSIONS],
            "driver_outcomes": [
                {"outcome": "satisfied", "measure": "is_satisfied", "description": "Overall satisfied label"}
            ],
        },
    )
    built = fx.build(
        root,
        root / "landing",
        {
            "survey_responses": ["response_id", "survey_id", "submitted_at", "channel", "is_satisfied"],
            "survey_item_scores": ["response_id", "item_code", "perception_score"],
        },
        seeds_dir=seeds,
        after_ingest=mark_not_applicable,
    )
    assert built.ingest_errors == [], built.ingest_errors
    assert built.dbt.success, "\n".join(built.dbt.failures)
    return built, responses, scores, seeds


def _observations(responses: list[dict], scores: pd.DataFrame) -> pd.DataFrame:
    """Independent of the project: one row per response, the outcome (1/0), each item's score and
    each dimension's mean score over the items rated (not applicable left out)."""
    outcome = pd.Series({r["response_id"]: 1.0 if r["is_satisfied"] == "yes" else 0.0 for r in responses})
    rated = scores[scores["perception_score"] != NOT_APPLICABLE].astype({"perception_score": float})
    items = rated.pivot(index="response_id", columns="item_code", values="perception_score")
    rated = rated.assign(dimension=rated["item_code"].map(ITEM_DIMENSION))
    dimensions = rated.groupby(["response_id", "dimension"])["perception_score"].mean().unstack()
    return pd.concat([outcome.rename("outcome"), items, dimensions], axis=1)


def test_item_and_dimension_drivers_equal_an_independent_computation(passenger):
    built, responses, scores, _ = passenger
    obs = _observations(responses, scores)
    mart = {
        r["driver"]: r
        for r in fx.query(
            built,
            "select * from marts.driver_importance_quarterly where segment = 'all' and outcome = 'satisfied'",
        )
    }
    assert {r["quarter_start_date"] for r in mart.values()} == {JAN}
    assert set(mart) == set(ITEM_DIMENSION) | set(DIMENSIONS) | {"csat", "effort", "resolution_time"}
    for driver in [*ITEM_DIMENSION, *DIMENSIONS]:
        row = mart[driver]
        pair = obs[[driver, "outcome"]].dropna()
        assert row["driver_group"] == ("item" if driver in ITEM_DIMENSION else "servqual_dimension"), driver
        assert row["sample_size"] == len(pair), driver
        assert row["correlation"] == pytest.approx(pair[driver].corr(pair["outcome"]), abs=1e-9), driver
        # performance on the 1-5 scale of the item: (mean - 1) / 4 * 100
        assert row["performance_index"] == pytest.approx((pair[driver].mean() - 1) / 4 * 100, abs=1e-9), driver
        assert row["not_run_reason"] is None
    for item in ITEM_DIMENSION:
        assert mart[item]["importance"] == pytest.approx(mart[item]["correlation"], abs=1e-12)
    # dimensions: a joint least-squares fit on z-scores of the responses with all three dimensions
    complete = obs[[*DIMENSIONS, "outcome"]].dropna()
    z = (complete - complete.mean()) / complete.std(ddof=0)
    beta, *_ = np.linalg.lstsq(z[list(DIMENSIONS)].to_numpy(), z["outcome"].to_numpy(), rcond=None)
    fitted = z[list(DIMENSIONS)].to_numpy() @ beta
    r_squared = 1 - ((z["outcome"] - fitted) ** 2).sum() / (z["outcome"] ** 2).sum()
    for j, dimension in enumerate(DIMENSIONS):
        row = mart[dimension]
        assert row["regression_sample_size"] == len(complete)
        assert row["standardised_weight"] == pytest.approx(beta[j], abs=1e-9), dimension
        assert row["regression_r_squared"] == pytest.approx(r_squared, abs=1e-9)
        assert row["importance_basis"] == "relative_weight"
    assert sum(mart[d]["relative_weight_pct"] for d in DIMENSIONS) == pytest.approx(100.0, abs=1e-9)
    # built that way: service drives the verdict most, digital least
    assert mart["service"]["importance_rank"] == 1 and mart["digital"]["importance_rank"] == 3
    # no CSAT, effort or complaints in this survey: those drivers say why they are empty
    assert mart["csat"]["importance"] is None
    assert mart["csat"]["not_run_reason"] == "too few responses with the driver and the outcome (0 < 30)"


def test_perception_kpis_by_custom_dimension_equal_the_reference(passenger):
    built, _, _, seeds = passenger
    mart = ref.read_table(built, "marts.kpi_monthly")
    con = ref.open_warehouse(built)
    try:
        reference = ref.compute_from_warehouse(con, [seeds])
    finally:
        con.close()
    kpis = ["perception_score", *(f"perception_score_{d}" for d in DIMENSIONS), "satisfied_pct", "nps"]
    for kpi in kpis:
        problems = ref.compare_kpi(mart, reference, kpi) if kpi != "nps" else []
        assert not problems, f"{kpi}: {problems}"
    # the gap needs expectations: never delivered in a perception-only survey (SERVPERF)
    gaps = mart[mart["kpi"].str.startswith("servqual_gap")]
    assert set(gaps["kpi"]) == {"servqual_gap", "servqual_gap_weighted", *(f"servqual_gap_{d}" for d in DIMENSIONS)}
    assert gaps["value"].isna().all()
    assert set(gaps["null_reason"]) == {"column never delivered: survey_item_scores.expectation_score"}
    nps = mart[mart["kpi"] == "nps"]
    assert set(nps["null_reason"]) == {"column never delivered: survey_responses.likelihood_to_recommend"}


def test_scorecard_priorities_name_items(passenger, tmp_path):
    built, *_ = passenger
    database = fx.warehouse_copy(built, tmp_path / "copy")
    result = write_scorecard(database, tmp_path / "s.html", as_of=datetime(2024, 4, 10))
    assert result.data.month == MAR  # the last response is on 31 March: March is complete
    priorities = result.data.priorities
    assert priorities, "some items have high importance and low performance"
    assert {p.driver for p in priorities} <= set(ITEM_DIMENSION)
    page = result.path.read_text(encoding="utf-8")
    for p in priorities:
        assert f'data-driver="{p.driver}"' in page
        assert f"How do you rate {p.driver.lower()}?" in page  # the item's statement from the seed


# ------------------------------------------------------------------------------- reporting time zone

BOUNDARY_RESPONSES = [  # (response, submitted at UTC, likelihood to recommend)
    ("Z1", "2024-01-15T12:00:00Z", 8),  # January everywhere
    ("Z2", "2024-01-31T17:00:00Z", 10),  # Shanghai 1 Feb 01:00; Sao Paulo 31 Jan 14:00
    ("Z3", "2024-02-01T01:00:00Z", 10),  # Shanghai 1 Feb 09:00; Sao Paulo 31 Jan 22:00
    ("Z4", "2024-02-29T20:00:00Z", 0),  # Shanghai 1 Mar 04:00; Sao Paulo 29 Feb 17:00
    ("Z5", "2024-03-01T02:30:00Z", 9),  # Shanghai 1 Mar 10:30; Sao Paulo 29 Feb 23:30
]
# NPS by month, worked out by hand from the local times above (passive 8, promoters 9-10, detractor 0)
EXPECTED_NPS = {
    "UTC": {JAN: (50.0, 2), FEB: (0.0, 2), MAR: (100.0, 1)},  # Z1 Z2 | Z3 Z4 | Z5
    "Asia/Shanghai": {JAN: (0.0, 1), FEB: (100.0, 2), MAR: (0.0, 2)},  # Z1 | Z2 Z3 | Z4 Z5
    "America/Sao_Paulo": {JAN: (66.6667, 3), FEB: (0.0, 2)},  # Z1 Z2 Z3 | Z4 Z5 (no March)
}


@pytest.fixture(scope="module", params=["Asia/Shanghai", "America/Sao_Paulo"])
def zoned(request, tmp_path_factory):
    zone = request.param
    root = tmp_path_factory.mktemp(zone.replace("/", "_"))
    rows = [
        {"response_id": r, "survey_id": "S", "submitted_at": at, "channel": "web", "likelihood_to_recommend": nps}
        for r, at, nps in BOUNDARY_RESPONSES
    ]
    fx.write_landing(root / "landing", "survey_responses", rows)
    columns = ["response_id", "survey_id", "submitted_at", "channel", "likelihood_to_recommend"]
    built = fx.build(root, root / "landing", {"survey_responses": columns}, dbt_vars={"reporting_time_zone": zone})
    assert built.ingest_errors == [], built.ingest_errors
    assert built.dbt.success, "\n".join(built.dbt.failures)
    return zone, built


def test_months_are_cut_in_the_reporting_time_zone(zoned):
    zone, built = zoned
    nps = fx.all_up(built, "nps")
    assert {m: (r["value"], r["sample_size"]) for m, r in nps.items()} == EXPECTED_NPS[zone]
    con = ref.open_warehouse(built)
    try:
        reference = ref.compute_from_warehouse(con, ref.seed_dirs(), zone)
        utc = ref.compute_from_warehouse(con, ref.seed_dirs())
        days = dict(con.execute("select response_id, submitted_date from marts.fct_survey_responses").fetchall())
    finally:
        con.close()
    assert not ref.compare_kpi(ref.read_table(built, "marts.kpi_monthly"), reference, "nps")
    # the reference itself follows the zone (and differs from UTC on these responses)
    reference_nps = reference[(reference["kpi"] == "nps") & (reference["channel"] == ref.ALL)]
    assert {r["month_start_date"]: r["value"] for r in reference_nps.to_dict("records")} == pytest.approx(
        {m: v for m, (v, _) in EXPECTED_NPS[zone].items()}, abs=1e-4
    )
    assert set(utc.loc[utc["kpi"] == "nps", "month_start_date"]) == set(EXPECTED_NPS["UTC"])
    # days too: Z2 is on 1 February in Shanghai, Z5 on 29 February in Sao Paulo
    if zone == "Asia/Shanghai":
        assert (days["Z2"], days["Z5"]) == (date(2024, 2, 1), date(2024, 3, 1))
    else:
        assert (days["Z2"], days["Z5"]) == (date(2024, 1, 31), date(2024, 2, 29))


def test_utc_is_the_default_reporting_time_zone(register):
    """Without the var, months are UTC months (the register's months are the UTC ones above)."""
    assert set(fx.all_up(register, "complaint_volume")) == {JAN, FEB, MAR}
    compiled = (register.target_path / "compiled").rglob("int_months.sql")
    assert all("timezone(" not in p.read_text() for p in compiled), "UTC emits no conversion"


# ----------------------------------------------------------------------- follow-ups as their own entity


def test_a_recorded_follow_up_closes_the_loop_without_a_ticket(tmp_path):
    """An NPS-only programme records follow-up calls in the followups entity, not as tickets: a
    detractor called back within 48 hours leaves the follow-up queue; one not called back stays."""
    root = tmp_path / "closed_loop"
    responses = [
        {"response_id": "R1", "survey_id": "S", "customer_id": "C1", "submitted_at": "2024-01-10T10:00:00Z",
         "likelihood_to_recommend": 2},  # called back 23 hours later (by response id)
        {"response_id": "R2", "survey_id": "S", "customer_id": "C2", "submitted_at": "2024-01-12T10:00:00Z",
         "likelihood_to_recommend": 3},  # never called back
        {"response_id": "R3", "survey_id": "S", "customer_id": "C3", "submitted_at": "2024-01-20T10:00:00Z",
         "likelihood_to_recommend": 10},
    ]  # fmt: skip
    fx.write_landing(root / "landing", "survey_responses", responses)

    def record_followups(con):
        # a follow-up contact (survey/followups) as it lands in raw
        con.execute(
            "insert into raw.followups (followup_id, response_id, followed_up_at, channel, employee_id, outcome,"
            " _source_file, _row_number, _loaded_at)"
            " values ('F1', 'R1', timestamp '2024-01-11 09:00:00', 'phone', 'E1', 'apologised', 'f.csv', 1,"
            " now()::timestamp)"
        )

    built = fx.build(
        root,
        root / "landing",
        {"survey_responses": ["response_id", "survey_id", "customer_id", "submitted_at", "likelihood_to_recommend"]},
        after_ingest=record_followups,
    )
    assert built.dbt.success, "\n".join(built.dbt.failures)
    queue = fx.query(built, "select response_id, followup_status from marts.followup_queue order by 1")
    # (without the followups entity R1 would be overdue as well)
    assert [(r["response_id"], r["followup_status"]) for r in queue] == [("R2", "overdue")]


# ------------------------------------------------------------------ response and customer attributes

# A passenger survey that carries travel class (response level) and a CRM export that carries the
# customer's loyalty tier (customer level), both beyond the contract (`_extra`); the seed
# slice_attributes names them. Spellings vary ("Business", " eco ") and some values are missing.
ATTRIBUTE_RESPONSES = [  # response, customer, submitted (UTC), LTR, CSAT, satisfied, travel class, TAN1
    ("A01", "C1", "2024-01-05T10:00:00Z", 10, 5, "yes", "Business", 7),
    ("A02", "C2", "2024-01-09T10:00:00Z", 3, 2, "no", " eco ", 2),
    ("A03", "C3", "2024-01-15T10:00:00Z", 9, 4, "yes", "eco", 5),
    ("A04", None, "2024-01-20T10:00:00Z", 7, 1, "no", "", 4),
    ("A05", "C1", "2024-02-02T10:00:00Z", 6, 4, "yes", "business", 3),
    ("A06", "C2", "2024-02-11T10:00:00Z", 10, 5, "yes", "ECO", 6),
    ("A07", "C4", "2024-02-20T10:00:00Z", 8, 3, "no", "eco", 1),
]
ATTRIBUTE_CUSTOMERS = [("C1", "Gold"), ("C2", "silver"), ("C3", "gold"), ("C4", None)]


def _attribute_reference() -> pd.DataFrame:
    """Independent of the project: nps, csat_pct, satisfied_pct and perception_score_tangibles per
    month and attribute value (values trimmed and lower-cased, `unknown` when missing)."""
    df = pd.DataFrame(
        ATTRIBUTE_RESPONSES,
        columns=["response_id", "customer_id", "submitted_at", "ltr", "csat", "satisfied", "travel_class", "tan1"],
    )
    tiers = dict(ATTRIBUTE_CUSTOMERS)
    df["month_start_date"] = pd.to_datetime(df["submitted_at"]).dt.tz_localize(None).dt.to_period("M").dt.start_time
    df["month_start_date"] = df["month_start_date"].dt.date
    df["travel_class"] = df["travel_class"].str.strip().str.lower().replace("", "unknown")
    df["tier"] = [(tiers.get(c) or "unknown").lower() if c else "unknown" for c in df["customer_id"]]
    rows = []
    for attribute, column in (("travel_class", "travel_class"), ("tier", "tier")):
        for (month, value), g in df.groupby(["month_start_date", column]):
            nps = 100.0 * ((g["ltr"] >= 9).sum() - (g["ltr"] <= 6).sum()) / len(g)
            rows += [
                (month, attribute, value, "nps", nps, len(g)),
                (month, attribute, value, "csat_pct", 100.0 * (g["csat"] >= 4).sum() / len(g), len(g)),
                (month, attribute, value, "satisfied_pct", 100.0 * (g["satisfied"] == "yes").sum() / len(g), len(g)),
                # TAN1 on 1-7: index (score - 1) / 6 * 100, averaged over the responses
                (month, attribute, value, "perception_score_tangibles", ((g["tan1"] - 1) / 6 * 100).mean(), len(g)),
            ]
    return pd.DataFrame(rows, columns=["month_start_date", "attribute_name", "attribute_value", "kpi", "value", "n"])


@pytest.fixture(scope="module")
def attributed(tmp_path_factory):
    root = tmp_path_factory.mktemp("attributed")
    responses = [
        {
            "response_id": r,
            "survey_id": "PAX",
            "customer_id": c,
            "submitted_at": at,
            "channel": "web",
            "likelihood_to_recommend": ltr,
            "csat_score": csat,
            "is_satisfied": satisfied,
            "travel_class": travel_class,
        }
        for r, c, at, ltr, csat, satisfied, travel_class, _ in ATTRIBUTE_RESPONSES
    ]
    fx.write_landing(root / "landing", "survey_responses", responses)
    fx.write_landing(
        root / "landing",
        "survey_item_scores",
        [{"response_id": r[0], "item_code": "TAN1", "perception_score": r[7]} for r in ATTRIBUTE_RESPONSES],
    )
    fx.write_landing(
        root / "landing", "customers", [{"customer_id": c, "loyalty_tier": t} for c, t in ATTRIBUTE_CUSTOMERS]
    )
    seeds = fx.copy_seeds(
        root / "seeds",
        {
            "slice_attributes": [
                {"entity": "survey_responses", "attribute": "travel_class", "label": "travel_class"},
                {"entity": "customers", "attribute": "loyalty_tier", "label": "tier"},
            ]
        },
    )
    built = fx.build(
        root,
        root / "landing",
        {
            "survey_responses": [
                "response_id", "survey_id", "customer_id", "submitted_at", "channel",
                "likelihood_to_recommend", "csat_score", "is_satisfied",
            ],
            "survey_item_scores": ["response_id", "item_code", "perception_score"],
            "customers": ["customer_id"],
        },
        seeds_dir=seeds,
    )  # fmt: skip
    assert built.ingest_errors == [], built.ingest_errors
    assert built.dbt.success, "\n".join(built.dbt.failures)
    return built


def test_attribute_slices_equal_an_independent_computation(attributed):
    expected = _attribute_reference()
    rows = fx.query(
        attributed,
        "select month_start_date, attribute_name, attribute_value, kpi, value, sample_size"
        " from marts.kpi_monthly where attribute_name <> 'all'"
        " and kpi in ('nps', 'csat_pct', 'satisfied_pct', 'perception_score_tangibles')",
    )
    # on attribute rows the five fixed slicing columns hold `all` (checked by the query's shape)
    got = {(r["month_start_date"], r["attribute_name"], r["attribute_value"], r["kpi"]): r for r in rows}
    for e in expected.itertuples():
        row = got.pop((e.month_start_date, e.attribute_name, e.attribute_value, e.kpi))
        assert row["value"] == pytest.approx(round(e.value, 4), abs=1e-4), e
        assert row["sample_size"] == e.n, e
    # what is left are empty groups of the grid (a value seen in one month only): no data, no zero
    assert got, "the grid has empty groups (travel class unknown has no February response)"
    assert all(r["value"] is None and r["sample_size"] == 0 for r in got.values()), got


def test_attribute_rows_leave_the_totals_and_fixed_slices_alone(attributed):
    # the all-up rows are those of a warehouse without attributes: one per month and KPI
    totals = fx.query(
        attributed,
        "select month_start_date, kpi, count(*) as n, max(value) as value from marts.kpi_monthly"
        " where segment = 'all' and region = 'all' and channel = 'all' and touchpoint = 'all'"
        " and category = 'all' and attribute_name = 'all' group by month_start_date, kpi",
    )
    assert all(t["n"] == 1 for t in totals)
    nps = {t["month_start_date"]: t["value"] for t in totals if t["kpi"] == "nps"}
    # January: promoters A01, A03, detractor A02 of 4 = 25; February: promoter A06, detractor A05 of 3 = 0
    assert nps == {date(2024, 1, 1): 25.0, date(2024, 2, 1): 0.0}
    # attribute slices only on survey KPIs; every other row has attribute_value `all`
    other = fx.query(
        attributed,
        "select count(*) as n from marts.kpi_monthly where (attribute_name = 'all') <> (attribute_value = 'all')"
        " or (attribute_name <> 'all' and (segment <> 'all' or region <> 'all' or channel <> 'all'"
        " or touchpoint <> 'all' or category <> 'all'))",
    )
    assert other[0]["n"] == 0
    sliced = fx.query(attributed, "select distinct kpi from marts.kpi_monthly where attribute_name <> 'all'")
    assert {r["kpi"] for r in sliced} >= {"nps", "csat_pct", "satisfied_pct", "perception_score"}
    assert not {r["kpi"] for r in sliced} & {"complaint_volume", "logo_churn_rate", "repeat_purchase_rate"}


def test_attribute_slices_pass_the_dbt_tests(attributed, monkeypatch):
    # reconcile with the total (every response in one value per attribute), unique grain, seed rules
    seeds = attributed.root / "seeds"
    monkeypatch.setenv("CSAT_DBT_SEED_PATH", str(Path(os.path.relpath(seeds, ref.DBT_PROJECT_DIR))))
    dbt = ref.run_dbt(
        [
            "test", "--select",
            "kpi_monthly slice_attributes int_survey_response_attributes stg_survey__response_attributes"
            " stg_crm__customer_attributes assert_kpi_slices_reconcile_with_total",
        ],
        warehouse_path=attributed.warehouse_path,
        work_dir=attributed.root / "dbt",
    )  # fmt: skip
    assert dbt.success, "\n".join(dbt.failures)


# ------------------------------------------------------------------------ risk for a CSAT-only programme

CSAT_ONLY_RESPONSES = [  # response, customer, submitted (UTC), CSAT 1-5 (low: <= 2)
    ("Q1", "C1", "2024-02-01T09:00:00Z", 2),
    ("Q2", "C1", "2024-02-10T09:00:00Z", 1),  # C1: latest low, two low in a row
    ("Q3", "C2", "2024-02-03T09:00:00Z", 1),
    ("Q4", "C2", "2024-02-12T09:00:00Z", 5),  # C2: latest fine, none in a row
    ("Q5", "C3", "2024-02-05T09:00:00Z", 4),
    ("Q6", "C3", "2024-02-14T09:00:00Z", 2),  # C3: latest low, one in a row
]


def _risk_warehouse(root, with_survey: bool) -> ref.BuiltWarehouse:
    """Customers C1-C3, each with a valid order on 25 Feb and in March (active), and (with_survey) CSAT-only
    responses; the default low_response_measures (latest: detractor, low CSI, not satisfied, none of
    them delivered) and risk levels from the seed: high from 45, medium from 35."""
    fx.write_landing(root / "landing", "customers", [{"customer_id": c} for c in ("C1", "C2", "C3")])
    fx.write_landing(
        root / "landing",
        "orders",
        [{"order_id": f"O{c}", "customer_id": c, "ordered_at": "2024-02-25T12:00:00Z"} for c in ("C1", "C2", "C3")]
        # March: C1 buys twice (a repeat buyer), C2 and C3 once
        + [
            {"order_id": o, "customer_id": c, "ordered_at": at}
            for o, c, at in [
                ("M1", "C1", "2024-03-05T10:00:00Z"),
                ("M2", "C1", "2024-03-06T10:00:00Z"),
                ("M3", "C2", "2024-03-05T10:00:00Z"),
                ("M4", "C3", "2024-03-05T10:00:00Z"),
            ]
        ],
    )
    delivered = {"customers": ["customer_id"], "orders": ["order_id", "customer_id", "ordered_at"]}
    if with_survey:
        fx.write_landing(
            root / "landing",
            "survey_responses",
            [
                {"response_id": r, "survey_id": "CS", "customer_id": c, "submitted_at": at, "csat_score": s}
                for r, c, at, s in CSAT_ONLY_RESPONSES
            ],
        )
        delivered["survey_responses"] = ["response_id", "survey_id", "customer_id", "submitted_at", "csat_score"]
    thresholds = list(csv_rows(ref.REPO_ROOT / "seeds" / "analytics_thresholds.csv"))
    for row in thresholds:
        row["value"] = {"risk_high_min_score": "45", "risk_medium_min_score": "35"}.get(row["parameter"], row["value"])
    seeds = fx.copy_seeds(root / "seeds", {"analytics_thresholds": thresholds})
    built = fx.build(root, root / "landing", delivered, seeds_dir=seeds)
    assert built.ingest_errors == [], built.ingest_errors
    assert built.dbt.success, "\n".join(built.dbt.failures)
    return built


def csv_rows(path):
    with path.open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


RISK_COLUMNS = (
    "customer_id, has_latest_response_low, consecutive_low_responses, has_consecutive_low_responses,"
    " low_response_null_reason, risk_score, risk_level, risk_reasons"
)


def test_csat_only_programme_risk_uses_low_csat_and_seed_thresholds(tmp_path):
    built = _risk_warehouse(tmp_path / "csat_only", with_survey=True)
    rows = fx.query(built, f"select {RISK_COLUMNS} from marts.customer_risk order by customer_id")
    got = [tuple(r.values()) for r in rows]
    # weights (seed analytics_risk_weights): latest_response_low 30, consecutive_low_responses 20
    assert got == [
        ("C1", True, 2, True, None, 50.0, "high", "latest_response_low,consecutive_low_responses"),
        ("C2", False, 0, False, None, 0.0, "none", None),
        ("C3", True, 1, False, None, 30.0, "low", "latest_response_low"),  # 30 < 35: low, not medium
    ]


def test_risk_without_any_satisfaction_measure_says_why(tmp_path):
    built = _risk_warehouse(tmp_path / "no_survey", with_survey=False)
    rows = fx.query(built, f"select {RISK_COLUMNS} from marts.customer_risk order by customer_id")
    assert [tuple(r.values()) for r in rows] == [
        (c, None, None, None, "no satisfaction measure delivered", 0.0, "none", None) for c in ("C1", "C2", "C3")
    ]


LINKAGE_COLUMNS = "kpi, grouping, group_value, numerator_count, denominator_count, rate_pct, null_reason"


def test_csat_only_programme_links_loyalty_by_csat_band(tmp_path):
    built = _risk_warehouse(tmp_path / "csat_linkage", with_survey=True)
    rows = fx.query(
        built,
        f"select {LINKAGE_COLUMNS} from marts.loyalty_linkage_monthly where month_start_date = '2024-03-01'"
        " order by kpi, group_order",
    )
    # latest CSAT before March: C1 1 (low), C2 5 (satisfied), C3 2 (low); March buyers C1 (2 orders),
    # C2, C3 (1 each): low 1 of 2 repeat, satisfied 0 of 1. No subscriptions: churn groups are empty.
    assert [tuple(r.values()) for r in rows] == [
        ("logo_churn_rate", "csat_band", "satisfied", 0, 0, None, None),
        ("logo_churn_rate", "csat_band", "neutral", 0, 0, None, None),
        ("logo_churn_rate", "csat_band", "low", 0, 0, None, None),
        ("logo_churn_rate", "csat_band", "no_response", 0, 0, None, None),
        ("repeat_purchase_rate", "csat_band", "satisfied", 0, 1, 0.0, None),
        ("repeat_purchase_rate", "csat_band", "neutral", 0, 0, None, None),
        ("repeat_purchase_rate", "csat_band", "low", 1, 2, 50.0, None),
        ("repeat_purchase_rate", "csat_band", "no_response", 0, 0, None, None),
    ]


def test_loyalty_linkage_without_any_satisfaction_measure_says_why(tmp_path):
    built = _risk_warehouse(tmp_path / "no_survey_linkage", with_survey=False)
    rows = fx.query(
        built,
        f"select {LINKAGE_COLUMNS} from marts.loyalty_linkage_monthly where month_start_date = '2024-03-01'"
        " and kpi = 'repeat_purchase_rate' order by group_order",
    )
    reason = "no satisfaction measure delivered (CSI items, csat_score)"
    # the three buyers are all no_response, but a rate by a measure nobody asked is not published
    assert [tuple(r.values()) for r in rows] == [
        ("repeat_purchase_rate", "csi_band", "high", 0, 0, None, reason),
        ("repeat_purchase_rate", "csi_band", "medium", 0, 0, None, reason),
        ("repeat_purchase_rate", "csi_band", "low", 0, 0, None, reason),
        ("repeat_purchase_rate", "csi_band", "no_response", 1, 3, None, reason),
    ]
