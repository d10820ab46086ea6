"""KPI edge cases on small hand-made fixtures (tests/fixtures_kpi/landing), values worked out by hand.

The fixtures go through the real path: landing files -> the loader -> dbt (seeds + models). Each
expected value below is checked twice: against `marts.kpi_monthly` and against the independent
reference (tests/kpi_reference.py), so a wrong hand calculation cannot hide a wrong reference.

The data, in short (all UTC, 2024):
- customers C1 ' VIP ' North; C2 'vip' then re-delivered as 'Regular' (current value wins) south;
  C3 new north; C4 regular south; C5 segment empty (-> unknown), region 'East '.
- responses: R1 Jan C1 web NPS 10; R2 Jan C2 app NPS 5; R3 Jan C4 web delivered twice in one file
  (NPS 0 on Jan 20, then NPS 9 on Jan 21: the latest wins); R4 '2024-01-31T23:30-05:00' = Feb 1 UTC,
  channel 'Web ', NPS 10; R5 '2024-03-01T00:30+02:00' = Feb 29 UTC, NPS 8; no response in March;
  R6 Apr anonymous NPS 3; R7 May C3 NPS 9. R1 is delivered again in a second file (no duplicate).
- orders: C1 Jan 5 + Jan 20 (web), Mar 15 (app); C2 Jan 10 completed, Jan 11 cancelled, Apr 20
  refunded (store); C4 Feb 10 ' Completed' (web), Apr 5 pending (app).
- tickets: T1 C1 Jan complaint high, resolved after exactly 24 h (SLA target 24 h: met);
  T2 C2 Jan complaint low, reopened once and finally resolved Feb 14 (840 h), escalated;
  T3 C4 Feb complaint, resolved Feb 3 then reopened and still open; T4 Mar inquiry (not a complaint);
  T5 C5 Apr complaint, open, escalated NULL.
- item scores: R1 and R4 rate one item per SERVQUAL dimension, R2 two tangibles items; R2 also rates
  EMP1's perception without an expectation and REL1's expectation without a perception.
- subscriptions: C5 Jan 1 - Feb 15 (20); C3 Feb 3 - Feb 20 (joins and leaves in February, 10);
  C4 Jan 2 - Mar 10 (30) then again from Mar 25 (35); C1 from Jan 3 (100) with an end scheduled
  for 2025-06-30 (after everything else: it must not make the February repurchase cohort mature);
  C2 Jan 4 - Mar 31 23:00 (50).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import pytest

import kpi_reference as ref

pytestmark = pytest.mark.pipeline


@dataclass(frozen=True)
class Case:
    edge: str  # which edge case the row shows
    month: str
    kpi: str
    value: float | None
    slice_column: str | None = None
    slice_value: str | None = None
    sample_size: int | None = None
    is_mature: bool | None = None

    @property
    def id(self) -> str:
        where = f"-{self.slice_column}={self.slice_value}" if self.slice_column else ""
        return f"{self.edge}-{self.kpi}-{self.month[:7]}{where}"


CASES = [
    # an empty group is NULL, never 0 (counts are 0)
    Case("empty_group", "2024-03-01", "nps", None, sample_size=0),
    Case("empty_group", "2024-03-01", "csi", None),
    Case("empty_group", "2024-03-01", "servqual_gap", None),
    Case("empty_group", "2024-02-01", "nps", None, "channel", "app"),
    Case("empty_group", "2024-02-01", "csat_pct", None, "segment", "new"),
    Case("empty_group", "2024-01-01", "logo_churn_rate", None),
    Case("empty_group", "2024-01-01", "gross_revenue_churn_rate", None),
    Case("empty_group", "2024-01-01", "retention_rate", None),
    Case("empty_group", "2024-05-01", "complaint_rate", None),
    Case("empty_group", "2024-05-01", "repeat_purchase_rate", None),
    Case("empty_group", "2024-03-01", "repurchase_90d_rate", None),
    Case("empty_group", "2024-03-01", "first_response_hours_median", None),
    Case("empty_group", "2024-03-01", "escalation_rate", None),
    Case("empty_group", "2024-03-01", "complaint_volume", 0),
    Case("empty_group", "2024-05-01", "complaint_volume", 0),
    Case("empty_group", "2024-01-01", "backlog", 0, "category", "delivery"),
    # a response delivered twice in one file counts once, with its latest version
    Case("duplicated_response", "2024-01-01", "nps", 33.3333, sample_size=3),
    Case("duplicated_response", "2024-01-01", "csat_pct", 66.6667, sample_size=3),
    Case("duplicated_response", "2024-01-01", "ces", 4.6667, sample_size=3),
    Case("duplicated_response", "2024-01-01", "ces_easy_pct", 66.6667),
    Case("duplicated_response", "2024-01-01", "nps", 100.0, "channel", "web", sample_size=2),
    Case("duplicated_response", "2024-01-01", "csi", 50.0, sample_size=2),  # R3 lacks an item: no CSI
    # a complaint reopened and resolved again counts until its final resolution
    Case("reopened_complaint", "2024-02-01", "resolution_hours_median", 840.0, sample_size=1),
    Case("reopened_complaint", "2024-02-01", "reopen_rate", 100.0),
    Case("reopened_complaint", "2024-02-01", "first_contact_resolution_rate", 0.0),
    Case("reopened_complaint", "2024-02-01", "sla_attainment_rate", 0.0),
    Case("reopened_complaint", "2024-01-01", "backlog", 1),  # T2 open at the end of January
    Case("reopened_complaint", "2024-01-01", "reopen_rate", 0.0),
    Case("reopened_complaint", "2024-01-01", "first_contact_resolution_rate", 100.0),
    # a complaint reopened and not resolved again is open: in the backlog, not resolved
    Case("reopened_still_open", "2024-02-01", "backlog", 1),
    Case("reopened_still_open", "2024-03-01", "backlog", 1),
    Case("reopened_still_open", "2024-04-01", "backlog", 2),
    Case("reopened_still_open", "2024-02-01", "resolution_hours_p90", 840.0, sample_size=1),
    Case("reopened_still_open", "2024-02-01", "reopen_rate", 100.0, "category", "billing"),
    Case("reopened_still_open", "2024-02-01", "reopen_rate", None, "category", "product_quality"),
    # a customer who joins and leaves in the same month is in neither numerator nor denominator
    Case("join_and_leave_same_month", "2024-02-01", "logo_churn_rate", 25.0, sample_size=4),
    Case("join_and_leave_same_month", "2024-02-01", "gross_revenue_churn_rate", 10.0),
    Case("join_and_leave_same_month", "2024-02-01", "retention_rate", 75.0),
    Case("join_and_leave_same_month", "2024-02-01", "logo_churn_rate", None, "segment", "new"),
    Case("join_and_leave_same_month", "2024-02-01", "logo_churn_rate", 100.0, "segment", "unknown"),
    Case("join_and_leave_same_month", "2024-02-01", "logo_churn_rate", 100.0, "region", "east"),
    # a time zone offset moves a response across a month boundary
    Case("time_zone_offset", "2024-02-01", "nps", 50.0, sample_size=2),
    Case("time_zone_offset", "2024-02-01", "nps", 100.0, "channel", "web", sample_size=1),
    Case("time_zone_offset", "2024-02-01", "nps", 0.0, "channel", "email", sample_size=1),
    Case("time_zone_offset", "2024-02-01", "csi", 72.2222),
    Case("time_zone_offset", "2024-02-01", "servqual_gap", 0.6),
    # a subscription that ends and restarts (C4 in March) is not churn
    Case("subscription_restart", "2024-03-01", "logo_churn_rate", 33.3333, sample_size=3),
    Case("subscription_restart", "2024-03-01", "logo_churn_rate", 50.0, "segment", "regular"),
    Case("subscription_restart", "2024-03-01", "gross_revenue_churn_rate", 27.7778),
    Case("subscription_restart", "2024-03-01", "retention_rate", 66.6667),
    Case("subscription_restart", "2024-04-01", "logo_churn_rate", 0.0, sample_size=2),
    Case("subscription_restart", "2024-04-01", "gross_revenue_churn_rate", 0.0),
    # customer attributes are the current version, trimmed and lower-cased; anonymous -> unknown
    Case("current_customer_attributes", "2024-01-01", "nps", 100.0, "segment", "vip", sample_size=1),
    Case("current_customer_attributes", "2024-01-01", "nps", 0.0, "segment", "regular", sample_size=2),
    Case("current_customer_attributes", "2024-01-01", "nps", 100.0, "region", "north"),
    Case("current_customer_attributes", "2024-04-01", "nps", -100.0, "segment", "unknown"),
    Case("current_customer_attributes", "2024-04-01", "nps", -100.0, "region", "unknown"),
    # orders: cancelled / refunded are not valid, status is compared trimmed and lower-cased
    Case("valid_orders", "2024-01-01", "repeat_purchase_rate", 50.0, sample_size=2),
    Case("valid_orders", "2024-01-01", "repeat_purchase_rate", 0.0, "channel", "store"),
    Case("valid_orders", "2024-01-01", "repeat_purchase_rate", 100.0, "channel", "web"),
    Case("valid_orders", "2024-02-01", "repeat_purchase_rate", 0.0, sample_size=1),
    Case("valid_orders", "2024-01-01", "complaint_rate", 666.6667),
    Case("valid_orders", "2024-03-01", "complaint_rate", 0.0),
    Case("valid_orders", "2024-01-01", "repurchase_90d_rate", 50.0, sample_size=2, is_mature=True),
    Case("valid_orders", "2024-02-01", "repurchase_90d_rate", 100.0, sample_size=1, is_mature=False),
    # complaints: first response percentiles, SLA met at exactly the target, escalation NULL = no
    Case("complaint_times", "2024-01-01", "first_response_hours_median", 13.0, sample_size=2),
    Case("complaint_times", "2024-01-01", "first_response_hours_p90", 21.8),
    Case("complaint_times", "2024-01-01", "resolution_hours_median", 24.0, sample_size=1),
    Case("complaint_times", "2024-01-01", "sla_attainment_rate", 100.0),
    Case("complaint_times", "2024-01-01", "escalation_rate", 50.0),
    Case("complaint_times", "2024-04-01", "escalation_rate", 0.0),
    Case("complaint_times", "2024-04-01", "first_response_hours_median", None),
    Case("complaint_times", "2024-01-01", "complaint_volume", 2),
    Case("complaint_times", "2024-03-01", "complaint_volume", 0, "channel", "phone"),  # T4 is an inquiry
    # SERVQUAL: dimension gap = mean of the item gaps of the dimension in the group
    Case("servqual", "2024-01-01", "servqual_gap_tangibles", -1.0),
    # R2 rated EMP1's perception without an expectation: no gap, so not in the gap's sample, but in
    # the perception score's: (6-1)/6 and (5-1)/6 of the 1-7 scale, as 0-100 indices
    Case("servqual", "2024-01-01", "servqual_gap_empathy", 3.0, sample_size=1),
    Case("servqual", "2024-01-01", "perception_score_empathy", 75.0, sample_size=2),
    # R2 left REL1's perception blank: neither a gap nor a perception, in neither sample
    Case("servqual", "2024-01-01", "servqual_gap_reliability", -2.0, sample_size=1),
    Case("servqual", "2024-01-01", "perception_score_reliability", 50.0, sample_size=1),
    Case("servqual", "2024-01-01", "servqual_gap", -0.4),
    Case("servqual", "2024-01-01", "servqual_gap_weighted", -0.65),  # seed weights .11 .32 .22 .19 .16
]
GRID_MONTHS = [date(2024, m, 1) for m in range(1, 6)]


def _lookup(frame: pd.DataFrame, case: Case) -> pd.DataFrame:
    mask = (frame["kpi"] == case.kpi) & (frame["month_start_date"] == date.fromisoformat(case.month))
    for column in ref.SLICE_COLUMNS:
        wanted = case.slice_value if column == case.slice_column else ref.ALL
        mask &= frame[column] == wanted
    return frame[mask]


def _check(frame: pd.DataFrame, case: Case) -> None:
    rows = _lookup(frame, case)
    assert len(rows) == 1, f"expected one row for {case.id}, found {len(rows)}"
    row = rows.iloc[0]
    assert ref.same_number(row["value"], case.value), f"{case.id}: value {row['value']}, expected {case.value}"
    if case.sample_size is not None:
        if case.sample_size == 0:
            assert ref._is_zero_or_null(row["sample_size"]), f"{case.id}: sample_size {row['sample_size']}"
        else:
            assert row["sample_size"] == case.sample_size, (
                f"{case.id}: sample_size {row['sample_size']}, expected {case.sample_size}"
            )
    if case.is_mature is not None:
        assert bool(row["is_mature"]) is case.is_mature, f"{case.id}: is_mature {row['is_mature']}"


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> ref.BuiltWarehouse:
    return ref.edge_case_warehouse(tmp_path_factory)


@pytest.fixture(scope="module")
def edge_reference(edge) -> pd.DataFrame:
    assert not edge.ingest_errors, edge.ingest_errors
    return ref.reference_for(edge)


@pytest.fixture(scope="module")
def edge_mart(edge) -> pd.DataFrame:
    assert edge.dbt.success or not any("kpi_monthly" in f for f in edge.dbt.failures), (
        "dbt could not build kpi_monthly on the edge-case fixtures:\n" + "\n".join(edge.dbt.failures)
    )
    return ref.read_table(edge, "marts.kpi_monthly")


def test_fixtures_ingest_cleanly(edge):
    """Only the deliberate duplicate of R3 is rejected, as `duplicate`."""
    assert edge.ingest_errors == []
    con = ref.open_warehouse(edge)
    try:
        rejects = con.execute("select entity, rule from raw.load_rejects").fetchall()
        counts = dict(
            con.execute(
                "select 'survey_responses', count(*) from raw.survey_responses union all "
                "select 'tickets', count(*) from raw.tickets union all "
                "select 'subscriptions', count(*) from raw.subscriptions union all "
                "select 'customers', count(*) from raw.customers"
            ).fetchall()
        )
    finally:
        con.close()
    assert rejects == [("survey_responses", "duplicate")]
    assert counts == {"survey_responses": 7, "tickets": 5, "subscriptions": 6, "customers": 5}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_reference_matches_hand_calculation(edge_reference, case):
    _check(edge_reference, case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_kpi_monthly_matches_hand_calculation(edge_mart, case):
    _check(edge_mart, case)


def test_grid_months_are_first_to_last_event_month(edge_mart):
    assert sorted(edge_mart["month_start_date"].unique()) == GRID_MONTHS
    for kpi in ref.ALL_KPIS:
        months = edge_mart.loc[edge_mart["kpi"] == kpi, "month_start_date"]
        assert sorted(months.unique()) == GRID_MONTHS, kpi


@pytest.mark.parametrize("kpi", ref.ALL_KPIS)
def test_kpi_monthly_matches_reference_on_fixtures(edge_mart, edge_reference, kpi):
    problems = ref.compare_kpi(edge_mart, edge_reference, kpi)
    assert not problems, "\n".join(problems)
