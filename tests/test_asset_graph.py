"""One asset graph from the landing files to the KPI marts, with dbt tests as asset checks."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import dagster_dbt.core.resource
from dagster_dbt import DbtCliResource
from packaging.version import Version

from dagster_project.assets.warehouse import DBT_PROJECT_DIR, dbt_project
from dagster_project.contract import ENTITIES
from dagster_project.definitions import build_definitions

RAW_KEYS = {dg.AssetKey(["raw", e.name]) for e in ENTITIES}


def ancestors(key, parents_of: Callable) -> set:
    """Every node upstream of `key`, given a function from a node to its parents."""
    seen, pending = set(), [key]
    while pending:
        for parent in parents_of(pending.pop()):
            if parent not in seen:
                seen.add(parent)
                pending.append(parent)
    return seen


def upstream(graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    return ancestors(key, lambda k: graph.get(k).parent_keys)


def test_kpi_marts_descend_from_every_ingestion_asset(tmp_path):
    graph = build_definitions(
        landing_dir=str(tmp_path), warehouse_path=str(tmp_path / "w.duckdb")
    ).resolve_asset_graph()
    # stores and employees only describe; follow-up contacts close the loop (followup_queue), not KPIs
    kpi_sources = RAW_KEYS - {dg.AssetKey(["raw", n]) for n in ("stores", "employees", "followups")}
    for mart in ("kpi_monthly", "scorecard_monthly"):
        assert kpi_sources <= upstream(graph, dg.AssetKey([mart])), mart
    marts = ("dim_customer", "dim_store", "dim_employee", "fct_survey_item_scores", "kpi_monthly", "followup_queue")
    assert RAW_KEYS <= set().union(*(upstream(graph, dg.AssetKey([m])) for m in marts))
    # the staging models hang off the ingestion assets, not off unmanaged dbt sources
    assert graph.get(dg.AssetKey(["stg_survey__survey_responses"])).parent_keys == {
        dg.AssetKey(["raw", "survey_responses"])
    }


def test_dbt_tests_are_asset_checks(tmp_path):
    graph = build_definitions(
        landing_dir=str(tmp_path), warehouse_path=str(tmp_path / "w.duckdb")
    ).resolve_asset_graph()
    checks = graph.asset_check_keys
    assert any(c.asset_key == dg.AssetKey(["kpi_monthly"]) for c in checks)
    assert any(c.asset_key == dg.AssetKey(["stg_survey__survey_responses"]) for c in checks)
    assert any(c.asset_key == dg.AssetKey(["fct_complaints"]) and c.name.startswith("relationships") for c in checks)


def test_every_dbt_data_test_is_an_asset_check(tmp_path):
    """Singular tests that read several models name the one they check (meta.dagster.ref)."""
    graph = build_definitions(
        landing_dir=str(tmp_path), warehouse_path=str(tmp_path / "w.duckdb")
    ).resolve_asset_graph()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    data_tests = {node["name"] for uid, node in manifest["nodes"].items() if uid.startswith("test.")}
    checks = {c.name for c in graph.asset_check_keys}
    assert data_tests and not data_tests - checks, sorted(data_tests - checks)
    assert dg.AssetCheckKey(dg.AssetKey(["scorecard_monthly"]), "assert_scorecard_matches_kpi_monthly") in (
        graph.asset_check_keys
    )


def test_key_driver_asset_runs_after_its_statistics_and_before_its_check_and_publication(tmp_path):
    """The key-driver mart is a Dagster asset (not a dbt model): it reads dbt's int_driver_* tables, its
    expectation suite guards it, and publication waits for it."""
    definitions = build_definitions(landing_dir=str(tmp_path), warehouse_path=str(tmp_path / "w.duckdb"))
    graph = definitions.resolve_asset_graph()
    mart = dg.AssetKey(["driver_importance_quarterly"])
    assert {dg.AssetKey(["int_driver_correlations"]), dg.AssetKey(["int_driver_regression_inputs"])} <= graph.get(
        mart
    ).parent_keys
    assert dg.AssetKey(["raw", "survey_item_scores"]) in upstream(graph, mart)
    assert dg.AssetCheckKey(mart, "great_expectations") in graph.asset_check_keys
    assert mart in graph.get(dg.AssetKey(["published_warehouse"])).parent_keys
    # the mart's rows come from the asset, not from a dbt node of the same name
    nodes = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))["nodes"].values()
    assert not any(n["name"] == "driver_importance_quarterly" for n in nodes)


def test_the_dbt_resource_starts_without_running_dbt_or_loading_its_adapter(monkeypatch):
    """dagster-dbt learns the dbt version by running `dbt --version` once per run (a dbt start-up and a
    PyPI request: 6 s here) and builds dbt's adapter in-process (5-8 s: every macro loaded), used only
    by row-count / column metadata fetching; the pipeline's resource does neither."""

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran a subprocess: {args}")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    # what DbtResource overrides is still what dagster-dbt calls
    assert {"_cli_version", "_initialize_dbt_core_adapter"} <= set(vars(DbtCliResource))
    dbt = build_definitions().resources["dbt"]
    assert isinstance(dbt, DbtCliResource)
    assert Path(dbt.project_dir) == DBT_PROJECT_DIR
    assert dbt._cli_version == Version(importlib.metadata.version("dbt-core"))
    assert dbt._initialize_dbt_core_adapter(["build"]) is None
