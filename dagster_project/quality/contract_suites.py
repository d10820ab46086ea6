"""The raw suites' contract part, generated from the source contract (dagster_project/contract.py).

The contract owns column types, required columns, keys, ranges, allowed values (from seeds), "not in
the future" and order rules: ingestion enforces them and the raw DDL is generated from them. The
quality gate re-asserts them on what is stored (a table can also be written by another path), so
each raw suite gets two generated batches, never a hand-made copy:

- `schema`: the column types in the DuckDB catalog are the contract's;
- `contract`: one row per key, keys stored trimmed, required columns present, ranges, allowed
  values, no future timestamps, order rules.

One row per stored key, each stored trimmed as staging reads it, is one row per staging key: dbt's
staging views of the contract's entities carry no `unique` test of their own, which would read every
raw table again through its view after this batch passed (a failure here stops dbt before it starts).

The hand-written files in expectations/raw_*.yml keep what the contract cannot say: row counts,
foreign-key coverage across tables, delivery reject shares, re-deliveries and freshness.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dagster_project.contract import ENTITIES_BY_NAME, Entity, seed_values
from dagster_project.ingestion.validation import typed_expression
from dagster_project.quality.suites import BatchSpec, ExpectationSpec, SuiteSpec

SCHEMA_BATCH = "schema"
CONTRACT_BATCH = "contract"
IN_SET = "expect_column_values_to_be_in_set"


def _spec(etype: str, notes: str = "", seed=None, **kwargs) -> ExpectationSpec:
    return ExpectationSpec(type=etype, kwargs=kwargs, severity="error", notes=notes, seed=seed)


def schema_batch(entity: Entity) -> BatchSpec:
    return BatchSpec(
        name=SCHEMA_BATCH,
        description="Column types of the raw table, from the DuckDB catalog (one row: column -> type); "
        "generated from the contract.",
        query="pivot (select column_name, data_type from information_schema.columns where table_schema = 'raw' "
        f"and table_name = '{entity.name}') on column_name using first(data_type)",
        expectations=tuple(
            _spec(IN_SET, column=c.name, value_set=[c.duckdb_type.replace(", ", ",")]) for c in entity.columns
        ),
    )


def contract_batch(entity: Entity, seeds_dir: Path | None = None) -> BatchSpec:
    expectations: list[ExpectationSpec] = []
    derived: dict[str, str] = {}
    if len(entity.key) == 1:
        expectations.append(
            _spec("expect_column_values_to_be_unique", "One row per key (latest delivery wins).", column=entity.key[0])
        )
    else:
        expectations.append(
            _spec(
                "expect_compound_columns_to_be_unique",
                "One row per key (latest delivery wins).",
                column_list=list(entity.key),
            )
        )
    for column in (c for c in entity.columns if c.name in entity.key):
        # The stored key is trimmed as ingestion and staging trim a key (NULL for a blank one, left
        # to the required-column check): a row written by another path with ' R1' beside 'R1' would
        # pass the uniqueness above and be two rows of one key in staging. (The listed spelling of
        # an item code, also a key, is the deployment's seed: a stored 'q1' beside 'Q1' fails the
        # unique test of fct_survey_item_scores' key.)
        trimmed = f"{column.name}_trimmed"
        derived[trimmed] = f"{column.name} = {typed_expression(column, column.name, key=True)}"
        expectations.append(
            _spec(IN_SET, f"{column.name} is stored trimmed, as staging reads it.", column=trimmed, value_set=[True])
        )
    for name in entity.required_columns:
        expectations.append(_spec("expect_column_values_to_not_be_null", column=name))
    for column in entity.columns:
        if column.min is not None or column.max is not None:
            bounds = {k: v for k, v in (("min_value", column.min), ("max_value", column.max)) if v is not None}
            expectations.append(_spec("expect_column_values_to_be_between", column=column.name, **bounds))
        allowed = column.seed or column.values
        if allowed:
            clean = f"{column.name}_clean"
            derived[clean] = f"lower(trim({column.name}))"
            values = seed_values(column.seed, seeds_dir) if column.seed else column.values
            where = f" (seed {column.seed[0]})" if column.seed else ""
            expectations.append(
                _spec(
                    IN_SET,
                    f"Allowed values of {column.name}{where}, compared trimmed and lower-cased.",
                    seed=column.seed,
                    column=clean,
                    value_set=[v.lower() for v in values],
                )
            )
        if column.not_future:
            expectations.append(
                _spec(
                    "expect_column_values_to_be_between",
                    "No timestamps in the future (UTC now at check time).",
                    column=column.name,
                    max_value={"$PARAMETER": "now"},
                )
            )
    for later, earlier in entity.order_rules:
        expectations.append(
            _spec(
                "expect_column_pair_values_a_to_be_greater_than_b",
                f"{later} is not before {earlier} when both are present.",
                column_A=later,
                column_B=earlier,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    return BatchSpec(
        name=CONTRACT_BATCH,
        table=f"raw.{entity.name}",
        key=entity.key,
        derived=derived,
        description="The source contract's rules on the stored rows (generated from dagster_project/contract.py).",
        expectations=tuple(expectations),
    )


def with_contract_batches(suite: SuiteSpec, seeds_dir: Path | None = None) -> SuiteSpec:
    """A raw suite with the contract's batches first (unchanged for marts and unknown entities)."""
    if not suite.is_raw or suite.asset[1] not in ENTITIES_BY_NAME:
        return suite
    names = {b.name for b in suite.batches}
    clash = names & {SCHEMA_BATCH, CONTRACT_BATCH}
    if clash:
        raise ValueError(f"{suite.path or suite.name}: batches {sorted(clash)} are generated from the contract")
    entity = ENTITIES_BY_NAME[suite.asset[1]]
    batches = (schema_batch(entity), contract_batch(entity, seeds_dir), *suite.batches)
    return dataclasses.replace(suite, batches=batches)


def bind_seed_values(suite: SuiteSpec, seeds_dir: Path | None) -> SuiteSpec:
    """The suite with every seed-driven allowed-values expectation read from `seeds_dir` (the
    deployment's seeds, which ingestion validated against; the repo's seeds fill the gaps)."""
    if not any(e.seed for e in suite.expectations):
        return suite

    def bind(e: ExpectationSpec) -> ExpectationSpec:
        if not e.seed:
            return e
        return dataclasses.replace(
            e, kwargs={**e.kwargs, "value_set": [v.lower() for v in seed_values(e.seed, seeds_dir)]}
        )

    batches = tuple(dataclasses.replace(b, expectations=tuple(bind(e) for e in b.expectations)) for b in suite.batches)
    return dataclasses.replace(suite, batches=batches)
