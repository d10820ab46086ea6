"""Expectations evaluated in DuckDB (dagster_project/quality/sql_checks.py) give Great Expectations'
own verdicts and counts: every translated type and option, on a small table with NULLs, duplicates
and edge values, against GX's pandas engine on the same rows; and no batch goes through pandas."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from dagster_project.quality import sql_checks, validation
from dagster_project.quality.suites import BatchSpec, ExpectationSpec, parse_suite
from dagster_project.quality.validation import build_gx_expectation, validate_suite

NOW = datetime(2026, 3, 1)

ROWS = """
select * from (values
    (1, 'a', 5, 'x', timestamp '2026-01-01', timestamp '2026-01-02', 'k1', 1),
    (2, 'b', null, ' X ', timestamp '2026-01-03', timestamp '2026-01-02', 'k1', 1),
    (3, 'c', 11, 'y', null, timestamp '2026-01-02', 'k2', null),
    (4, 'd', -1, null, timestamp '2026-04-01', null, 'k3', 2),
    (5, 'e', 7, 'z', timestamp '2026-01-05', timestamp '2026-01-05', null, null),
    (6, 'f', 7, 'x', timestamp '2026-01-06', timestamp '2026-01-01', 'k3', 2),
    (7, 'g', 0, 'x', null, null, 'k4', 3)
) as t(id, code, score, label, later, earlier, dup, part)
"""

CASES = [
    ("expect_table_row_count_to_be_between", {"min_value": 1}),
    ("expect_table_row_count_to_be_between", {"min_value": 8}),
    ("expect_table_row_count_to_be_between", {"min_value": 1, "max_value": 6}),
    ("expect_column_values_to_not_be_null", {"column": "score"}),
    ("expect_column_values_to_not_be_null", {"column": "id"}),
    ("expect_column_values_to_not_be_null", {"column": "score", "mostly": 0.8}),
    ("expect_column_values_to_be_in_set", {"column": "label", "value_set": ["x", "y", "z"]}),
    ("expect_column_values_to_be_in_set", {"column": "label", "value_set": ["x", "y", "z"], "mostly": 0.8}),
    ("expect_column_values_to_be_in_set", {"column": "label", "value_set": ["x", "y", "z"], "mostly": 0.9}),
    ("expect_column_values_to_be_in_set", {"column": "code", "value_set": ["a", "b", "c", "d", "e", "f", "g"]}),
    ("expect_column_values_to_be_between", {"column": "score", "min_value": 0, "max_value": 10}),
    ("expect_column_values_to_be_between", {"column": "score", "min_value": 0}),
    ("expect_column_values_to_be_between", {"column": "score", "max_value": 7}),
    ("expect_column_values_to_be_between", {"column": "score", "max_value": 7, "strict_max": True}),
    ("expect_column_values_to_be_between", {"column": "score", "min_value": 0, "strict_min": True}),
    ("expect_column_values_to_be_between", {"column": "later", "max_value": {"$PARAMETER": "now"}}),
    ("expect_column_values_to_be_unique", {"column": "dup"}),
    ("expect_column_values_to_be_unique", {"column": "id"}),
    ("expect_compound_columns_to_be_unique", {"column_list": ["dup", "part"]}),
    ("expect_compound_columns_to_be_unique", {"column_list": ["id", "dup"]}),
    (
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": "later", "column_B": "earlier", "or_equal": True, "ignore_row_if": "either_value_is_missing"},
    ),
    (
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": "later", "column_B": "earlier", "ignore_row_if": "either_value_is_missing"},
    ),
    ("expect_column_pair_values_to_be_equal", {"column_A": "later", "column_B": "earlier"}),
    ("expect_column_pair_values_to_be_equal", {"column_A": "id", "column_B": "id"}),
    ("expect_column_unique_value_count_to_be_between", {"column": "label", "min_value": 1, "max_value": 3}),
    ("expect_column_unique_value_count_to_be_between", {"column": "label", "min_value": 5}),
]


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute(f"create table t as {ROWS}")
    yield con
    con.close()


def _gx(con, specs):
    """GX's own results on the same rows, with its pandas engine."""
    import great_expectations as gx
    import pandas as pd

    context = gx.get_context(mode="ephemeral")
    batch = context.data_sources.add_pandas("p").add_dataframe_asset("t").add_batch_definition_whole_dataframe("w")
    suite = context.suites.add(gx.ExpectationSuite(name="s", expectations=[build_gx_expectation(s) for s in specs]))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch, suite=suite))
    result = definition.run(
        batch_parameters={"dataframe": con.execute("select * from t").df()},
        expectation_parameters={"now": pd.Timestamp(NOW)},
        result_format={"result_format": "SUMMARY"},
    )
    by_id = {r.expectation_config.id: r for r in result.results}
    return [by_id[e.id] for e in suite.expectations]


