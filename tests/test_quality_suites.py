"""The expectation suites in expectations/: valid files, every GX expectation constructible, and
the rules of the source contract (dagster_project/contract.py) all present with error severity."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dagster_project.contract import ENTITIES
from dagster_project.quality import SuiteFileError, load_suites, parse_suite
from dagster_project.quality.validation import build_gx_expectation

REPO_ROOT = Path(__file__).resolve().parent.parent
SUITES = load_suites()
BY_NAME = {s.name: s for s in SUITES}


def _expectations(suite_name: str, batch: str | None = None):
    suite = BY_NAME[suite_name]
    return [e for b in suite.batches if batch in (None, b.name) for e in b.expectations]


def _has(suite_name: str, etype: str, severity: str = "error", batch: str | None = None, **kwargs) -> bool:
    return any(
        e.type == etype and e.severity == severity and all(e.kwargs.get(k) == v for k, v in kwargs.items())
        for e in _expectations(suite_name, batch)
    )


def test_one_suite_per_raw_entity_and_every_expectation_builds():
    assert {f"raw.{e.name}" for e in ENTITIES} <= set(BY_NAME)
    for suite in SUITES:
        assert suite.expectations, suite.name
        for spec in suite.expectations:
            expectation = build_gx_expectation(spec)  # raises on unknown types or kwargs
            assert expectation.meta["severity"] == spec.severity


def test_every_dbt_mart_has_a_suite():
    marts = {p.stem for p in (REPO_ROOT / "dbt_project" / "models" / "marts").rglob("*") if p.suffix in (".sql", ".py")}
    assert marts, "no dbt marts found"
    suites = {s.asset[-1] for s in SUITES if not s.is_raw}
    assert marts <= suites, f"marts without an expectation suite (they would not be published): {marts - suites}"


@pytest.mark.parametrize("ent", ENTITIES, ids=lambda e: e.name)
def test_raw_suite_covers_the_contract(ent):
    name = f"raw.{ent.name}"
    assert BY_NAME[name].asset == ("raw", ent.name)
    for column in ent.columns:
        assert _has(
            name,
            "expect_column_values_to_be_in_set",
            batch="schema",
            column=column.name,
            value_set=[column.duckdb_type.replace(", ", ",")],
        ), f"type of {column.name}"
        if column.min is not None or column.max is not None:
            assert any(
                e.type == "expect_column_values_to_be_between"
                and e.kwargs.get("column") == column.name
                and e.kwargs.get("min_value") == column.min
                and e.kwargs.get("max_value") == column.max
                and e.severity == "error"
                for e in _expectations(name, "rows")
            ), f"range of {column.name}"
        if column.values:
            assert _has(
                name, "expect_column_values_to_be_in_set", column=f"{column.name}_clean", value_set=list(column.values)
            ), f"enum of {column.name}"
        if column.not_future:
            assert _has(
                name, "expect_column_values_to_be_between", column=column.name, max_value={"$PARAMETER": "now"}
            ), f"{column.name} not in the future"
    for required in ent.required_columns:
        assert _has(name, "expect_column_values_to_not_be_null", column=required)
    for later, earlier in ent.order_rules:
        assert _has(name, "expect_column_pair_values_a_to_be_greater_than_b", column_A=later, column_B=earlier)
    if len(ent.key) == 1:
        assert _has(name, "expect_column_values_to_be_unique", column=ent.key[0])
    else:
        assert _has(name, "expect_compound_columns_to_be_unique", column_list=list(ent.key))
    assert _has(name, "expect_table_row_count_to_be_between", min_value=1)
    assert _has(name, "expect_column_values_to_be_between", batch="deliveries", column="reject_share", max_value=0.05)


@pytest.mark.parametrize("entity_name", ["survey_responses", "tickets", "orders"])
def test_foreign_key_coverage_blocks_below_the_threshold(entity_name):
    name = f"raw.{entity_name}"
    assert _has(name, "expect_column_values_to_be_in_set", column="customer_in_crm", value_set=[True], mostly=0.95)
    assert ("raw", "customers") in BY_NAME[name].additional_deps


def test_kpi_ranges_and_month_completeness():
    kpi = "marts.kpi_monthly"
    for column, low, high in [
        ("nps_value", -100, 100),
        ("pct_value", 0, 100),
        ("csi_value", 0, 100),
        ("servqual_value", -6, 6),
    ]:
        assert _has(kpi, "expect_column_values_to_be_between", column=column, min_value=low, max_value=high)
    assert _has(
        kpi, "expect_column_values_to_be_between", batch="months", column="all_up_rows", min_value=1, max_value=1
    )
    for suite in SUITES:
        if not suite.is_raw:
            assert _has(
                suite.name,
                "expect_column_values_to_be_between",
                batch="personal_data",
                column="personal_columns",
                max_value=0,
            ), suite.name


def test_table_batch_fetches_only_the_needed_columns():
    rows = next(b for b in BY_NAME["raw.orders"].batches if b.name == "rows")
    sql = rows.sql()
    assert sql.startswith("select ") and "from raw.orders" in sql
    assert '"amount"' in sql and '"currency"' not in sql
    assert 'as "customer_in_crm"' in sql


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("suite"), "`suite`"),
        (lambda d: d["batches"][0]["expectations"][0].update(severity="fatal"), "severity"),
        (lambda d: d["batches"][1].update(query="select 1"), "exactly one of"),
        (lambda d: d["batches"][0]["expectations"][0].update(type="not_an_expectation"), "type"),
        (lambda d: d.update(extra=1), "unknown keys"),
    ],
)
def test_bad_suite_files_are_refused_with_a_clear_message(mutate, message):
    data = yaml.safe_load((REPO_ROOT / "expectations" / "raw_orders.yml").read_text(encoding="utf-8"))
    mutate(data)
    with pytest.raises(SuiteFileError, match=message):
        parse_suite(data)
