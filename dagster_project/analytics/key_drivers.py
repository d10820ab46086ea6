"""Key-driver analysis: the small matrix algebra, ranks and quadrants of marts.driver_importance_quarterly.

The statistics come from SQL (dbt, on DuckDB or Spark): `intermediate.int_driver_correlations` (one row per
quarter, segment, outcome and driver: sample, correlation, performance, importance by correlation, why a
result is missing) and `intermediate.int_driver_regression_inputs` (the correlations of the dimensions with
each other and with the outcome over the complete cases). What SQL cannot do portably is here, on those small
tables: the joint regression of the outcome on the dimensions (standardised weights solve Rxx * beta = rxy),
Johnson's (2000) relative weights through the symmetric square root of Rxx, R squared, the collinearity test,
and the importance rank and quadrant among the drivers of a group. `write_driver_importance` reads the tables
by schema.table name and writes the mart in one transaction: the same code serves a DuckDB build and a Spark
build whose tables are mounted in the working DuckDB under the same names.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from dagster_project import yaml_files
from dagster_project.ingestion.warehouse import transaction

MART_SPEC = Path(__file__).with_name("driver_importance_quarterly.yml")
CORRELATIONS = "intermediate.int_driver_correlations"
REGRESSION_INPUTS = "intermediate.int_driver_regression_inputs"
PARAMETERS = "intermediate.int_analytics_parameters"
DIMENSION_GROUP = "servqual_dimension"  # a dimension of the questionnaire (SERVQUAL's five by default)
QUADRANTS = {
    (True, True): "strength",
    (True, False): "priority",
    (False, True): "maintain",
    (False, False): "low_priority",
}


@dataclass(frozen=True)
class MartSpec:
    """The mart's documentation (driver_importance_quarterly.yml): its table, grain and column types."""

    name: str
    table: str
    grain: tuple[str, ...]
    description: str
    columns: dict[str, str]  # column -> data_type, in the mart's column order
    column_descriptions: dict[str, str]


@functools.cache
def mart_spec(path: Path = MART_SPEC) -> MartSpec:
    doc = yaml_files.safe_load(path.read_text(encoding="utf-8"))
    return MartSpec(
        name=doc["name"],
        table=doc["table"],
        grain=tuple(doc["grain"]),
        description=doc["description"],
        columns={c["name"]: c["data_type"] for c in doc["columns"]},
        column_descriptions={c["name"]: c["description"] for c in doc["columns"]},
    )


@dataclass(frozen=True)
class Fit:
    """The joint regression of an outcome on the dimensions, in the order of `dimensions`."""

    dimensions: tuple[str, ...]
    standardised_weights: np.ndarray
    relative_weight_pct: np.ndarray
    r_squared: float