def test_verdicts_and_counts_match_great_expectations(con):
    specs = [ExpectationSpec(type=t, kwargs=k, severity="error") for t, k in CASES]
    batch = BatchSpec(name="b", table="t", key=("id",), expectations=tuple(specs))
    rows, ours = sql_checks.evaluate_batch(con, batch, specs, {"now": NOW})
    assert rows == 7
    theirs = _gx(con, specs)
    for spec, mine, gx_result in zip(specs, ours, theirs, strict=True):
        assert mine.exception is None, (spec.label, mine.exception)
        assert gx_result.exception_info.get("raised_exception") in (None, False), spec.label
        label = f"{spec.type} {spec.kwargs}"
        assert mine.success == gx_result.success, label
        for key in ("observed_value", "element_count", "unexpected_count", "missing_count"):
            if key in gx_result.result and key in mine.result:
                assert mine.result[key] == gx_result.result[key], (label, key)
        if "unexpected_count" in gx_result.result:
            assert mine.result["unexpected_count"] == gx_result.result["unexpected_count"], label
            assert mine.result["unexpected_percent"] == pytest.approx(gx_result.result["unexpected_percent"]), label
        if "observed_value" in gx_result.result:
            assert mine.result["observed_value"] == gx_result.result["observed_value"], label
    assert any(not r.success for r in ours) and any(r.success for r in ours)


def test_failing_rows_are_sampled_with_the_key(con):
    spec = ExpectationSpec(
        type="expect_column_values_to_be_between", kwargs={"column": "score", "min_value": 0}, severity="error"
    )
    batch = BatchSpec(name="b", table="t", key=("id",), expectations=(spec,))
    _, [result] = sql_checks.evaluate_batch(con, batch, [spec], {})
    assert not result.success and result.sample == [{"id": 4, "score": -1}]
    assert result.result["partial_unexpected_list"] == [-1]


def test_sample_is_bounded(monkeypatch):
    con = duckdb.connect()
    con.execute("create table big as select i as id, -i as score from range(1000) t(i)")
    spec = ExpectationSpec(
        type="expect_column_values_to_be_between", kwargs={"column": "score", "min_value": 0}, severity="error"
    )
    batch = BatchSpec(name="b", table="big", key=("id",), expectations=(spec,))
    _, [result] = sql_checks.evaluate_batch(con, batch, [spec], {})
    assert result.result["unexpected_count"] == 999
    assert len(result.sample) == sql_checks.SAMPLE_LIMIT


def test_one_broken_expectation_does_not_hide_the_others(con):
    good = ExpectationSpec(type="expect_column_values_to_not_be_null", kwargs={"column": "id"}, severity="error")
    broken = ExpectationSpec(
        type="expect_column_values_to_be_between", kwargs={"column": "code", "min_value": 1}, severity="error"
    )
    batch = BatchSpec(name="b", table="t", key=("id",), expectations=(good, broken))
    _, (first, second) = sql_checks.evaluate_batch(con, batch, [good, broken], {})
    assert first.success and first.exception is None
    assert not second.success and second.exception


SUITE = {
    "suite": "raw.t",
    "asset": "t",
    "batches": [
        {
            "name": "rows",
            "table": "t",
            "key": ["id"],
            "expectations": [
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "score", "min_value": 0},
                    "severity": "error",
                },
                {
                    "type": "expect_column_mean_to_be_between",
                    "kwargs": {"column": "score", "max_value": 1},
                    "severity": "warning",
                },
            ],
        }
    ],
}


def test_no_batch_goes_through_pandas_and_other_types_run_on_a_bounded_sample(con, tmp_path, monkeypatch):
    suite = parse_suite(SUITE)
    calls = []
    real = validation.fetch_sample
    monkeypatch.setattr(validation, "fetch_sample", lambda *a: calls.append(a) or real(*a))
    monkeypatch.setattr(validation, "FALLBACK_ROWS", 5)
    outcome = validate_suite(con, suite, quality_dir=tmp_path / "q", now=NOW)
    between, mean = outcome.outcomes
    assert not between.success and between.unexpected_count == 1 and between.sample == [{"id": 4, "score": -1}]
    assert not mean.success and mean.severity == "warning"  # GX on 5 sampled rows: the mean is above 1
    assert "on a sample of 5 of 7 rows" in mean.observed
    assert len(calls) == 1, "only the type DuckDB cannot evaluate fetches rows"
    assert outcome.batch_rows == {"rows": 7}
    assert outcome.data_docs.is_file()

    only_sql = parse_suite(
        {**SUITE, "batches": [{**SUITE["batches"][0], "expectations": SUITE["batches"][0]["expectations"][:1]}]}
    )
    calls.clear()
    validate_suite(con, only_sql, quality_dir=tmp_path / "q", now=NOW)
    assert calls == []


@pytest.mark.parametrize(
    "etype, kwargs",
    [
        ("expect_column_mean_to_be_between", {"column": "score", "max_value": 1}),
        ("expect_column_values_to_be_between", {"column": "score"}),
        ("expect_column_values_to_be_between", {"column": "score", "max_value": {"$PARAMETER": "tomorrow"}}),
        (
            "expect_column_values_to_be_in_set",
            {"column": "label", "value_set": ["x"], "parse_strings_as_datetimes": True},
        ),
        ("expect_column_pair_values_to_be_equal", {"column_A": "id", "column_B": "id", "ignore_row_if": "sometimes"}),
    ],
)
def test_what_sql_cannot_say_is_left_to_great_expectations(etype, kwargs):
    assert not sql_checks.supported(ExpectationSpec(type=etype, kwargs=kwargs, severity="error"))
