"""The expectation suites in expectations/: valid files, every GX expectation constructible, the
rules of the source contract (dagster_project/contract.py) generated into the raw suites with error
severity and never restated by hand, and mart suites that leave keys and relationships to dbt."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dagster_project.contract import ENTITIES, seed_values
from dagster_project.quality import SuiteFileError, load_suite, load_suites, parse_suite
from dagster_project.quality.contract_suites import CONTRACT_BATCH, SCHEMA_BATCH, bind_seed_values
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
                for e in _expectations(name, CONTRACT_BATCH)
            ), f"range of {column.name}"
        if column.seed:
            assert _has(
                name,
                "expect_column_values_to_be_in_set",
                column=f"{column.name}_clean",
                value_set=[v.lower() for v in seed_values(column.seed)],
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


def test_hand_written_raw_suites_do_not_restate_the_contract():
    generated = {
        (e.type, repr(sorted(e.kwargs.items())))
        for s in SUITES
        if s.is_raw
        for b in s.batches
        if b.name in (SCHEMA_BATCH, CONTRACT_BATCH)
        for e in b.expectations
    }
    assert len(generated) > 100, "the contract batches are missing"
    for path in sorted((REPO_ROOT / "expectations").glob("raw_*.yml")):
        suite = load_suite(path)
        assert not {b.name for b in suite.batches} & {SCHEMA_BATCH, CONTRACT_BATCH}, path.name
        for e in suite.expectations:
            if e.type == "expect_table_row_count_to_be_between":
                continue
            assert (e.type, repr(sorted(e.kwargs.items()))) not in generated, f"{path.name} restates {e.label}"
            assert not e.kwargs.get("column", "").endswith("_clean"), f"{path.name}: allowed values are the contract's"


def test_allowed_values_are_read_from_the_deployment_seeds(tmp_path):
    (tmp_path / "ticket_statuses.csv").write_text("status,description\nOpen,x\nescalated,y\n", encoding="utf-8")
    suite = bind_seed_values(BY_NAME["raw.tickets"], tmp_path)
    [status] = [e for e in suite.expectations if e.kwargs.get("column") == "status_clean"]
    assert status.kwargs["value_set"] == ["open", "escalated"]
    [severity] = [e for e in suite.expectations if e.kwargs.get("column") == "severity_clean"]
    assert severity.kwargs["value_set"] == ["low", "medium", "high", "critical"]  # the repo's sla_policies


def _dbt_key_tests() -> set[tuple]:
    """(test, model, column) of the dbt project's column tests and not-null tests (one per column
    of a not_null_columns or key_and_not_null_columns test); ("unique", model, column) for a key of
    one column, ("unique", model, (columns, ...)) for a key of several."""
    dbt_tests = set()
    for path in (REPO_ROOT / "dbt_project" / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or []:
            for test in model.get("data_tests") or []:  # not_null of several columns in one test
                if not isinstance(test, dict):
                    continue
                [(name, config)] = test.items()
                arguments = config["arguments"]
                if name in ("not_null_columns", "key_and_not_null_columns"):
                    for column in arguments["column_names"]:
                        dbt_tests.add(("not_null", model["name"], column))
                if name in ("key_and_not_null_columns", "unique_combination_of_columns"):
                    key = arguments.get("key") or arguments["combination_of_columns"]
                    dbt_tests.add(("unique", model["name"], key[0] if len(key) == 1 else tuple(key)))
            for column in model.get("columns") or []:
                for test in column.get("data_tests") or []:
                    name = test if isinstance(test, str) else next(iter(test))
                    dbt_tests.add((name, model["name"], column["name"]))
    return dbt_tests


def test_mart_suites_leave_keys_and_relationships_to_dbt():
    """dbt owns unique/not_null on keys and relationships (YAML data_tests); a mart suite repeating
    them would run the same check twice with two homes."""
    dbt_tests = _dbt_key_tests()
    assert {("unique", "fct_orders", "order_id"), ("not_null", "fct_orders", "order_key")} <= dbt_tests
    mapping = {"expect_column_values_to_be_unique": "unique", "expect_column_values_to_not_be_null": "not_null"}
    for suite in SUITES:
        if suite.is_raw:
            continue
        for e in suite.expectations:
            if e.type in mapping:
                assert (mapping[e.type], suite.asset[-1], e.kwargs["column"]) not in dbt_tests, (
                    f"{suite.name} repeats dbt's {mapping[e.type]} test on {e.kwargs['column']}"
                )


def test_the_raw_suites_own_one_row_per_key_and_staging_does_not_repeat_it():
    """One row per stored key, each stored trimmed (the raw suites' contract batch, which stops dbt
    before it starts) is one row per key of the staging view: a unique test there would read every
    raw table again through its view for a check that cannot fail on its own."""
    dbt_tests = _dbt_key_tests()
    assert ("unique", "stg_crm__customers_history", ("customer_id", "delivery_seq")) in dbt_tests
    for entity in ENTITIES:
        batch = next(b for b in BY_NAME[f"raw.{entity.name}"].batches if b.name == CONTRACT_BATCH)
        columns = {e.kwargs.get("column") for e in batch.expectations} | {
            c for e in batch.expectations for c in e.kwargs.get("column_list", ())
        }
        for key in entity.key:
            assert {key, f"{key}_trimmed"} <= columns, f"raw.{entity.name}: {key}"
        staging = f"stg_{entity.source}__{entity.name}"
        key = entity.key[0] if len(entity.key) == 1 else tuple(entity.key)
        assert ("unique", staging, key) not in dbt_tests, f"{staging} repeats the raw suite's key test"


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
    contract = next(b for b in BY_NAME["raw.orders"].batches if b.name == CONTRACT_BATCH)
    sql = contract.sql()
    assert sql.startswith("select ") and "from raw.orders" in sql
    assert '"amount"' in sql and '"currency"' not in sql
    assert 'as "status_clean"' in sql
    rows = next(b for b in BY_NAME["raw.orders"].batches if b.name == "rows")
    assert 'as "customer_in_crm"' in rows.sql()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("suite"), "`suite`"),
        (lambda d: d["batches"][0]["expectations"][0].update(severity="fatal"), "severity"),
        (lambda d: d["batches"][0].update(query="select 1"), "exactly one of"),
        (lambda d: d["batches"][0]["expectations"][0].update(type="not_an_expectation"), "type"),
        (lambda d: d.update(extra=1), "unknown keys"),
    ],
)
def test_bad_suite_files_are_refused_with_a_clear_message(mutate, message):
    data = yaml.safe_load((REPO_ROOT / "expectations" / "raw_orders.yml").read_text(encoding="utf-8"))
    mutate(data)
    with pytest.raises(SuiteFileError, match=message):
        parse_suite(data)
