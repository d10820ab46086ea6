"""The key-driver algebra (dagster_project/analytics/key_drivers.py) against independent computations on
response-level data, and the mart writer on a small in-memory DuckDB (no dbt: fast)."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest

from dagster_project.analytics import key_drivers as kd

Q1 = date(2024, 1, 1)


def _data(n: int = 400, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    x = np.column_stack([common + rng.normal(size=n) * s for s in (0.5, 1.0, 1.5)])  # correlated dimensions
    y = 0.6 * x[:, 0] + 0.3 * x[:, 1] + 0.1 * x[:, 2] + rng.normal(size=n)
    return x, y


def _reference(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Independent of the module: least squares on the z-scored responses, and Johnson's relative weights
    through the singular value decomposition of the data (Z = P Q', the orthogonal counterpart of X)."""
    zx = (x - x.mean(axis=0)) / x.std(axis=0)
    zy = (y - y.mean()) / y.std()
    beta, *_ = np.linalg.lstsq(zx, zy, rcond=None)
    r_squared = 1 - ((zy - zx @ beta) ** 2).sum() / (zy**2).sum()
    p, _, qt = np.linalg.svd(zx, full_matrices=False)
    z = p @ qt
    beta_z, *_ = np.linalg.lstsq(z, zy, rcond=None)
    loadings, *_ = np.linalg.lstsq(z, zx, rcond=None)  # X on Z: Lambda
    raw = (loadings.T**2) @ (beta_z**2)
    return beta, 100 * raw / raw.sum(), float(r_squared)


