"""`marts.scorecard_latest` and the month-on-month / year-on-year columns of `marts.scorecard_monthly`
on the sample warehouse, against an independent computation from the monthly actuals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import kpi_reference as ref

pytestmark = pytest.mark.pipeline


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    sample = ref.sample_warehouse(tmp_path_factory)
    assert sample.dbt.success, "dbt build failed:\n" + "\n".join(sample.dbt.failures)
    con = ref.open_warehouse(sample)
    monthly = con.execute(
        "select month_start_date, kpi, actual, target, status, change_vs_previous_month, "
        "change_vs_same_month_last_year, previous_month_actual, same_month_last_year_actual "
        "from marts.scorecard_monthly"
    ).fetchall()
    latest = con.execute(
        "select month_start_date, is_month_complete, kpi, actual, target, status, change_vs_previous_month, "
        "change_vs_same_month_last_year, previous_month_start_date, same_month_last_year_start_date "
        "from marts.scorecard_latest"
    ).fetchall()
    con.close()
    return monthly, latest


def _change(now: float | None, then: float | None) -> float | None:
    return None if now is None or then is None else now - then


def test_changes_are_differences_in_the_kpis_unit(marts):
    monthly, _ = marts
    actual = {(r[0], r[1]): r[2] for r in monthly}
    checked = 0
    for month, kpi, now, _, _, month_change, year_change, previous, last_year in monthly:
        for offset, change, then in ((-1, month_change, previous), (-12, year_change, last_year)):
            expected_then = actual.get((_shift(month, offset), kpi))
            assert then == expected_then, (month, kpi, offset)
            expected = _change(now, expected_then)
            if expected is None:
                assert change is None, (month, kpi, offset, change)
            else:
                assert change == pytest.approx(expected, abs=5e-5), (month, kpi, offset)
                checked += 1
    assert checked > 500, "the sample has many months with both values"


def test_scorecard_latest_is_the_latest_complete_month(marts):
    monthly, latest = marts
    now = datetime.now(UTC).replace(tzinfo=None)
    months = {r[0] for r in monthly}
    complete = [m for m in months if datetime.combine(_shift(m, 1), datetime.min.time()) <= now]
    expected_month = max(complete)
    assert {r[0] for r in latest} == {expected_month} and all(r[1] for r in latest)
    by_kpi = {r[1]: r for r in monthly if r[0] == expected_month}
    assert {r[2] for r in latest} == set(by_kpi), "every KPI of the month, once"
    for month, _, kpi, actual, target, status, month_change, year_change, previous_start, year_start in latest:
        row = by_kpi[kpi]
        assert (actual, target, status, month_change, year_change) == (row[2], row[3], row[4], row[5], row[6])
        assert previous_start == _shift(month, -1) and year_start == _shift(month, -12)
