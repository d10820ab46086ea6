"""Independent reference computation of `marts.kpi_monthly`, in plain pandas.

Written from docs/KPIS.md and the agreed shape of the KPI mart, NOT from the dbt SQL: the tests
compare the mart with this module, so a mistake has to be made twice, in two languages, to pass.
It reads only the `raw` schema (one row per key, as ingestion leaves it) and the seed CSV files.

Interpretations where KPIS.md leaves room (each one is asserted by the tests):
- enum and customer attributes are trimmed and lower-cased; NULL or empty -> `unknown`; a response
  of an anonymous or unknown customer has segment and region `unknown`;
- a valid order is an order whose status is not `cancelled` / `refunded` (a NULL status is valid);
- a complaint is resolved when `resolved_at` is set and its status is not `reopened` (a reopened
  complaint that is not re-resolved yet is open: backlog counts it, resolution KPIs wait for it);
- status is authoritative: a `resolved` / `closed` complaint without `resolved_at` is not open; it
  is in the backlog of the month ends before its `closed_at`, and in none when that is missing;
- timely-response rate: complaints the source flags `sla_met` true / complaints it flags at all,
  in the month they were opened;
- months are calendar months of the reporting time zone (`time_zone`, default UTC): a timestamp
  (stored in UTC) belongs to the month of its local wall-clock time;
- SERVQUAL dimension gap of a group = mean of all item gaps of the dimension in the group; the
  overall gaps average the dimensions of the seed servqual_weights and need all of them (else NULL);
- dimensions are whatever the seed survey_items names; a score equal to the item's na_code is not
  applicable (missing); perception scores are 0-100 on each item's own scale
  ((score - scale_min) / (scale_max - scale_min) * 100): per dimension the mean over its item scores in
  the group, overall the mean of the dimension scores, needing every dimension of the catalogue;
- satisfied_pct: responses labelled is_satisfied true / responses with a label;
- months without data inside the grid are empty groups: ratios and means NULL, counts 0;
- the grid's months run from the first to the last month with a response, a valid order, a
  ticket (of any type) or a subscription start; a KPI's slice values are those its own data shows
  (a mart row for any other value must be an empty group);
- a repurchase cohort is mature when the greatest timestamp of something that has happened
  (responses, orders of any status, every ticket timestamp, subscription starts; not subscription
  ends, which may be scheduled in the future) is at least 90 days after the start of the month
  following the cohort month;
- "another valid order within 90 days": a different valid order at or after the first one and at
  most 90 x 24 hours after it.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from working_files import open_working

ALL = "all"
UNKNOWN = "unknown"
SLICE_COLUMNS = ("segment", "region", "channel", "touchpoint", "category")
KEY_COLUMNS = ("month_start_date", "kpi", *SLICE_COLUMNS)

SERVQUAL_DIMENSIONS = ("tangibles", "reliability", "responsiveness", "assurance", "empathy")
CSI_ITEMS = ("overall_satisfaction", "expectation_confirmation", "ideal_comparison")

SURVEY_SLICES = ("segment", "region", "channel", "touchpoint")
SURVEY_KPIS = (
    "nps",
    "csat_pct",
    "ces",
    "ces_easy_pct",
    "csi",
    "satisfied_pct",
    "servqual_gap",
    "servqual_gap_weighted",
    *(f"servqual_gap_{d}" for d in SERVQUAL_DIMENSIONS),
    "perception_score",
    *(f"perception_score_{d}" for d in SERVQUAL_DIMENSIONS),
)
COMMERCIAL_KPIS = (
    "repeat_purchase_rate",
    "repurchase_90d_rate",
    "logo_churn_rate",
    "gross_revenue_churn_rate",
    "retention_rate",
)
COMPLAINT_KPIS = (
    "complaint_volume",
    "complaint_rate",
    "first_response_hours_median",
    "first_response_hours_p90",
    "resolution_hours_median",
    "resolution_hours_p90",
    "sla_attainment_rate",
    "first_contact_resolution_rate",
    "reopen_rate",
    "backlog",
    "escalation_rate",
    "timely_response_rate",
)
ALL_KPIS = SURVEY_KPIS + COMMERCIAL_KPIS + COMPLAINT_KPIS
# KPIs over columns the sample generator never delivers (NULL there, with a reason)
NOT_IN_SAMPLE = ("satisfied_pct", "timely_response_rate")
# KPIs the MetricFlow layer (models/semantic) does not define, each with the reason (shown in
# docs/kpi_chain.md; tests/test_kpi_chain.py fails on a KPI with neither a metric nor a reason here).
_PERCEPTION_REASON = (
    "the marts carry no 0-100 perception index per item (int_servqual_item_gaps rescales by the item's "
    "scale); a metric would restate that rule or need a new fct_survey_item_scores column"
)
NOT_IN_METRICS_LAYER: dict[str, str] = {
    "satisfied_pct": "fct_survey_responses has no is_satisfied column (int_survey_responses_scored has it)",
    "timely_response_rate": "fct_complaints has no column for the source's sla_met flag (int_complaints_timed has it)",
    "perception_score": _PERCEPTION_REASON,
    **{f"perception_score_{d}": _PERCEPTION_REASON for d in SERVQUAL_DIMENSIONS},
}
METRICS_LAYER_KPIS = tuple(k for k in ALL_KPIS if k not in NOT_IN_METRICS_LAYER)
COUNT_KPIS = ("complaint_volume", "backlog")
PERCENTILE_KPIS = (
    "first_response_hours_median",
    "first_response_hours_p90",
    "resolution_hours_median",
    "resolution_hours_p90",
)
# numerator / denominator the agreed shape pins down exactly; the others are checked on value only
# (servqual_gap, servqual_gap_weighted: "the sums behind" a mean of means has no single reading).
NUMERATOR_UNCHECKED = ("servqual_gap", "servqual_gap_weighted", "retention_rate")
DENOMINATOR_UNCHECKED = ("servqual_gap", "servqual_gap_weighted")

SLICES_BY_KPI: dict[str, tuple[str, ...]] = {
    **{k: SURVEY_SLICES for k in SURVEY_KPIS},
    "repeat_purchase_rate": ("segment", "region", "channel"),
    "repurchase_90d_rate": ("segment", "region"),
    "logo_churn_rate": ("segment", "region"),
    "gross_revenue_churn_rate": ("segment", "region"),
    "retention_rate": ("segment", "region"),
    **{k: ("segment", "region", "channel", "category") for k in COMPLAINT_KPIS},
    "complaint_rate": ("segment", "region"),
}


def slices_of(kpi: str) -> tuple[str, ...]:
    """The agreed slicing columns of a KPI (a custom dimension's KPIs slice like the survey KPIs)."""
    if kpi not in SLICES_BY_KPI and kpi.startswith(("servqual_gap_", "perception_score_")):
        return SURVEY_SLICES
    return SLICES_BY_KPI[kpi]


RAW_TABLES = (
    "survey_responses",
    "survey_item_scores",
    "tickets",
    "customers",
    "orders",
    "subscriptions",
)


# --------------------------------------------------------------------------------------------------
# inputs


@dataclass
class Seeds:
    csi_weights: dict[str, float]  # item -> weight
    servqual_weights: dict[str, float]  # dimension -> weight
    item_dimension: dict[str, str]  # ITEM_CODE -> dimension
    sla_resolution_hours: dict[str, float]  # severity -> resolution target (hours)
    item_scale: dict[str, tuple[float, float, float | None]] = None  # ITEM_CODE -> (min, max, n/a code)

    @property
    def dimensions(self) -> list[str]:
        return sorted(set(self.item_dimension.values()))


def find_seed(name: str, search_dirs: Iterable[Path]) -> Path:
    for folder in search_dirs:
        candidate = Path(folder) / f"{name}.csv"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"seed {name}.csv not found in {', '.join(str(d) for d in search_dirs)}")


