"""Reading the published marts for the scorecard (read-only; never the working warehouse).

Everything shown on the scorecard comes from the published copy: `marts.scorecard_monthly`
(actual, target, variance, status and changes per KPI and month), `marts.scorecard_breakdown_monthly`
(the slices for the breakdowns, with their status) and, when they exist, the analytics marts
`driver_importance_quarterly`, `customer_risk` and `followup_queue`. Every number and status is
computed in those marts; this module only reads them (the columns it reads are the marts'
enforced dbt contracts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

MART_SCHEMA = "marts"
TREND_MONTHS = 24
BREAKDOWN_DIMENSIONS = ("segment", "region", "channel")
ALL = "all"


@dataclass(frozen=True)
class HeadlineKpi:
    kpi: str
    label: str
    description: str


# The headline KPIs in the order the scorecard shows them (kpi names of kpi_monthly).
HEADLINE_KPIS: tuple[HeadlineKpi, ...] = (
    HeadlineKpi("csi", "CSI", "Customer satisfaction index (ACSI-style, 0-100)"),
    HeadlineKpi("nps", "NPS", "Net Promoter Score (promoters - detractors)"),
    HeadlineKpi("csat_pct", "CSAT", "Share of transactional ratings 4-5 of 5"),
    HeadlineKpi("ces", "CES", "Customer effort score (mean, 7 = very easy)"),
    HeadlineKpi("logo_churn_rate", "Churn", "Logo churn rate of subscribers"),
    HeadlineKpi("repeat_purchase_rate", "Repeat purchase", "Buyers of the month with 2+ valid orders"),
    HeadlineKpi("complaint_rate", "Complaint rate", "Complaints per 1,000 valid orders"),
    HeadlineKpi("resolution_hours_median", "Resolution time", "Median hours to final resolution"),
    HeadlineKpi("sla_attainment_rate", "SLA attainment", "Complaints resolved within their SLA"),
)
HEADLINE_KPI_NAMES = tuple(h.kpi for h in HEADLINE_KPIS)


class ScorecardError(RuntimeError):
    """The published copy cannot produce a scorecard (missing file or marts); says what to do."""


@dataclass(frozen=True)
class KpiMonth:
    """One row of marts.scorecard_monthly."""

    month: date
    kpi: str
    actual: float | None
    target: float | None
    variance: float | None
    status: str
    direction: str | None
    amber_tolerance: float | None
    unit: str | None
    sample_size: int | None
    null_reason: str | None = None  # why actual is NULL (e.g. "not delivered: tickets")
    min_sample_size: int | None = None  # below it the status is insufficient_sample
    # computed in the mart (one home for the rule): actual minus the previous month's / the same month
    # last year's actual, in the KPI's unit
    change_vs_previous_month: float | None = None
    change_vs_same_month_last_year: float | None = None


@dataclass(frozen=True)
class SliceValue:
    """One row of marts.scorecard_breakdown_monthly in the scorecard month."""

    dimension: str
    value: str
    kpi: str
    actual: float | None
    sample_size: int | None
    status: str  # against the all-customer target of the month, scored by the mart


@dataclass(frozen=True)
class DriverPriority:
    outcome: str
    driver: str
    driver_group: str | None
    importance: float | None
    importance_rank: int | None
    performance_index: float | None
    sample_size: int | None
    item_text: str | None = None  # the questionnaire statement, for an item driver


@dataclass
class QueueSizes:
    """Size of an operational queue (customer_risk or followup_queue) and its parts."""

    mart: str
    label: str
    total: int
    parts: dict[str, int] = field(default_factory=dict)


@dataclass
class ScorecardData:
    database_path: Path
    month: date
    is_month_complete: bool
    published_at: datetime | None
    run_id: str | None
    history: dict[str, list[KpiMonth]]  # kpi -> rows ordered by month (all months up to `month`)
    slices: list[SliceValue]
    priorities: list[DriverPriority] | None  # None: the key-driver mart is not published
    priorities_quarter: date | None
    priorities_note: str | None  # why there are no priorities (e.g. the outcome was not delivered)
    queues: dict[str, QueueSizes | None]  # mart -> sizes, None when not published
    marts: set[str]

    def row(self, kpi: str, month: date) -> KpiMonth | None:
        for r in self.history.get(kpi, []):
            if r.month == month:
                return r
        return None

    def current(self, kpi: str) -> KpiMonth | None:
        return self.row(kpi, self.month)


def add_months(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def month_span(end: date, months: int = TREND_MONTHS) -> list[date]:
    """`months` month starts ending with `end` (inclusive), oldest first."""
    return [add_months(end, -i) for i in range(months - 1, -1, -1)]


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if value != value else value  # NaN -> None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [MART_SCHEMA]
    ).fetchall()
    return {r[0] for r in rows}


def _publication(con: duckdb.DuckDBPyConnection) -> tuple[datetime | None, str | None]:
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = 'publication'",
        [MART_SCHEMA],
    ).fetchone()[0]
    if not exists:
        return None, None
    row = con.execute(
        f"select published_at, dagster_run_id from {MART_SCHEMA}.publication order by published_at desc limit 1"
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def choose_month(months: list[date], as_of: datetime, data_complete_until: date | None = None) -> tuple[date, bool]:
    """The latest complete month: the latest month with rows whose end (the first instant of the next
    month) is at or before `as_of` and, when given, not after `data_complete_until` (the latest month
    every delivered source's data covers to its last day). When no month is complete yet, the latest
    month (flagged partial)."""
    complete = [
        m
        for m in months
        if datetime.combine(add_months(m, 1), datetime.min.time()) <= as_of
        and (data_complete_until is None or m <= data_complete_until)
    ]
    if complete:
        return max(complete), True
    return max(months), False


def _read_history(con: duckdb.DuckDBPyConnection, last: date) -> dict[str, list[KpiMonth]]:
    rows = con.execute(
        f"""
        select month_start_date, kpi, actual, target, variance, status, direction, amber_tolerance, unit,
               sample_size, change_vs_previous_month, change_vs_same_month_last_year, null_reason,
               min_sample_size
        from {MART_SCHEMA}.scorecard_monthly
        where month_start_date <= ?
        order by kpi, month_start_date
        """,
        [last],
    ).fetchall()
    history: dict[str, list[KpiMonth]] = {}
    for r in rows:
        history.setdefault(r[1], []).append(
            KpiMonth(
                month=r[0],
                kpi=r[1],
                actual=_num(r[2]),
                target=_num(r[3]),
                variance=_num(r[4]),
                status=r[5],
                direction=r[6],
                amber_tolerance=_num(r[7]),
                unit=r[8],
                sample_size=None if r[9] is None else int(r[9]),
                change_vs_previous_month=_num(r[10]),
                change_vs_same_month_last_year=_num(r[11]),
                null_reason=r[12],
                min_sample_size=None if r[13] is None else int(r[13]),
            )
        )
    return history


def _read_slices(con: duckdb.DuckDBPyConnection, month: date) -> list[SliceValue]:
    kpis = ", ".join("?" for _ in HEADLINE_KPI_NAMES)
    dimensions = ", ".join("?" for _ in BREAKDOWN_DIMENSIONS)
    rows = con.execute(
        f"""
        select slice_column, slice_value, kpi, actual, sample_size, status
        from {MART_SCHEMA}.scorecard_breakdown_monthly
        where month_start_date = ? and slice_column in ({dimensions}) and kpi in ({kpis})
        order by slice_column, slice_value, kpi
        """,
        [month, *BREAKDOWN_DIMENSIONS, *HEADLINE_KPI_NAMES],
    ).fetchall()
    return [SliceValue(r[0], r[1], r[2], _num(r[3]), None if r[4] is None else int(r[4]), r[5]) for r in rows]


def _read_priorities(
    con: duckdb.DuckDBPyConnection, month: date, limit: int = 5
) -> tuple[list[DriverPriority], date | None, str | None]:
    """Drivers in the `priority` quadrant (high importance, low performance) of the latest quarter that
    is complete by the end of the scorecard month and has importance results, all customers, most
    important first: questionnaire items when the mart has item drivers (what a manager can act on),
    else every driver. Without any, the mart's not_run_reason of the latest such quarter says why.
    The columns read here are the mart's contract (data_type in its YAML, checked by dbt)."""
    items_only = (
        con.execute(
            f"select count(*) from {MART_SCHEMA}.driver_importance_quarterly where driver_group = 'item'"
        ).fetchone()[0]
        > 0
    )
    group_filter = "and driver_group = 'item'" if items_only else ""
    quarter = con.execute(
        f"""
        select max(quarter_start_date) from {MART_SCHEMA}.driver_importance_quarterly
        where segment = '{ALL}' and importance is not null and quarter_start_date <= ? {group_filter}
        """,
        [add_months(month, -2)],
    ).fetchone()[0]
    if quarter is None:
        found = con.execute(
            f"""
            select not_run_reason, count(*) from {MART_SCHEMA}.driver_importance_quarterly
            where segment = '{ALL}' and not_run_reason is not null and quarter_start_date <= ? {group_filter}
            group by not_run_reason order by count(*) desc, not_run_reason limit 1
            """,
            [add_months(month, -2)],
        ).fetchone()
        return [], None, found[0] if found else None
    if isinstance(quarter, datetime):
        quarter = quarter.date()
    item_text = "null"
    join = ""
    if items_only:
        item_text = "items.item_text"
        join = f"left join {MART_SCHEMA}.dim_survey_item as items on items.item_code = d.driver"
    rows = con.execute(
        f"""
        select d.outcome, d.driver, d.driver_group, d.importance, d.importance_rank,
               d.performance_index, d.sample_size, {item_text}
        from {MART_SCHEMA}.driver_importance_quarterly as d {join}
        where d.segment = '{ALL}' and d.quadrant = 'priority' and d.importance is not null
          and cast(d.quarter_start_date as date) = ? {group_filter.replace("driver_group", "d.driver_group")}
        order by d.importance desc, d.outcome, d.driver
        limit {int(limit)}
        """,
        [quarter],
    ).fetchall()
    priorities = [
        DriverPriority(
            outcome=r[0],
            driver=r[1],
            driver_group=r[2],
            importance=_num(r[3]),
            importance_rank=None if r[4] is None else int(r[4]),
            performance_index=_num(r[5]),
            sample_size=None if r[6] is None else int(r[6]),
            item_text=r[7],
        )
        for r in rows
    ]
    return priorities, quarter, None


def _data_complete_until(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest month complete in every delivered event source (marts.data_completeness): a
    delivery that ends mid-month leaves that month partial."""
    value = con.execute(
        f"select min(latest_complete_month_start_date) from {MART_SCHEMA}.data_completeness where is_delivered"
    ).fetchone()[0]
    if isinstance(value, datetime):
        value = value.date()
    return value


def _count(con: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> int:
    return int(con.execute(f"select count(*) from {MART_SCHEMA}.{table} where {where}").fetchone()[0])


def _read_risk_queue(con: duckdb.DuckDBPyConnection) -> QueueSizes:
    sizes = QueueSizes("customer_risk", "Customers at risk", _count(con, "customer_risk", "is_at_risk"))
    for level in ("high", "medium", "low"):
        sizes.parts[level] = _count(con, "customer_risk", f"is_at_risk and risk_level = '{level}'")
    return sizes


def _read_followup_queue(con: duckdb.DuckDBPyConnection) -> QueueSizes:
    sizes = QueueSizes("followup_queue", "Follow-ups open", _count(con, "followup_queue", "is_open"))
    sizes.parts["overdue"] = _count(con, "followup_queue", "is_open and is_overdue")
    return sizes


def load_scorecard_data(
    database_path: str | Path, *, as_of: datetime | None = None, month: date | None = None
) -> ScorecardData:
    """Read what the scorecard shows from the published DuckDB file (opened read-only).

    The scorecard month is `month` if given, else the latest complete month at `as_of` (default: the
    publication time recorded in the file, else now, UTC)."""
    database_path = Path(database_path)
    if not database_path.is_file():
        raise ScorecardError(
            f"no published warehouse at {database_path}: run the pipeline until the quality gate publishes "
            "(asset published_warehouse), or point CSAT_PUBLISHED_DIR at the published folder"
        )
    with duckdb.connect(str(database_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        marts = _tables(con)
        for required in ("scorecard_monthly", "scorecard_breakdown_monthly"):
            if required not in marts:
                raise ScorecardError(f"the published warehouse {database_path} has no {MART_SCHEMA}.{required}")
        published_at, run_id = _publication(con)
        months = [
            r[0]
            for r in con.execute(f"select distinct month_start_date from {MART_SCHEMA}.scorecard_monthly").fetchall()
        ]
        if not months:
            raise ScorecardError(f"{MART_SCHEMA}.scorecard_monthly in {database_path} is empty: nothing to show")
        if month is not None:
            if month not in months:
                raise ScorecardError(f"{MART_SCHEMA}.scorecard_monthly has no rows for {month:%Y-%m}")
            is_complete = True
        else:
            reference = as_of or published_at or datetime.now(UTC).replace(tzinfo=None)
            complete_until = _data_complete_until(con) if "data_completeness" in marts else None
            month, is_complete = choose_month(months, reference, complete_until)
        history = _read_history(con, month)
        slices = _read_slices(con, month)
        priorities, quarter, priorities_note = (None, None, None)
        if "driver_importance_quarterly" in marts:
            priorities, quarter, priorities_note = _read_priorities(con, month)
        queues: dict[str, QueueSizes | None] = {
            "customer_risk": _read_risk_queue(con) if "customer_risk" in marts else None,
            "followup_queue": _read_followup_queue(con) if "followup_queue" in marts else None,
        }
    return ScorecardData(
        database_path=database_path,
        month=month,
        is_month_complete=is_complete,
        published_at=published_at,
        run_id=run_id,
        history=history,
        slices=slices,
        priorities=priorities,
        priorities_quarter=quarter,
        priorities_note=priorities_note,
        queues=queues,
        marts=marts,
    )