def regression(rxx: np.ndarray, rxy: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Least squares on z-scores from correlations: standardised weights beta = Rxx^-1 rxy (the normal
    equations of the fit on z-scores are Rxx beta = rxy), Johnson's (2000) relative weights as percents of R
    squared (summing to 100) and R squared; None when the dimensions are collinear (Rxx not of full rank) or
    R squared is not positive."""
    rxx = np.asarray(rxx, dtype=float)
    rxy = np.asarray(rxy, dtype=float)
    if np.linalg.matrix_rank(rxx) < rxx.shape[0]:
        return None
    beta = np.linalg.solve(rxx, rxy)
    eigenvalues, eigenvectors = np.linalg.eigh(rxx)
    lam = eigenvectors @ np.diag(np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
    beta_orthogonal = np.linalg.solve(lam, rxy)
    raw_weights = (lam**2) @ (beta_orthogonal**2)
    r_squared = float(raw_weights.sum())
    if r_squared <= 0:
        return None
    shares = np.clip(100.0 * raw_weights / r_squared, 0.0, 100.0)
    return beta, shares, min(r_squared, 1.0)


def fit_group(inputs: Iterable[Mapping[str, Any]], min_regression: int) -> Fit | None:
    """The regression of one quarter, segment and outcome from its rows of int_driver_regression_inputs;
    None below `min_regression` complete cases, when a dimension or the outcome has no variance, or when
    the dimensions are collinear."""
    rows = list(inputs)
    diagonal = {r["dimension"]: r for r in rows if r["dimension"] == r["paired_dimension"]}
    if not diagonal:
        return None
    dimensions = tuple(sorted(diagonal))
    if min(r["regression_sample_size"] for r in diagonal.values()) < min_regression:
        return None
    if any(r["is_constant"] or r["outcome_correlation"] is None for r in diagonal.values()):
        return None
    position = {d: i for i, d in enumerate(dimensions)}
    rxx = np.eye(len(dimensions))
    for r in rows:
        if r["dimension"] == r["paired_dimension"]:
            continue
        if r["dimension_correlation"] is None:
            return None
        i, j = position[r["dimension"]], position[r["paired_dimension"]]
        rxx[i, j] = rxx[j, i] = r["dimension_correlation"]
    rxy = np.array([diagonal[d]["outcome_correlation"] for d in dimensions])
    result = regression(rxx, rxy)
    if result is None:
        return None
    beta, shares, r_squared = result
    return Fit(dimensions, beta, shares, r_squared)


def rank_and_quadrant(rows: Sequence[dict]) -> None:
    """Importance rank and quadrant within one quarter, segment, outcome and driver group (in place): rank 1
    = the highest importance (ties share a rank); high importance / performance = at or above the median of
    the drivers with both."""
    scored = [r for r in rows if r["importance"] is not None and r["performance_index"] is not None]
    if not scored:
        return
    importance_median = float(np.median([r["importance"] for r in scored]))
    performance_median = float(np.median([r["performance_index"] for r in scored]))
    for r in scored:
        r["importance_rank"] = 1 + sum(1 for o in scored if o["importance"] > r["importance"])
        high = (r["importance"] >= importance_median, r["performance_index"] >= performance_median)
        r["quadrant"] = QUADRANTS[high]


def driver_importance_key(quarter, segment: str, outcome: str, driver: str) -> str:
    return hashlib.md5(f"{quarter}|{segment}|{outcome}|{driver}".encode()).hexdigest()


def driver_importance_rows(
    correlations: Iterable[Mapping[str, Any]], regression_inputs: Iterable[Mapping[str, Any]], min_regression: int
) -> list[dict]:
    """The mart's rows: each row of int_driver_correlations with its key; for the dimensions the regression
    of their group and outcome (where it ran: R squared, standardised weight, relative weight, which becomes
    the importance where the driver's own sample is sufficient); then ranks and quadrants."""
    columns = list(mart_spec().columns)
    by_group: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in regression_inputs:
        by_group.setdefault((r["quarter_start_date"], r["segment"], r["outcome"]), []).append(r)
    fits = {group: fit_group(rows, min_regression) for group, rows in by_group.items()}
    ranked: dict[tuple, list[dict]] = {}
    for source in correlations:
        row = {c: source.get(c) for c in columns}
        group = (row["quarter_start_date"], row["segment"], row["outcome"])
        row["driver_importance_key"] = driver_importance_key(*group, row["driver"])
        fit = fits.get(group) if row["driver_group"] == DIMENSION_GROUP else None
        if fit is not None and row["driver"] in fit.dimensions:
            j = fit.dimensions.index(row["driver"])
            row["regression_r_squared"] = fit.r_squared
            row["standardised_weight"] = float(fit.standardised_weights[j])
            row["relative_weight_pct"] = float(fit.relative_weight_pct[j])
            if row["is_sample_sufficient"]:
                row["importance"] = float(fit.relative_weight_pct[j])
                row["importance_basis"] = "relative_weight"
        ranked.setdefault((*group, row["driver_group"]), []).append(row)
    out: list[dict] = []
    for members in ranked.values():
        rank_and_quadrant(members)
        out.extend(members)
    return out


def _dicts(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


@dataclass(frozen=True)
class DriverImportanceReport:
    table: str
    rows: int
    groups: int  # quarter x segment x outcome
    regressions: int  # groups whose dimensions' regression ran


def write_driver_importance(con: duckdb.DuckDBPyConnection) -> DriverImportanceReport:
    """Read the statistics (small tables), compute the mart and replace it in one transaction, every column
    cast to its documented type (an empty mart keeps its types). A failure leaves the previous mart as it was."""
    spec = mart_spec()
    try:
        parameters = _dicts(con, f"select driver_min_regression_sample from {PARAMETERS}")
        correlations = _dicts(con, f"select * from {CORRELATIONS}")
        inputs = _dicts(con, f"select * from {REGRESSION_INPUTS}")
    except duckdb.CatalogException as error:
        raise RuntimeError(
            f"{spec.table} is computed from the dbt models {CORRELATIONS}, {REGRESSION_INPUTS} and {PARAMETERS}; "
            f"build them first (dbt build, or the whole pipeline: csat run): {error}"
        ) from error
    min_regression = int(parameters[0]["driver_min_regression_sample"])
    rows = driver_importance_rows(correlations, inputs, min_regression)
    schema = spec.table.split(".")[0]
    # object columns: DuckDB reads each as what its values are (None stays NULL, not NaN); then the casts
    frame = pd.DataFrame([[r[c] for c in spec.columns] for r in rows], columns=list(spec.columns), dtype=object)
    select = ", ".join(f"cast({c} as {t}) as {c}" for c, t in spec.columns.items())
    view = "driver_importance_rows"
    con.register(view, frame)
    try:
        with transaction(con):
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create or replace table {spec.table} as select {select} from {view}")
    finally:
        con.unregister(view)
    groups = {(r["quarter_start_date"], r["segment"], r["outcome"]) for r in rows}
    regressions = {
        (r["quarter_start_date"], r["segment"], r["outcome"]) for r in rows if r["regression_r_squared"] is not None
    }
    return DriverImportanceReport(spec.table, len(rows), len(groups), len(regressions))
