"""Key-driver analysis per quarter and segment (see _analytics__models.yml and DECISIONLOG.md).

For each outcome of the seed driver_outcomes (default CSI and likelihood to recommend; also overall
satisfaction, CSAT or the binary satisfied label) and each driver (every dimension and every item of
the questionnaire, seed survey_items, plus CSAT, effort and complaint resolution time): the Pearson
correlation, for the dimensions the standardised regression weight (least squares on z-scores) and
Johnson's relative weight, the driver's performance (0-100 on its own scale), its importance rank and
its importance-performance quadrant; when a result cannot be computed, not_run_reason says why. A
Python model because a multiple regression is not practical in portable SQL; the statistics are
plain numpy, and the rest (inputs, thresholds) comes from SQL models.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

# Response-level drivers: driver -> (group, column of int_driver_observations, direction, scale min, max)
TRANSACTIONAL = {
    "csat": ("transactional", "csat_score", 1, 1.0, 5.0),
    "effort": ("transactional", "effort_score", 1, 1.0, 7.0),
    "resolution_time": ("transactional", "resolution_hours", -1, None, None),
}
DIMENSION_GROUP = "servqual_dimension"  # a dimension of the questionnaire (SERVQUAL's five by default)
ITEM_GROUP = "item"
DEFAULT_OUTCOMES = {"csi": "csi_score", "nps": "likelihood_to_recommend"}
ALL = "all"

COLUMNS = {
    "driver_importance_key": "varchar",
    "quarter_start_date": "date",
    "segment": "varchar",
    "outcome": "varchar",
    "outcome_measure": "varchar",
    "driver": "varchar",
    "driver_group": "varchar",
    "driver_measure": "varchar",
    "is_lower_better": "boolean",
    "sample_size": "bigint",
    "is_sample_sufficient": "boolean",
    "correlation": "double",
    "regression_sample_size": "bigint",
    "regression_r_squared": "double",
    "standardised_weight": "double",
    "relative_weight_pct": "double",
    "importance": "double",
    "importance_basis": "varchar",
    "importance_rank": "bigint",
    "performance_mean": "double",
    "performance_index": "double",
    "quadrant": "varchar",
    "not_run_reason": "varchar",
}


def _to_pandas(relation) -> pd.DataFrame:
    for method in ("df", "toPandas", "to_pandas"):
        if hasattr(relation, method):
            return getattr(relation, method)()
    raise TypeError(f"cannot turn {type(relation).__name__} into a pandas DataFrame")


def _key(*parts) -> str:
    return hashlib.md5("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation; None when either side has no variance."""
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))  # rounding can step past +-1