def _read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]


def load_seeds(search_dirs: Iterable[Path]) -> Seeds:
    """Read the four seeds the KPIs use from CSV (the first folder that has the file wins)."""
    dirs = [Path(d) for d in search_dirs]
    csi = {r["item"].lower(): float(r["weight"]) for r in _read_csv_rows(find_seed("csi_weights", dirs))}
    sq = {r["dimension"].lower(): float(r["weight"]) for r in _read_csv_rows(find_seed("servqual_weights", dirs))}
    item_rows = _read_csv_rows(find_seed("survey_items", dirs))
    items = {r["item_code"].upper(): r["dimension"].lower() for r in item_rows}
    scales = {
        r["item_code"].upper(): (
            float(r.get("scale_min") or 1),
            float(r.get("scale_max") or 7),
            float(r["na_code"]) if r.get("na_code") not in (None, "") else None,
        )
        for r in item_rows
    }
    sla = {
        r["severity"].lower(): float(r["resolution_hours"])
        for r in _read_csv_rows(find_seed("sla_policies", dirs))
        if r.get("resolution_hours") not in (None, "")
    }
    return Seeds(
        csi_weights=csi, servqual_weights=sq, item_dimension=items, sla_resolution_hours=sla, item_scale=scales
    )


class PatternSeed:
    """Rows of a seed keyed by `kpi`, where `*` in a row's kpi stands for any text: the exact name wins,
    then the longest matching pattern."""

    def __init__(self, rows: list[dict[str, str]]):
        self.rows = rows

    def matches(self, kpi: str) -> list[dict[str, str]]:
        import fnmatch

        return [r for r in self.rows if r["kpi"] == kpi or ("*" in r["kpi"] and fnmatch.fnmatchcase(kpi, r["kpi"]))]

    def __getitem__(self, kpi: str) -> dict[str, str]:
        found = sorted(self.matches(kpi), key=lambda r: (r["kpi"] != kpi, -len(r["kpi"])))
        if not found:
            raise KeyError(kpi)
        return found[0]


def min_sample_sizes(search_dirs: Iterable[Path]) -> Callable[[str], int | None]:
    """kpi -> its minimum sample size (seed kpi_min_sample_sizes; the largest matching minimum)."""
    seed = PatternSeed(_read_csv_rows(find_seed("kpi_min_sample_sizes", [Path(d) for d in search_dirs])))

    def minimum(kpi: str) -> int | None:
        found = [int(r["min_sample_size"]) for r in seed.matches(kpi)]
        return max(found) if found else None

    return minimum