def _correlations(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    data = np.column_stack([x, y])
    r = np.corrcoef(data, rowvar=False)
    return r[:-1, :-1], r[:-1, -1]


def test_regression_from_correlations_equals_the_fit_on_responses():
    x, y = _data()
    beta, shares, r_squared = kd.regression(*_correlations(x, y))
    ref_beta, ref_shares, ref_r_squared = _reference(x, y)
    assert beta == pytest.approx(ref_beta, abs=1e-10)
    assert shares == pytest.approx(ref_shares, abs=1e-8)
    assert r_squared == pytest.approx(ref_r_squared, abs=1e-10)
    assert shares.sum() == pytest.approx(100.0, abs=1e-9)
    assert int(np.argmax(shares)) == 0  # built that way: the first dimension weighs most


def test_collinear_dimensions_give_no_regression():
    x, y = _data()
    x = np.column_stack([x[:, 0], x[:, 1], 2 * x[:, 0] - x[:, 1]])  # third = a combination of the others
    assert kd.regression(*_correlations(x, y)) is None


def _inputs(x: np.ndarray, y: np.ndarray, names=("a", "b", "c"), **override) -> list[dict]:
    rxx, rxy = _correlations(x, y)
    rows = []
    for i, d in enumerate(names):
        for j, p in enumerate(names):
            if p < d:
                continue
            rows.append(
                {
                    "quarter_start_date": Q1,
                    "segment": "all",
                    "outcome": "overall",
                    "dimension": d,
                    "paired_dimension": p,
                    "regression_sample_size": len(y),
                    "dimension_correlation": 1.0 if i == j else rxx[i, j],
                    "outcome_correlation": rxy[i] if i == j else None,
                    "is_constant": False if i == j else None,
                    **(override if i == j else {}),
                }
            )
    return rows


def test_fit_group_needs_enough_complete_cases_and_variance():
    x, y = _data()
    fit = kd.fit_group(_inputs(x, y), min_regression=len(y))
    assert fit is not None and fit.dimensions == ("a", "b", "c")
    assert fit.standardised_weights == pytest.approx(_reference(x, y)[0], abs=1e-10)
    assert kd.fit_group(_inputs(x, y), min_regression=len(y) + 1) is None
    assert kd.fit_group(_inputs(x, y, is_constant=True), min_regression=1) is None
    assert kd.fit_group([], min_regression=1) is None


def _row(driver: str, importance: float | None, performance: float | None, **extra) -> dict:
    return {"driver": driver, "importance": importance, "performance_index": performance, **extra}


def test_rank_and_quadrant_split_at_the_medians_and_share_ranks_on_ties():
    rows = [
        _row("a", 0.9, 20.0),
        _row("b", 0.5, 80.0),
        _row("c", 0.5, 50.0),
        _row("d", 0.1, 90.0),
        _row("e", None, 10.0, importance_rank=None, quadrant=None),
    ]
    kd.rank_and_quadrant(rows)
    by = {r["driver"]: r for r in rows}
    # importance median of a-d = 0.5, performance median = 65
    assert [by[d]["importance_rank"] for d in "abcd"] == [1, 2, 2, 4]
    assert [by[d]["quadrant"] for d in "abcd"] == ["priority", "strength", "priority", "maintain"]
    assert by["e"]["importance_rank"] is None and by["e"]["quadrant"] is None


def _correlation_row(driver: str, group: str, sufficient: bool, correlation: float | None) -> dict:
    return {
        "quarter_start_date": Q1,
        "segment": "all",
        "outcome": "overall",
        "outcome_measure": "overall_satisfaction",
        "driver": driver,
        "driver_group": group,
        "driver_measure": f"dimension__{driver}" if group == kd.DIMENSION_GROUP else "csat_score",
        "is_lower_better": False,
        "sample_size": 400 if sufficient else 3,
        "is_sample_sufficient": sufficient,
        "correlation": correlation,
        "regression_sample_size": 400 if group == kd.DIMENSION_GROUP else None,
        "importance": correlation,
        "importance_basis": "correlation" if correlation is not None else None,
        "performance_mean": 3.0 if sufficient else None,
        "performance_index": 50.0 + (correlation or 0) if sufficient else None,
        "not_run_reason": None if sufficient else "too few responses with the driver and the outcome (3 < 30)",
    }


def test_rows_take_relative_weights_for_dimensions_with_a_sufficient_sample():
    x, y = _data()
    correlations = [
        _correlation_row("a", kd.DIMENSION_GROUP, True, 0.7),
        _correlation_row("b", kd.DIMENSION_GROUP, True, 0.6),
        _correlation_row("c", kd.DIMENSION_GROUP, False, None),
        _correlation_row("csat", "transactional", True, 0.4),
    ]
    rows = {r["driver"]: r for r in kd.driver_importance_rows(correlations, _inputs(x, y), min_regression=50)}
    _, shares, r_squared = _reference(x, y)
    assert rows["a"]["importance"] == pytest.approx(shares[0], abs=1e-8)
    assert rows["a"]["importance_basis"] == "relative_weight"
    assert rows["a"]["regression_r_squared"] == pytest.approx(r_squared, abs=1e-10)
    # the regression's results are shown for c, but its own sample is too small for an importance
    assert rows["c"]["relative_weight_pct"] == pytest.approx(shares[2], abs=1e-8)
    assert rows["c"]["importance"] is None and rows["c"]["importance_rank"] is None
    assert rows["csat"]["importance"] == 0.4 and rows["csat"]["importance_basis"] == "correlation"
    assert rows["csat"]["importance_rank"] == 1 and rows["csat"]["regression_r_squared"] is None
    assert rows["a"]["driver_importance_key"] == kd.driver_importance_key("2024-01-01", "all", "overall", "a")
    assert set(rows["a"]) == set(kd.mart_spec().columns)


# the statistics tables as dbt builds them (dbt_project/models/intermediate/analytics/_int_drivers__models.yml)
CORRELATION_COLUMNS = {
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
    "importance": "double",
    "importance_basis": "varchar",
    "performance_mean": "double",
    "performance_index": "double",
    "not_run_reason": "varchar",
}
INPUT_COLUMNS = {
    "quarter_start_date": "date",
    "segment": "varchar",
    "outcome": "varchar",
    "dimension": "varchar",
    "paired_dimension": "varchar",
    "regression_sample_size": "bigint",
    "dimension_correlation": "double",
    "outcome_correlation": "double",
    "is_constant": "boolean",
}


def _statistics_db(correlations: list[dict], inputs: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute("create table intermediate.int_analytics_parameters as select 50.0 as driver_min_regression_sample")
    for table, rows, columns in (
        ("int_driver_correlations", correlations, CORRELATION_COLUMNS),
        ("int_driver_regression_inputs", inputs, INPUT_COLUMNS),
    ):
        con.execute(f"create table intermediate.{table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
        for r in rows:
            con.execute(
                f"insert into intermediate.{table} values ({', '.join('?' for _ in columns)})",
                [r[c] for c in columns],
            )
    return con


def test_written_mart_has_the_documented_types_even_when_empty():
    spec = kd.mart_spec()
    con = _statistics_db([], [])
    report = kd.write_driver_importance(con)
    assert report.rows == 0
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'marts' and table_name = 'driver_importance_quarterly' order by ordinal_position"
        ).fetchall()
    )
    duckdb_names = {"string": "VARCHAR", "date": "DATE", "bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN"}
    assert list(types) == list(spec.columns)
    assert types == {c: duckdb_names[t] for c, t in spec.columns.items()}


def test_written_mart_equals_the_rows_and_a_failed_write_keeps_the_previous_mart():
    x, y = _data()
    correlations = [
        _correlation_row("a", kd.DIMENSION_GROUP, True, 0.7),
        _correlation_row("b", kd.DIMENSION_GROUP, True, 0.6),
        _correlation_row("c", kd.DIMENSION_GROUP, True, 0.5),
    ]
    con = _statistics_db(correlations, _inputs(x, y))
    report = kd.write_driver_importance(con)
    assert (report.rows, report.groups, report.regressions) == (3, 1, 1)
    written = con.execute(
        "select driver, relative_weight_pct, importance_rank from marts.driver_importance_quarterly order by driver"
    ).fetchall()
    shares = _reference(x, y)[1]
    assert [w[0] for w in written] == ["a", "b", "c"]
    assert [w[1] for w in written] == pytest.approx(list(shares), abs=1e-8)
    assert [w[2] for w in written] == [1, 2, 3]
    # a row that cannot take its documented type fails the write inside the transaction
    con.execute("update intermediate.int_driver_correlations set segment = 'broken', sample_size = -1")
    con.execute("alter table intermediate.int_driver_correlations alter quarter_start_date type varchar")
    con.execute("update intermediate.int_driver_correlations set quarter_start_date = 'not a date'")
    with pytest.raises(duckdb.ConversionException):
        kd.write_driver_importance(con)
    assert con.execute("select count(*), min(segment) from marts.driver_importance_quarterly").fetchone() == (3, "all")


def test_missing_statistics_say_what_to_build():
    with pytest.raises(RuntimeError, match=r"int_driver_correlations.*build them first"):
        kd.write_driver_importance(duckdb.connect())