def regression(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Standardised weights (least squares on z-scores), Johnson's (2000) relative weights as shares
    of R squared (percent, summing to 100) and R squared; None when a column has no variance or the
    predictors are collinear."""
    if np.any(np.std(x, axis=0) == 0) or np.std(y) == 0:
        return None
    zx = (x - x.mean(axis=0)) / x.std(axis=0)
    zy = (y - y.mean()) / y.std()
    rxx = np.corrcoef(zx, rowvar=False)
    if np.linalg.matrix_rank(rxx) < rxx.shape[0]:
        return None
    beta, *_ = np.linalg.lstsq(zx, zy, rcond=None)
    rxy = np.array([np.corrcoef(zx[:, j], zy)[0, 1] for j in range(zx.shape[1])])
    eigenvalues, eigenvectors = np.linalg.eigh(rxx)
    lam = eigenvectors @ np.diag(np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
    beta_orthogonal = np.linalg.solve(lam, rxy)
    raw_weights = (lam**2) @ (beta_orthogonal**2)
    r_squared = float(raw_weights.sum())
    if r_squared <= 0:
        return None
    shares = np.clip(100.0 * raw_weights / r_squared, 0.0, 100.0)
    return beta, shares, min(r_squared, 1.0)


def _rank_and_quadrant(rows: list[dict]) -> None:
    """Importance rank and quadrant within one quarter, segment, outcome and driver group: high
    importance / performance = at or above the median of the drivers with results."""
    scored = [r for r in rows if r["importance"] is not None and r["performance_index"] is not None]
    if not scored:
        return
    importance_median = float(np.median([r["importance"] for r in scored]))
    performance_median = float(np.median([r["performance_index"] for r in scored]))
    ordered = sorted(scored, key=lambda r: -r["importance"])
    for r in scored:
        r["importance_rank"] = 1 + sum(1 for o in ordered if o["importance"] > r["importance"])
        high_importance = r["importance"] >= importance_median
        high_performance = r["performance_index"] >= performance_median
        r["quadrant"] = {
            (True, True): "strength",
            (True, False): "priority",
            (False, True): "maintain",
            (False, False): "low_priority",
        }[(high_importance, high_performance)]


def analyse_group(
    obs: pd.DataFrame,
    quarter,
    segment: str,
    min_sample: int,
    min_regression: int,
    drivers: dict[str, tuple],
    outcomes: dict[str, str],
    delivered: set[str],
) -> list[dict]:
    """`drivers`: driver -> (group, column of `obs`, direction, scale min, scale max, column of the
    per-response performance index or None); `delivered`: outcome columns with any value at all."""
    rows: list[dict] = []
    dimensions = [d for d, spec in drivers.items() if spec[0] == DIMENSION_GROUP]
    for outcome, outcome_column in outcomes.items():
        # joint regression on the responses with every dimension and the outcome
        dimension_columns = [drivers[d][1] for d in dimensions]
        complete = obs[[*dimension_columns, outcome_column]].dropna()
        fit = None
        if dimension_columns and len(complete) >= min_regression:
            fit = regression(complete[dimension_columns].to_numpy(float), complete[outcome_column].to_numpy(float))
        group_rows: dict[str, list[dict]] = {}
        for driver, (group, column, direction, low, high, index_column) in drivers.items():
            if column == outcome_column:  # CSAT as the outcome does not explain itself
                continue
            pair = obs[[column, outcome_column]].dropna()
            n = len(pair)
            sufficient = n >= min_sample
            row = {
                "driver_importance_key": _key(quarter, segment, outcome, driver),
                "quarter_start_date": quarter,
                "segment": segment,
                "outcome": outcome,
                "outcome_measure": outcome_column,
                "driver": driver,
                "driver_group": group,
                "driver_measure": column,
                "is_lower_better": direction < 0,
                "sample_size": n,
                "is_sample_sufficient": sufficient,
                "correlation": None,
                "regression_sample_size": len(complete) if group == DIMENSION_GROUP else None,
                "regression_r_squared": None,
                "standardised_weight": None,
                "relative_weight_pct": None,
                "importance": None,
                "importance_basis": None,
                "importance_rank": None,
                "performance_mean": None,
                "performance_index": None,
                "quadrant": None,
                "not_run_reason": None,
            }
            if outcome_column not in delivered:
                row["not_run_reason"] = f"outcome not delivered: {outcome_column}"
            elif not sufficient:
                row["not_run_reason"] = f"too few responses with the driver and the outcome ({n} < {min_sample})"
            if sufficient:
                x = pair[column].to_numpy(float)
                r = correlation(x, pair[outcome_column].to_numpy(float))
                row["correlation"] = r
                if low is not None:
                    row["performance_mean"] = float(x.mean())
                    # on the driver's own scale: (mean - min) / (max - min) * 100
                    row["performance_index"] = 100.0 * (float(x.mean()) - low) / (high - low)
                elif index_column is not None:  # a dimension mixing item scales: mean of 0-100 indices
                    row["performance_index"] = float(obs.loc[pair.index, index_column].mean())
                else:  # resolution time: share of the complaints resolved within their SLA
                    row["performance_mean"] = float(x.mean())
                    sla = obs.loc[pair.index, "is_resolution_sla_met"]
                    row["performance_index"] = 100.0 * float(sla.fillna(False).astype(bool).mean())
                if r is not None:
                    row["importance"] = r * direction
                    row["importance_basis"] = "correlation"
                else:
                    row["not_run_reason"] = "no variance in the driver or the outcome"
            if fit is not None and group == DIMENSION_GROUP:
                j = dimensions.index(driver)
                row["regression_r_squared"] = fit[2]
                row["standardised_weight"] = float(fit[0][j])
                row["relative_weight_pct"] = float(fit[1][j])
                if sufficient:
                    row["importance"] = float(fit[1][j])
                    row["importance_basis"] = "relative_weight"
            group_rows.setdefault(group, []).append(row)
        for members in group_rows.values():
            _rank_and_quadrant(members)
            rows.extend(members)
    return rows


def questionnaire_drivers(obs: pd.DataFrame, items: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """Add one column per dimension and per item to the response-level observations: a dimension's
    value is the mean 0-100 index of its items the respondent rated (items on different scales stay
    comparable); an item's value is its perception score on its own scale. Returns the widened
    observations and the driver specs (dimensions, then items, then the transactional drivers)."""
    drivers: dict[str, tuple] = {}
    obs = obs.set_index("response_id", drop=False)
    if not items.empty:
        items = items.copy()
        dimensions = sorted(items["dimension"].dropna().unique())
        per_dimension = items.groupby(["response_id", "dimension"])["perception_index"].mean().unstack()
        raw_dimension = items.groupby(["response_id", "dimension"])["perception_score"].mean().unstack()
        scales = items.groupby("dimension")[["scale_min", "scale_max"]].agg(["min", "max"])
        for d in dimensions:
            column = f"dimension__{d}"
            one_scale = scales.loc[d, ("scale_min", "min")] == scales.loc[d, ("scale_min", "max")] and (
                scales.loc[d, ("scale_max", "min")] == scales.loc[d, ("scale_max", "max")]
            )
            if one_scale:  # one scale: the raw mean keeps performance_mean in score points
                low, high = float(scales.loc[d, ("scale_min", "min")]), float(scales.loc[d, ("scale_max", "min")])
                obs[column] = raw_dimension[d].reindex(obs.index)
                drivers[d] = (DIMENSION_GROUP, column, 1, low, high, None)
            else:
                obs[column] = per_dimension[d].reindex(obs.index)
                drivers[d] = (DIMENSION_GROUP, column, 1, None, None, column)
        per_item = items.pivot_table(index="response_id", columns="item_code", values="perception_score", aggfunc="mean")
        item_scales = items.groupby("item_code")[["scale_min", "scale_max"]].first()
        for item in sorted(per_item.columns):
            column = f"item__{item}"
            obs[column] = per_item[item].reindex(obs.index)
            low, high = item_scales.loc[item]
            drivers[item] = (ITEM_GROUP, column, 1, float(low), float(high), None)
    drivers.update({k: (*v, None) for k, v in TRANSACTIONAL.items()})
    return obs.reset_index(drop=True), drivers


def analyse(
    obs: pd.DataFrame,
    min_sample: int,
    min_regression: int,
    items: pd.DataFrame | None = None,
    outcomes: dict[str, str] | None = None,
) -> pd.DataFrame:
    outcomes = outcomes or DEFAULT_OUTCOMES
    obs, drivers = questionnaire_drivers(obs, items if items is not None else pd.DataFrame())
    obs["quarter_start_date"] = pd.to_datetime(obs["quarter_start_date"]).dt.date
    delivered = {c for c in outcomes.values() if c in obs and obs[c].notna().any()}
    rows: list[dict] = []
    for quarter, in_quarter in obs.groupby("quarter_start_date", sort=True):
        args = (min_sample, min_regression, drivers, outcomes, delivered)
        rows += analyse_group(in_quarter, quarter, ALL, *args)
        for segment, in_segment in in_quarter.groupby("segment", sort=True):
            rows += analyse_group(in_segment, quarter, segment, *args)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({c: "object" for c in frame.columns})


def model(dbt, session):
    dbt.config(materialized="table")
    obs = _to_pandas(dbt.ref("int_driver_observations"))
    items = _to_pandas(dbt.ref("int_driver_item_scores"))
    outcome_rows = _to_pandas(dbt.ref("driver_outcomes"))
    outcomes = {str(r.outcome): str(r.measure) for r in outcome_rows.itertuples()}
    parameters = _to_pandas(dbt.ref("int_analytics_parameters"))
    min_sample = int(parameters["driver_min_sample"].iloc[0])
    min_regression = int(parameters["driver_min_regression_sample"].iloc[0])
    frame = analyse(obs, min_sample, min_regression, items, outcomes)
    if hasattr(session, "from_df"):  # DuckDB: give every column its documented type, even when empty
        select = ", ".join(f"cast({c} as {t}) as {c}" for c, t in COLUMNS.items())
        return session.from_df(frame).project(select)
    return frame
