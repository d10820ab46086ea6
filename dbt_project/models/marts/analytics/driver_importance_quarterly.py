"""Key-driver analysis per quarter and segment (see _analytics__models.yml and DECISIONLOG.md).

For each outcome (CSI, likelihood to recommend) and each driver (the five SERVQUAL dimensions, CSAT,
effort, complaint resolution time): the Pearson correlation, for the SERVQUAL dimensions the
standardised regression weight (least squares on z-scores) and Johnson's relative weight, the
driver's performance, its importance rank and its importance-performance quadrant. A Python model
because a multiple regression is not practical in portable SQL; the statistics are plain numpy, and
the rest (inputs, thresholds) comes from SQL models.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

SERVQUAL = ("tangibles", "reliability", "responsiveness", "assurance", "empathy")
# driver -> (group, column of int_driver_observations, direction, scale minimum, scale maximum)
DRIVERS = {
    **{d: ("servqual_dimension", f"{d}_score", 1, 1.0, 7.0) for d in SERVQUAL},
    "csat": ("transactional", "csat_score", 1, 1.0, 5.0),
    "effort": ("transactional", "effort_score", 1, 1.0, 7.0),
    "resolution_time": ("transactional", "resolution_hours", -1, None, None),
}
OUTCOMES = {"csi": "csi_score", "nps": "likelihood_to_recommend"}
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


def analyse_group(obs: pd.DataFrame, quarter, segment: str, min_sample: int, min_regression: int) -> list[dict]:
    rows: list[dict] = []
    for outcome, outcome_column in OUTCOMES.items():
        # SERVQUAL regression on the responses with all five dimensions and the outcome
        servqual_columns = [DRIVERS[d][1] for d in SERVQUAL]
        complete = obs[[*servqual_columns, outcome_column]].dropna()
        fit = None
        if len(complete) >= min_regression:
            fit = regression(complete[servqual_columns].to_numpy(float), complete[outcome_column].to_numpy(float))
        group_rows: dict[str, list[dict]] = {}
        for driver, (group, column, direction, low, high) in DRIVERS.items():
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
                "regression_sample_size": len(complete) if group == "servqual_dimension" else None,
                "regression_r_squared": None,
                "standardised_weight": None,
                "relative_weight_pct": None,
                "importance": None,
                "importance_basis": None,
                "importance_rank": None,
                "performance_mean": None,
                "performance_index": None,
                "quadrant": None,
            }
            if sufficient:
                x = pair[column].to_numpy(float)
                r = correlation(x, pair[outcome_column].to_numpy(float))
                row["correlation"] = r
                row["performance_mean"] = float(x.mean())
                if low is not None:
                    row["performance_index"] = 100.0 * (float(x.mean()) - low) / (high - low)
                else:  # resolution time: share of the complaints resolved within their SLA
                    sla = obs.loc[pair.index, "is_resolution_sla_met"]
                    row["performance_index"] = 100.0 * float(sla.fillna(False).astype(bool).mean())
                if r is not None:
                    row["importance"] = r * direction
                    row["importance_basis"] = "correlation"
            if fit is not None and group == "servqual_dimension":
                j = SERVQUAL.index(driver)
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


def analyse(obs: pd.DataFrame, min_sample: int, min_regression: int) -> pd.DataFrame:
    obs = obs.copy()
    obs["quarter_start_date"] = pd.to_datetime(obs["quarter_start_date"]).dt.date
    rows: list[dict] = []
    for quarter, in_quarter in obs.groupby("quarter_start_date", sort=True):
        rows += analyse_group(in_quarter, quarter, ALL, min_sample, min_regression)
        for segment, in_segment in in_quarter.groupby("segment", sort=True):
            rows += analyse_group(in_segment, quarter, segment, min_sample, min_regression)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.astype({c: "object" for c in frame.columns})


def model(dbt, session):
    dbt.config(materialized="table")
    obs = _to_pandas(dbt.ref("int_driver_observations"))
    parameters = _to_pandas(dbt.ref("int_analytics_parameters"))
    min_sample = int(parameters["driver_min_sample"].iloc[0])
    min_regression = int(parameters["driver_min_regression_sample"].iloc[0])
    frame = analyse(obs, min_sample, min_regression)
    if hasattr(session, "from_df"):  # DuckDB: give every column its documented type, even when empty
        select = ", ".join(f"cast({c} as {t}) as {c}" for c, t in COLUMNS.items())
        return session.from_df(frame).project(select)
    return frame
