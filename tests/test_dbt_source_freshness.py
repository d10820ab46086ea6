"""dbt source freshness on the raw layer's `_loaded_at` (dbt_project.yml vars, the raw sources' YAML).

A tiny raw warehouse (ingestion's DDL) with one row per entity, loaded at chosen ages: `dbt source
freshness` must pass a table loaded an hour ago, warn at two days, error at four (daily deliveries:
warn after 36 hours, error after 72), give reference data (stores) days, and follow the vars."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dagster_project.contract import ENTITIES
from dagster_project.ingestion.warehouse import connect

from kpi_reference import invoke_dbt

pytestmark = pytest.mark.pipeline

AGES_HOURS = {
    "survey_responses": 1,
    "survey_item_scores": 1,
    "followups": 1,
    "customers": 1,
    "subscriptions": 1,
    "orders": 48,  # a missed daily delivery: warn
    "tickets": 96,  # four days: error
    "stores": 40 * 24,  # reference data: warns after 35 days, errors after 95
    "employees": 100 * 24,
}
EXPECTED = {
    "survey_responses": "pass",
    "survey_item_scores": "pass",
    "followups": "pass",
    "customers": "pass",
    "subscriptions": "pass",
    "orders": "warn",
    "tickets": "error",
    "stores": "warn",
    "employees": "error",
}


@pytest.fixture(scope="module")
def raw_warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("freshness") / "csat.duckdb"
    now = datetime.now(UTC).replace(tzinfo=None)
    con = connect(path)
    try:
        for entity in ENTITIES:
            con.execute(
                f"insert into raw.{entity.name} (_loaded_at) values (?)",
                [now - timedelta(hours=AGES_HOURS[entity.name])],
            )
    finally:
        con.close()
    return path


def _freshness(warehouse: Path, work_dir: Path, *extra: str) -> dict[str, str]:
    """`dbt source freshness` on `warehouse`: source table name -> status (pass / warn / error)."""
    saved = os.environ.get("CSAT_WAREHOUSE_PATH")
    os.environ["CSAT_WAREHOUSE_PATH"] = str(warehouse)
    try:
        invoke_dbt(["source", "freshness", *extra, "--output", str(work_dir / "sources.json")], work_dir)
    finally:
        if saved is None:
            os.environ.pop("CSAT_WAREHOUSE_PATH", None)
        else:
            os.environ["CSAT_WAREHOUSE_PATH"] = saved
    results = json.loads((work_dir / "sources.json").read_text(encoding="utf-8"))["results"]
    return {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in results}


def test_every_raw_entity_has_freshness_on_loaded_at(raw_warehouse, tmp_path):
    assert set(AGES_HOURS) == {e.name for e in ENTITIES}, "a new entity needs a freshness expectation here"
    assert _freshness(raw_warehouse, tmp_path) == EXPECTED


def test_thresholds_are_dbt_vars(raw_warehouse, tmp_path):
    relaxed = (
        "{csat_freshness_warn_after_hours: 200, csat_freshness_error_after_hours: 400,"
        " csat_reference_freshness_warn_after_days: 200, csat_reference_freshness_error_after_days: 400}"
    )
    statuses = _freshness(raw_warehouse, tmp_path, "--vars", relaxed)
    assert statuses == dict.fromkeys(EXPECTED, "pass")