def read_raw(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """The raw tables the KPIs read, as pandas frames (contract columns + load metadata)."""
    return {name: con.execute(f"select * from raw.{name}").df() for name in RAW_TABLES}


# --------------------------------------------------------------------------------------------------
# helpers


def norm_text(series: pd.Series) -> pd.Series:
    """Trim + lower-case; NULL or empty -> 'unknown'."""
    out = series.astype("object").map(lambda v: v.strip().lower() if isinstance(v, str) else None)
    return out.map(lambda v: v if v else UNKNOWN)


def norm_id(series: pd.Series) -> pd.Series:
    return series.astype("object").map(lambda v: (v.strip() or None) if isinstance(v, str) else None)


def local_time(series: pd.Series, time_zone: str = "UTC") -> pd.Series:
    """UTC timestamps (naive) as naive wall-clock times of `time_zone`."""
    ts = pd.to_datetime(series)
    if time_zone == "UTC":
        return ts
    return ts.dt.tz_localize("UTC").dt.tz_convert(time_zone).dt.tz_localize(None)


def month_start(series: pd.Series, time_zone: str = "UTC") -> pd.Series:
    ts = local_time(series, time_zone)
    return ts.dt.to_period("M").dt.start_time.dt.date


def month_bound_utc(month: date, time_zone: str = "UTC") -> pd.Timestamp:
    """The UTC instant (naive) at which the local month `month` starts."""
    local = pd.Timestamp(month)
    if time_zone == "UTC":
        return local
    return local.tz_localize(time_zone).tz_convert("UTC").tz_localize(None)


def next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def month_range(first: date, last: date) -> list[date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def hours_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (pd.to_datetime(later) - pd.to_datetime(earlier)).dt.total_seconds() / 3600.0


def latest_per_key(df: pd.DataFrame, key: str, order: list[str]) -> pd.DataFrame:
    """Defensive: one row per key (raw already is), the greatest `order` values win."""
    if df.empty:
        return df
    return df.sort_values(order, na_position="first", kind="mergesort").drop_duplicates(key, keep="last")


def is_true(series: pd.Series) -> pd.Series:
    return series.map(lambda v: v is True or v is np.True_ or (isinstance(v, (int, float)) and v == 1))


def _num(v) -> float | None:
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


# A group result: (value, numerator, denominator, sample_size). value None = NULL.
Result = tuple[float | None, float | None, float | None, int]


def ratio(num: float, den: float, scale: float = 100.0) -> Result:
    return (scale * num / den if den else None, float(num), float(den), int(den))


def mean_result(values: pd.Series) -> Result:
    values = values.dropna()
    n = len(values)
    total = float(values.sum()) if n else 0.0
    return (total / n if n else None, total, float(n), n)


def quantile_result(values: pd.Series, q: float) -> Result:
    values = values.dropna().astype(float)
    if values.empty:
        return (None, None, None, 0)
    return (float(values.quantile(q, interpolation="linear")), None, None, len(values))


def count_result(n: int) -> Result:
    return (float(n), float(n), None, int(n))


# --------------------------------------------------------------------------------------------------
# the prepared facts


@dataclass
class Prepared:
    responses: pd.DataFrame  # one row per response: month, slices, scores, csi
    item_gaps: pd.DataFrame  # one row per response item with both scores: month, slices, dimension, gap
    orders: pd.DataFrame  # valid orders: order_id, customer_id, ordered_at, month, segment, region, channel
    complaints: pd.DataFrame  # complaints with slices and derived hours/flags
    subscriptions: pd.DataFrame
    customers: pd.DataFrame  # customer_id, segment, region (current values)
    months: list[date]
    max_event_at: pd.Timestamp | None
    time_zone: str = "UTC"


def _customer_attributes(customers: pd.DataFrame) -> pd.DataFrame:
    c = customers.copy()
    c["customer_id"] = norm_id(c["customer_id"])
    c = latest_per_key(c, "customer_id", ["updated_at", "_loaded_at", "_row_number"])
    return pd.DataFrame(
        {
            "customer_id": c["customer_id"].values,
            "segment": norm_text(c["segment"]).values,
            "region": norm_text(c["region"]).values,
        }
    )


def _with_customer(df: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    out = df.merge(customers, on="customer_id", how="left")
    out["segment"] = out["segment"].fillna(UNKNOWN)
    out["region"] = out["region"].fillna(UNKNOWN)
    return out


def prepare(raw: dict[str, pd.DataFrame], seeds: Seeds, time_zone: str = "UTC") -> Prepared:
    customers = _customer_attributes(raw["customers"])

    # survey responses ------------------------------------------------------------------------
    r = raw["survey_responses"].copy()
    r["response_id"] = norm_id(r["response_id"])
    r = latest_per_key(r, "response_id", ["submitted_at", "_loaded_at", "_row_number"])
    r["customer_id"] = norm_id(r["customer_id"])
    r["month"] = month_start(r["submitted_at"], time_zone)
    r["channel"] = norm_text(r["channel"])
    r["touchpoint"] = norm_text(r["touchpoint"])
    r = _with_customer(r, customers)
    label = r["is_satisfied"] if "is_satisfied" in r else pd.Series(None, index=r.index, dtype="object")
    r["satisfied_labelled"] = label.notna()
    r["satisfied"] = is_true(label)
    for col in ("likelihood_to_recommend", "csat_score", "effort_score", *CSI_ITEMS):
        r[col] = pd.to_numeric(r[col], errors="coerce").astype(float)
    weights = seeds.csi_weights
    complete = r[list(CSI_ITEMS)].notna().all(axis=1)
    csi = sum(weights[item] * (r[item] - 1.0) / 9.0 * 100.0 for item in CSI_ITEMS)
    r["csi"] = csi.where(complete)

    # SERVQUAL item gaps ----------------------------------------------------------------------
    s = raw["survey_item_scores"].copy()
    s["response_id"] = norm_id(s["response_id"])
    s["item_code"] = s["item_code"].map(lambda v: v.strip().upper() if isinstance(v, str) else None)
    s["dimension"] = s["item_code"].map(seeds.item_dimension)
    scale = s["item_code"].map(lambda c: (seeds.item_scale or {}).get(c, (1.0, 7.0, None)))
    low, high, na = (scale.map(lambda t, i=i: t[i]) for i in range(3))
    perception = pd.to_numeric(s["perception_score"], errors="coerce").astype(float)
    expectation = pd.to_numeric(s["expectation_score"], errors="coerce").astype(float)
    perception = perception.where(perception != na.astype(float))  # the "not applicable" code
    expectation = expectation.where(expectation != na.astype(float))
    s["gap"] = perception - expectation
    s["perception_index"] = 100.0 * (perception - low.astype(float)) / (high.astype(float) - low.astype(float))
    s = s[s["dimension"].notna() & (s["gap"].notna() | s["perception_index"].notna())]
    s = s[["response_id", "item_code", "dimension", "gap", "perception_index"]].merge(
        r[["response_id", "month", *SURVEY_SLICES]], on="response_id", how="inner"
    )

    # orders ------------------------------------------------------------------------------------
    o = raw["orders"].copy()
    o["order_id"] = norm_id(o["order_id"])
    o = latest_per_key(o, "order_id", ["_loaded_at", "_row_number"])
    o["customer_id"] = norm_id(o["customer_id"])
    status = o["status"].map(lambda v: v.strip().lower() if isinstance(v, str) else None)
    o = o[~status.isin(["cancelled", "refunded"])].copy()
    o["month"] = month_start(o["ordered_at"], time_zone)
    o["channel"] = norm_text(o["channel"])
    o = _with_customer(o[["order_id", "customer_id", "ordered_at", "month", "channel"]], customers)

    # tickets -> complaints -----------------------------------------------------------------------
    t = raw["tickets"].copy()
    t["ticket_id"] = norm_id(t["ticket_id"])
    t = latest_per_key(t, "ticket_id", ["_loaded_at", "_row_number"])
    raw_tickets = t.copy()
    t["customer_id"] = norm_id(t["customer_id"])
    t = t[norm_text(t["ticket_type"]) == "complaint"].copy()
    # the source's own timely-response flag (contract column sla_met), before `sla_met` below is reused
    # for the computed resolution SLA
    flag = t["sla_met"] if "sla_met" in t else pd.Series(None, index=t.index, dtype="object")
    t["source_sla_flagged"] = flag.notna()
    t["source_sla_met"] = is_true(flag)
    t["channel"] = norm_text(t["channel"])
    t["category"] = norm_text(t["category"])
    t["severity"] = norm_text(t["severity"])
    t["status"] = norm_text(t["status"])
    t["opened_month"] = month_start(t["opened_at"], time_zone)
    t["is_resolved"] = t["resolved_at"].notna() & (t["status"] != "reopened")
    t["resolved_month"] = month_start(t["resolved_at"], time_zone).where(t["is_resolved"], None)
    t["first_response_hours"] = hours_between(t["first_response_at"], t["opened_at"])
    t["resolution_hours"] = hours_between(t["resolved_at"], t["opened_at"])
    target = t["severity"].map(seeds.sla_resolution_hours)
    t["sla_met"] = target.notna() & (t["resolution_hours"] <= target)
    reopen = pd.to_numeric(t["reopen_count"], errors="coerce").fillna(0)
    contacts = pd.to_numeric(t["contact_count"], errors="coerce")
    t["is_reopened"] = reopen >= 1
    t["is_fcr"] = (contacts == 1) & (reopen == 0)
    t["is_escalated"] = is_true(t["escalated"])
    t = _with_customer(t, customers)

    # subscriptions -----------------------------------------------------------------------------------
    sub = raw["subscriptions"].copy()
    sub["subscription_id"] = norm_id(sub["subscription_id"])
    sub = latest_per_key(sub, "subscription_id", ["_loaded_at", "_row_number"])
    sub["customer_id"] = norm_id(sub["customer_id"])
    sub["mrr"] = pd.to_numeric(sub["mrr"], errors="coerce").astype(float)
    sub["started_at"] = pd.to_datetime(sub["started_at"])
    sub["ended_at"] = pd.to_datetime(sub["ended_at"])

    # the grid's months: first to last month with a response, valid order, ticket or subscription
    # start. The as-of time (for cohort maturity): the greatest timestamp of something that has
    # happened: responses, orders (any status), every ticket timestamp, subscription starts.
    grid_ts = pd.concat(
        [
            pd.to_datetime(r["submitted_at"]),
            pd.to_datetime(o["ordered_at"]),
            pd.to_datetime(raw_tickets["opened_at"]),
            sub["started_at"],
        ],
        ignore_index=True,
    ).dropna()
    happened_ts = pd.concat(
        [grid_ts, pd.to_datetime(raw["orders"]["ordered_at"])]
        + [pd.to_datetime(raw_tickets[c]) for c in ("first_response_at", "resolved_at", "closed_at")],
        ignore_index=True,
    ).dropna()
    if grid_ts.empty:
        months: list[date] = []
    else:
        first, last = local_time(pd.Series([grid_ts.min(), grid_ts.max()]), time_zone)
        months = month_range(date(first.year, first.month, 1), date(last.year, last.month, 1))
    max_event = happened_ts.max() if not happened_ts.empty else None

    return Prepared(
        responses=r,
        item_gaps=s,
        orders=o,
        complaints=t,
        subscriptions=sub,
        customers=customers,
        months=months,
        max_event_at=max_event,
        time_zone=time_zone,
    )


# --------------------------------------------------------------------------------------------------
# publishing: one KPI over the grid


@dataclass
class Row:
    month_start_date: date
    kpi: str
    slice_column: str | None
    slice_value: str
    value: float | None
    numerator: float | None
    denominator: float | None
    sample_size: int
    is_mature: bool | None = None


def _publish(
    kpi: str,
    fact: pd.DataFrame,
    month_column: str,
    months: list[date],
    aggregate: Callable[[pd.DataFrame], Result],
    slice_values: dict[str, list[str]] | None = None,
) -> list[Row]:
    """Aggregate `fact` per month and per slice of the KPI; empty groups get aggregate(empty)."""
    slices = slices_of(kpi)
    empty = aggregate(fact.iloc[0:0])
    rows: list[Row] = []
    month_set = set(months)
    for column in (None, *slices):
        if column is None:
            values = [ALL]
            keyed = fact.assign(_slice=ALL)
        else:
            observed = set(fact[column].dropna().unique()) if column in fact else set()
            if slice_values and column in slice_values:
                observed |= set(slice_values[column])
            values = sorted(observed)
            keyed = fact.assign(_slice=fact[column])
        groups = {key: g for key, g in keyed[keyed[month_column].isin(month_set)].groupby([month_column, "_slice"])}
        for m in months:
            for v in values:
                g = groups.get((m, v))
                res = aggregate(g) if g is not None else empty
                rows.append(Row(m, kpi, column, v, *res))
    return rows


def _survey_rows(p: Prepared, seeds: Seeds) -> list[Row]:
    r = p.responses
    rows: list[Row] = []

    def nps(g: pd.DataFrame) -> Result:
        s = g["likelihood_to_recommend"].dropna()
        n = len(s)
        num = int((s >= 9).sum()) - int((s <= 6).sum())
        return (100.0 * num / n if n else None, float(num), float(n), n)

    def top_box(column: str, threshold: float) -> Callable[[pd.DataFrame], Result]:
        def agg(g: pd.DataFrame) -> Result:
            s = g[column].dropna()
            return ratio(float((s >= threshold).sum()), float(len(s)))

        return agg

    rows += _publish("nps", r, "month", p.months, nps)
    rows += _publish("csat_pct", r, "month", p.months, top_box("csat_score", 4))
    rows += _publish("ces", r, "month", p.months, lambda g: mean_result(g["effort_score"]))
    rows += _publish("ces_easy_pct", r, "month", p.months, top_box("effort_score", 5))
    rows += _publish("csi", r, "month", p.months, lambda g: mean_result(g["csi"]))
    rows += _publish(
        "satisfied_pct",
        r,
        "month",
        p.months,
        lambda g: ratio(float(g["satisfied"].sum()), float(g["satisfied_labelled"].sum())),
    )

    # SERVQUAL: the slice values come from the responses (a response without items is still data)
    observed = {c: sorted(r[c].unique()) for c in SURVEY_SLICES}
    items = p.item_gaps
    gap_dimensions = list(seeds.servqual_weights)

    def dimension_means(g: pd.DataFrame, column: str) -> dict[str, float]:
        return g.dropna(subset=[column]).groupby("dimension")[column].mean().to_dict()

    def overall(weighted: bool) -> Callable[[pd.DataFrame], Result]:
        def agg(g: pd.DataFrame) -> Result:
            n = int(g.loc[g["gap"].notna(), "response_id"].nunique())
            d = dimension_means(g, "gap")
            if any(dim not in d for dim in gap_dimensions):
                return (None, None, None, n)
            if weighted:
                value = sum(d[dim] * seeds.servqual_weights[dim] for dim in gap_dimensions)
                return (value, value, 1.0, n)
            total = sum(d[dim] for dim in gap_dimensions)
            return (total / len(gap_dimensions), total, float(len(gap_dimensions)), n)

        return agg

    def perception_overall(g: pd.DataFrame) -> Result:
        n = int(g.loc[g["perception_index"].notna(), "response_id"].nunique())
        d = dimension_means(g, "perception_index")
        if any(dim not in d for dim in seeds.dimensions):
            return (None, None, None, n)
        total = sum(d[dim] for dim in seeds.dimensions)
        return (total / len(seeds.dimensions), total, float(len(seeds.dimensions)), n)

    def one_dimension(dim: str, column: str = "gap") -> Callable[[pd.DataFrame], Result]:
        def agg(g: pd.DataFrame) -> Result:
            picked = g[(g["dimension"] == dim) & g[column].notna()]
            sub = pd.DataFrame({"gap": picked[column], "response_id": picked["response_id"]})
            n_items = len(sub)
            total = float(sub["gap"].sum()) if n_items else 0.0
            return (
                total / n_items if n_items else None,
                total,
                float(n_items),
                int(sub["response_id"].nunique()),
            )

        return agg

    rows += _publish("servqual_gap", items, "month", p.months, overall(False), observed)
    rows += _publish("servqual_gap_weighted", items, "month", p.months, overall(True), observed)
    rows += _publish("perception_score", items, "month", p.months, perception_overall, observed)
    for dim in seeds.dimensions:
        rows += _publish(f"servqual_gap_{dim}", items, "month", p.months, one_dimension(dim), observed)
        rows += _publish(
            f"perception_score_{dim}", items, "month", p.months, one_dimension(dim, "perception_index"), observed
        )
    return rows


def _repeat_purchase_rows(p: Prepared) -> list[Row]:
    """Buyers / repeaters are counted inside each slice: a channel slice looks at that channel's orders."""
    o = p.orders
    rows: list[Row] = []
    month_set = set(p.months)
    for column in (None, "segment", "region", "channel"):
        keys = ["month", "customer_id"] + ([column] if column else [])
        per_customer = o.groupby(keys).size().rename("n").reset_index()
        per_customer["_slice"] = per_customer[column] if column else ALL
        values = sorted(o[column].unique()) if column else [ALL]
        groups = {k: g for k, g in per_customer.groupby(["month", "_slice"]) if k[0] in month_set}
        for m in p.months:
            for v in values:
                g = groups.get((m, v))
                buyers = 0 if g is None else len(g)
                repeaters = 0 if g is None else int((g["n"] >= 2).sum())
                rows.append(Row(m, "repeat_purchase_rate", column, v, *ratio(repeaters, buyers)))
    return rows


def _repurchase_rows(p: Prepared) -> list[Row]:
    o = p.orders.sort_values(["customer_id", "ordered_at", "order_id"], kind="mergesort")
    first = o.drop_duplicates("customer_id", keep="first")[
        ["customer_id", "order_id", "ordered_at", "month", "segment", "region"]
    ].rename(columns={"order_id": "first_order_id", "ordered_at": "first_at"})
    merged = o[["customer_id", "order_id", "ordered_at"]].merge(first, on="customer_id")
    within = merged[
        (merged["order_id"] != merged["first_order_id"])
        & (merged["ordered_at"] >= merged["first_at"])
        & (merged["ordered_at"] <= merged["first_at"] + pd.Timedelta(days=90))
    ]
    first["repurchased"] = first["customer_id"].isin(set(within["customer_id"]))

    def agg(g: pd.DataFrame) -> Result:
        return ratio(float(g["repurchased"].sum()), float(len(g)))

    rows = _publish("repurchase_90d_rate", first, "month", p.months, agg)
    for row in rows:
        row.is_mature = is_cohort_mature(row.month_start_date, p.max_event_at, p.time_zone)
    return rows


def is_cohort_mature(cohort_month: date, max_event_at: pd.Timestamp | None, time_zone: str = "UTC") -> bool:
    """90 days have passed since the end of the cohort month (= the next month's start)."""
    if max_event_at is None:
        return False
    end = month_bound_utc(next_month(cohort_month), time_zone)
    return bool(pd.Timestamp(max_event_at) >= end + pd.Timedelta(days=90))


def churn_facts(p: Prepared) -> pd.DataFrame:
    """One row per (month, customer active at the month's start): churned flag and start MRR."""
    sub = p.subscriptions
    out = []
    for m in p.months:
        start, end = month_bound_utc(m, p.time_zone), month_bound_utc(next_month(m), p.time_zone)
        active_start = sub[(sub["started_at"] < start) & (sub["ended_at"].isna() | (sub["ended_at"] >= start))]
        if active_start.empty:
            continue
        active_end = sub[(sub["started_at"] < end) & (sub["ended_at"].isna() | (sub["ended_at"] >= end))]
        ended_inside = sub[(sub["ended_at"] >= start) & (sub["ended_at"] < end)]
        per_customer = active_start.groupby("customer_id")["mrr"].sum(min_count=1).fillna(0.0)
        frame = pd.DataFrame({"customer_id": per_customer.index, "start_mrr": per_customer.values})
        frame["churned"] = ~frame["customer_id"].isin(set(active_end["customer_id"])) & frame["customer_id"].isin(
            set(ended_inside["customer_id"])
        )
        frame["month"] = m
        out.append(frame)
    if not out:
        facts = pd.DataFrame(columns=["customer_id", "start_mrr", "churned", "month"])
    else:
        facts = pd.concat(out, ignore_index=True)
    return _with_customer(facts, p.customers)


def _churn_rows(p: Prepared) -> list[Row]:
    facts = churn_facts(p)
    # segment / region values: every customer with a subscription, whether or not active at a start
    subs = _with_customer(p.subscriptions[["customer_id"]].drop_duplicates(), p.customers)
    observed = {c: sorted(subs[c].unique()) for c in ("segment", "region")}

    def logo(g: pd.DataFrame) -> Result:
        return ratio(float(g["churned"].sum()), float(len(g)))

    def revenue(g: pd.DataFrame) -> Result:
        value, num, den, _ = ratio(float(g.loc[g["churned"], "start_mrr"].sum()), float(g["start_mrr"].sum()))
        return (value, num, den, len(g))

    def retention(g: pd.DataFrame) -> Result:
        active, churned = len(g), int(g["churned"].sum())
        return ratio(float(active - churned), float(active))

    rows = _publish("logo_churn_rate", facts, "month", p.months, logo, observed)
    rows += _publish("gross_revenue_churn_rate", facts, "month", p.months, revenue, observed)
    rows += _publish("retention_rate", facts, "month", p.months, retention, observed)
    return rows


def _complaint_rows(p: Prepared) -> list[Row]:
    t = p.complaints
    months = p.months
    rows: list[Row] = []
    opened = t
    resolved = t[t["is_resolved"]]
    observed = {c: sorted(t[c].unique()) for c in ("segment", "region", "channel", "category")}

    rows += _publish("complaint_volume", opened, "opened_month", months, lambda g: count_result(len(g)))

    fr = opened[opened["first_response_at"].notna()]
    rows += _publish(
        "first_response_hours_median",
        fr,
        "opened_month",
        months,
        lambda g: quantile_result(g["first_response_hours"], 0.5),
        observed,
    )
    rows += _publish(
        "first_response_hours_p90",
        fr,
        "opened_month",
        months,
        lambda g: quantile_result(g["first_response_hours"], 0.9),
        observed,
    )
    rows += _publish(
        "resolution_hours_median",
        resolved,
        "resolved_month",
        months,
        lambda g: quantile_result(g["resolution_hours"], 0.5),
        observed,
    )
    rows += _publish(
        "resolution_hours_p90",
        resolved,
        "resolved_month",
        months,
        lambda g: quantile_result(g["resolution_hours"], 0.9),
        observed,
    )
    rows += _publish(
        "sla_attainment_rate",
        resolved,
        "resolved_month",
        months,
        lambda g: ratio(float(g["sla_met"].sum()), float(len(g))),
        observed,
    )
    rows += _publish(
        "first_contact_resolution_rate",
        resolved,
        "resolved_month",
        months,
        lambda g: ratio(float(g["is_fcr"].sum()), float(len(g))),
        observed,
    )
    rows += _publish(
        "reopen_rate",
        resolved,
        "resolved_month",
        months,
        lambda g: ratio(float(g["is_reopened"].sum()), float(len(g))),
        observed,
    )
    rows += _publish(
        "escalation_rate",
        opened,
        "opened_month",
        months,
        lambda g: ratio(float(g["is_escalated"].sum()), float(len(g))),
        observed,
    )
    rows += _publish(
        "timely_response_rate",
        opened,
        "opened_month",
        months,
        lambda g: ratio(float(g["source_sla_met"].sum()), float(g["source_sla_flagged"].sum())),
        observed,
    )

    # backlog at each month end
    backlog = []
    for m in months:
        end = month_bound_utc(next_month(m), p.time_zone)
        resolved_at, closed_at = pd.to_datetime(t["resolved_at"]), pd.to_datetime(t["closed_at"])
        closed_by_status = t["status"].isin(["resolved", "closed"])
        still_open = (
            (t["status"] == "reopened")
            | (resolved_at >= end)
            | (resolved_at.isna() & ~closed_by_status)
            | (resolved_at.isna() & closed_by_status & (closed_at >= end))
        )
        open_at_end = t[(pd.to_datetime(t["opened_at"]) < end) & still_open]
        backlog.append(open_at_end.assign(backlog_month=m))
    facts = pd.concat(backlog, ignore_index=True) if backlog else t.assign(backlog_month=None).iloc[0:0]
    rows += _publish("backlog", facts, "backlog_month", months, lambda g: count_result(len(g)), observed)

    # complaint rate: complaints / valid orders, per segment and region of the customer
    rate_rows: list[Row] = []
    for column in (None, "segment", "region"):
        if column is None:
            c_counts = opened.groupby("opened_month").size()
            o_counts = p.orders.groupby("month").size()
            values = [ALL]
        else:
            c_counts = opened.groupby(["opened_month", column]).size()
            o_counts = p.orders.groupby(["month", column]).size()
            values = sorted(set(opened[column]) | set(p.orders[column]))
        for m in months:
            for v in values:
                key = m if column is None else (m, v)
                n_c = int(c_counts.get(key, 0))
                n_o = int(o_counts.get(key, 0))
                value, num, den, _ = ratio(float(n_c), float(n_o), scale=1000.0)
                rate_rows.append(Row(m, "complaint_rate", column, v, value, num, den, n_c))
    rows += rate_rows
    return rows


def compute_kpi_monthly(raw: dict[str, pd.DataFrame], seeds: Seeds, time_zone: str = "UTC") -> pd.DataFrame:
    """The reference kpi_monthly: every KPI x month of the grid x slice value observed in that KPI's
    own data, months cut in `time_zone`. Values are NOT rounded (compare with a half-unit tolerance at
    the 4th decimal)."""
    p = prepare(raw, seeds, time_zone)
    rows = _survey_rows(p, seeds) + _repeat_purchase_rows(p) + _repurchase_rows(p) + _churn_rows(p) + _complaint_rows(p)
    records = []
    for row in rows:
        record = {
            "month_start_date": row.month_start_date,
            "kpi": row.kpi,
            **{c: ALL for c in SLICE_COLUMNS},
            "value": _num(row.value),
            "numerator": _num(row.numerator),
            "denominator": _num(row.denominator),
            "sample_size": int(row.sample_size),
            "is_mature": row.is_mature,
        }
        if row.slice_column is not None:
            record[row.slice_column] = row.slice_value
        records.append(record)
    return pd.DataFrame.from_records(records)


def compute_from_warehouse(
    con: duckdb.DuckDBPyConnection, seed_dirs: Iterable[Path], time_zone: str = "UTC"
) -> pd.DataFrame:
    return compute_kpi_monthly(read_raw(con), load_seeds(seed_dirs), time_zone)


def empty_group_result(kpi: str) -> float | None:
    """The value of a group with no data: counts are 0, everything else NULL."""
    return 0.0 if kpi in COUNT_KPIS else None


# --------------------------------------------------------------------------------------------------
# comparing the mart with the reference

VALUE_TOLERANCE = 0.5e-4 + 1e-9  # the mart rounds to 4 decimals; the reference does not


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def same_number(actual, expected, tolerance: float = VALUE_TOLERANCE) -> bool:
    """Equal after rounding to 4 decimals (a half-unit tolerance, so a tie rounds either way);
    NULL equals only NULL."""
    if _missing(actual) or _missing(expected):
        return _missing(actual) and _missing(expected)
    return abs(float(actual) - float(expected)) <= tolerance + 1e-12 * abs(float(expected))


def _is_zero_or_null(v) -> bool:
    return _missing(v) or float(v) == 0.0


def _key(row) -> tuple:
    return tuple(str(row[c]) if c != "month_start_date" else pd.Timestamp(row[c]).date() for c in KEY_COLUMNS)


def _where(key: tuple) -> str:
    slices = ", ".join(f"{c}={v}" for c, v in zip(SLICE_COLUMNS, key[2:], strict=True) if v != ALL)
    return f"{key[1]} {key[0]} {slices or 'all-up'}"


def compare_kpi(mart: pd.DataFrame, reference: pd.DataFrame, kpi: str, limit: int = 15) -> list[str]:
    """Differences between the mart's rows of one KPI and the reference; [] when they agree.

    Every mart row must match the reference row of the same key; a mart row the reference does not
    have (a slice value the KPI's own data never shows) must be an empty group. Every reference row
    must be in the mart."""
    problems: list[str] = []
    m = mart[mart["kpi"] == kpi]
    r = reference[reference["kpi"] == kpi]
    ref_rows = {_key(row): row for row in r.to_dict("records")}
    seen = set()
    for row in m.to_dict("records"):
        key = _key(row)
        seen.add(key)
        where = _where(key)
        expected = ref_rows.get(key)
        if expected is None:
            if not same_number(row["value"], empty_group_result(kpi)):
                problems.append(f"{where}: a group with no data must be {empty_group_result(kpi)}, got {row['value']}")
            continue
        checks = [("value", row["value"], expected["value"])]
        no_sample = expected["sample_size"] == 0
        empty = _is_zero_or_null(expected["denominator"])
        if kpi in PERCENTILE_KPIS:
            checks += [("numerator", row["numerator"], None), ("denominator", row["denominator"], None)]
        elif kpi in COUNT_KPIS:
            checks += [("numerator", row["numerator"], expected["value"]), ("denominator", row["denominator"], None)]
        elif empty:  # zero denominator: 0 or NULL both read as "nothing"; a numerator may exist
            if not _is_zero_or_null(row["denominator"]):
                problems.append(f"{where}: zero denominator expected, got {row['denominator']}")
            wanted = expected["numerator"]
            if not (_missing(row["numerator"]) or same_number(row["numerator"], wanted or 0.0, 1e-6)):
                problems.append(f"{where}: numerator is {row['numerator']}, expected {wanted} (or NULL)")
        else:
            if kpi not in NUMERATOR_UNCHECKED:
                checks.append(("numerator", row["numerator"], expected["numerator"]))
            if kpi not in DENOMINATOR_UNCHECKED:
                checks.append(("denominator", row["denominator"], expected["denominator"]))
        if no_sample and kpi not in COUNT_KPIS:
            if not _is_zero_or_null(row["sample_size"]):
                problems.append(f"{where}: empty group, sample_size must be 0 or NULL, got {row['sample_size']}")
        else:
            checks.append(("sample_size", row["sample_size"], expected["sample_size"]))
        for column, actual, wanted in checks:
            tolerance = VALUE_TOLERANCE if column == "value" else 1e-6
            if not same_number(actual, wanted, tolerance):
                problems.append(f"{where}: {column} is {actual}, expected {wanted}")
    for key in ref_rows.keys() - seen:
        where = _where(key)
        problems.append(f"{where}: row missing from the mart (expected value {ref_rows[key]['value']})")
    if len(problems) > limit:
        problems = problems[:limit] + [f"... and {len(problems) - limit} more"]
    return problems


# --------------------------------------------------------------------------------------------------
# building a warehouse for the tests: landing files -> loader -> dbt

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures_kpi"


def project_seed_paths(project_dir: Path = DBT_PROJECT_DIR) -> list[str]:
    """seed-paths of dbt_project.yml, as written (relative to the project)."""
    import yaml

    project_file = project_dir / "dbt_project.yml"
    if not project_file.is_file():
        return []
    config = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    return list(config.get("seed-paths", ["seeds"]))


def seed_dirs(project_dir: Path = DBT_PROJECT_DIR) -> list[Path]:
    """The seeds folder of the environment (CSAT_DBT_SEED_PATH), the dbt project's seed folders (from
    dbt_project.yml, templated entries left out), then the repository's seeds/."""
    import os

    dirs = [(project_dir / p).resolve() for p in project_seed_paths(project_dir) if "{{" not in p]
    if os.environ.get("CSAT_DBT_SEED_PATH"):
        dirs.insert(0, (project_dir / os.environ["CSAT_DBT_SEED_PATH"]).resolve())
    dirs.append(REPO_ROOT / "seeds")
    return dirs


def ingest(con: duckdb.DuckDBPyConnection, landing: Path) -> list[str]:
    """Load every landing file with the project's loader; returns the loader's error messages."""
    from dagster_project.ingestion import loader

    if hasattr(loader, "ingest_landing"):
        result = loader.ingest_landing(con, landing)
        reports = result.values() if isinstance(result, dict) else (result or [])
    else:
        from dagster_project.contract import ENTITIES

        allowed = loader.allowed_values_from_seeds(REPO_ROOT / "seeds")
        reports = [loader.ingest_landing_entity(con, e, landing, allowed=allowed.get(e.name)) for e in ENTITIES]
    errors: list[str] = []
    for report in reports:
        errors += [f"{getattr(report, 'entity', '?')}: {e}" for e in getattr(report, "errors", [])]
    return errors


@dataclass
class DbtRun:
    success: bool
    failures: list[str]  # "<status> <unique_id>: <message>" of every node that did not pass


# Parsed projects, by what a parse depends on here. dbt parses a project in full whenever its profile
# changes, and the profile names the warehouse file, so each test warehouse cost a full parse (about
# 10 s); the suite builds dozens from one project, so it parses each variant once and hands dbt the
# parsed manifest (dbtRunner(manifest=...), dbt's way to skip parsing when invoked from Python).
_MANIFESTS: dict[tuple, object] = {}


def invoke_dbt(args: list[str], work_dir: Path, project_dir: Path = DBT_PROJECT_DIR):
    """`dbt <args>` in-process with the project's profile, target and logs under work_dir; dbt's own result."""
    import os

    from dbt.cli.main import dbtRunner

    paths = ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    paths += ["--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs")]
    dbt_vars = args[args.index("--vars") : args.index("--vars") + 2] if "--vars" in args else []
    warehouse = Path(os.environ.get("CSAT_WAREHOUSE_PATH", "csat.duckdb"))
    key = (str(project_dir), os.environ.get("CSAT_DBT_SEED_PATH"), tuple(dbt_vars), warehouse.stem)
    if key not in _MANIFESTS:
        parsed = dbtRunner().invoke(["parse", *dbt_vars, *paths])
        if not parsed.success:  # the command itself reports why
            return dbtRunner().invoke([*args, *paths])
        _MANIFESTS[key] = parsed.result
    return dbtRunner(manifest=_MANIFESTS[key]).invoke([*args, *paths])


def dbt_show(query: str, work_dir: Path, monkeypatch) -> list:
    """The rows of `dbt show --inline <query>` (the project's profile and macros) on a scratch warehouse
    file in work_dir."""
    monkeypatch.setenv("CSAT_WAREHOUSE_PATH", str(work_dir / "w.duckdb"))
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    result = invoke_dbt(["show", "--inline", query, "--quiet"], work_dir)
    assert result.success, result.exception
    return list(result.result.results[0].agate_table.rows)


def unit_test_statuses(target: Path) -> tuple[set[str], dict[str, str]]:
    """The unit tests the manifest in dbt's `target` folder declares, and the status of each unit test
    the run recorded there (run_results.json) ran."""
    import json

    declared = set(json.loads((target / "manifest.json").read_text())["unit_tests"])
    results = json.loads((target / "run_results.json").read_text())["results"]
    return declared, {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}


def run_dbt(args: list[str], *, warehouse_path: Path, work_dir: Path, project_dir: Path = DBT_PROJECT_DIR) -> DbtRun:
    """`dbt <args>` in-process on the given warehouse file, target and logs under work_dir."""
    import os

    work_dir.mkdir(parents=True, exist_ok=True)
    overrides = {
        "CSAT_WAREHOUSE_PATH": str(warehouse_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        result = invoke_dbt(args, work_dir, project_dir)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    failures: list[str] = []
    if result.exception is not None:
        failures.append(f"exception: {result.exception}")
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result.status, "value", node_result.status))
        if status in ("error", "fail", "skipped", "runtime error"):
            node = getattr(node_result, "node", None)
            failures.append(f"{status} {getattr(node, 'unique_id', '?')}: {(node_result.message or '')[:300]}")
    return DbtRun(success=bool(result.success), failures=failures)


@dataclass
class BuiltWarehouse:
    root: Path
    landing: Path
    warehouse_path: Path
    target_path: Path
    ingest_errors: list[str]
    dbt: DbtRun


def build_warehouse(root: Path, landing: Path, dbt_args: list[str]) -> BuiltWarehouse:
    from dagster_project.ingestion.warehouse import connect

    warehouse_path = root / "warehouse" / "csat.duckdb"
    con = connect(warehouse_path)
    try:
        errors = ingest(con, landing)
        con.execute("checkpoint")
    finally:
        con.close()
    dbt = run_dbt(dbt_args, warehouse_path=warehouse_path, work_dir=root / "dbt")
    if dbt.success:
        build_key_drivers(warehouse_path)
    return BuiltWarehouse(root, landing, warehouse_path, root / "dbt" / "target", errors, dbt)


def build_key_drivers(warehouse_path: Path) -> bool:
    """What the pipeline runs after dbt: the Dagster asset driver_importance_quarterly writes
    marts.driver_importance_quarterly from dbt's int_driver_* statistics. False (nothing written)
    when the dbt selection did not build them."""
    from dagster_project.analytics.key_drivers import CORRELATIONS, write_driver_importance

    schema, table = CORRELATIONS.split(".")
    con = open_working(warehouse_path)  # same configuration as dbt's in-process connection
    try:
        built = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
        if built:
            write_driver_importance(con)
        return bool(built)
    finally:
        con.close()


def open_warehouse(built: BuiltWarehouse) -> duckdb.DuckDBPyConnection:
    return open_working(built.warehouse_path)


def read_table(built: BuiltWarehouse, table: str) -> pd.DataFrame:
    """A mart as pandas: month_start_date as datetime.date, slice columns as text."""
    con = open_warehouse(built)
    try:
        df = con.execute(f"select * from {table}").df()
    finally:
        con.close()
    if "month_start_date" in df:
        df["month_start_date"] = pd.to_datetime(df["month_start_date"]).dt.date
    return df


def reference_for(built: BuiltWarehouse) -> pd.DataFrame:
    con = open_warehouse(built)
    try:
        return compute_from_warehouse(con, seed_dirs())
    finally:
        con.close()


_BUILDS: dict[str, BuiltWarehouse] = {}
SAMPLE_SEED = 20240601
SAMPLE_RESPONSES = 3000


def sample_warehouse(tmp_path_factory) -> BuiltWarehouse:
    """The generated sample data, ingested and built once per test session (shared across modules)."""
    if "sample" not in _BUILDS:
        from csat_sample_data import generate_sample_data

        root = tmp_path_factory.mktemp("kpi_sample")
        landing = root / "landing"
        generate_sample_data(landing, seed=SAMPLE_SEED, responses=SAMPLE_RESPONSES)
        _BUILDS["sample"] = build_warehouse(root, landing, ["build"])
    return _BUILDS["sample"]


def edge_case_warehouse(tmp_path_factory) -> BuiltWarehouse:
    """The hand-made fixtures of tests/fixtures_kpi/landing, ingested and built (seeds + models)."""
    if "edge" not in _BUILDS:
        import shutil

        root = tmp_path_factory.mktemp("kpi_edge")
        landing = root / "landing"
        shutil.copytree(FIXTURES_DIR / "landing", landing)
        _BUILDS["edge"] = build_warehouse(
            root, landing, ["build", "--resource-type", "seed", "--resource-type", "model"]
        )
    return _BUILDS["edge"]
