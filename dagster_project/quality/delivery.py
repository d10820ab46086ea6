"""What the quality gate does about entities a deployment does not deliver.

A deployment delivers any non-empty subset of the contract's entities (config/deployment.yml;
raw.entity_delivery says which were ever delivered). The gate must not block on the others:

- the suite of a raw entity that was never delivered is skipped: it passes when the entity is not
  declared, and fails as a *warning* (never blocking) when the deployment file declares it;
- a mart suite whose upstream entities (from the dbt manifest) were not all delivered runs without
  its "at least one row" expectations, since the mart is legitimately empty or partial; a mart that
  does not exist at all while its sources are missing is skipped.

Both are recorded in the check's metadata (`delivery_status`, `not_delivered`, `skipped_expectations`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from dagster_project.quality.suites import SuiteSpec

ROW_COUNT = "expect_table_row_count_to_be_between"


@dataclass(frozen=True)
class EntityDelivery:
    entity: str
    is_declared: bool
    is_delivered: bool


def read_delivery(con: duckdb.DuckDBPyConnection) -> dict[str, EntityDelivery] | None:
    """Per contract entity: declared (deployment file) and delivered (a file was ingested, or the raw
    table holds rows), read live like raw.entity_delivery is written. None for a warehouse without
    the raw layer (everything then counts as delivered)."""
    from dagster_project.contract import ENTITIES
    from dagster_project.deployment import load_deployment

    declared = load_deployment().entities
    try:
        manifest = {r[0] for r in con.execute("select distinct entity from raw.load_manifest").fetchall()}
        result = {}
        for entity in ENTITIES:
            delivered = entity.name in manifest or bool(
                con.execute(f"select count(*) from (select 1 from raw.{entity.name} limit 1)").fetchone()[0]
            )
            result[entity.name] = EntityDelivery(entity.name, entity.name in declared, delivered)
    except duckdb.Error:
        return None
    return result


@cache
def _manifest_sources(manifest_path: str, mtime: float) -> dict[str, frozenset[str]]:
    """dbt model name -> the `raw` source tables it reads, directly or through other models."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    resolved: dict[str, frozenset[str]] = {}

    def upstream(unique_id: str, seen: frozenset[str] = frozenset()) -> frozenset[str]:
        if unique_id in resolved:
            return resolved[unique_id]
        node = nodes.get(unique_id)
        if node is None or unique_id in seen:
            return frozenset()
        if node.get("resource_type") == "source":
            result = frozenset([node["name"]]) if node.get("schema") == "raw" else frozenset()
        else:
            parents = (node.get("depends_on") or {}).get("nodes") or []
            result = frozenset().union(*(upstream(p, seen | {unique_id}) for p in parents))
        resolved[unique_id] = result
        return result

    return {
        node["name"]: upstream(uid)
        for uid, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") == "model"
    }


def model_sources(manifest_path: Path | None = None) -> dict[str, frozenset[str]]:
    """Upstream raw entities of every dbt model (empty when there is no manifest)."""
    if manifest_path is None:
        try:
            from dagster_project.assets.warehouse import dbt_project

            manifest_path = dbt_project.manifest_path
        except Exception:  # noqa: BLE001 - no dbt project: marts keep their full suites
            return {}
    path = Path(manifest_path)
    if not path.is_file():
        return {}
    return _manifest_sources(str(path), path.stat().st_mtime)


def suite_entities(suite: SuiteSpec, sources: dict[str, frozenset[str]]) -> frozenset[str]:
    """The raw entities a suite's data comes from: its own for a raw suite, the model's upstream."""
    if suite.is_raw:
        return frozenset([suite.asset[1]])
    return sources.get(suite.asset[-1], frozenset())


def without_row_minimums(suite: SuiteSpec) -> tuple[SuiteSpec, list[str]]:
    """The suite without expectations that need rows (row count >= 1); returns it and their labels."""
    dropped: list[str] = []
    batches = []
    for batch in suite.batches:
        kept = []
        for e in batch.expectations:
            if e.type == ROW_COUNT and (e.kwargs.get("min_value") or 0) >= 1:
                dropped.append(f"{batch.name}: {e.label} (min_value {e.kwargs['min_value']})")
            else:
                kept.append(e)
        if kept:
            batches.append(dataclasses.replace(batch, expectations=tuple(kept)))
    return dataclasses.replace(suite, batches=tuple(batches)), dropped


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute("select count(*) from information_schema.tables where table_name = ?", [name]).fetchone()[0]
    )


@dataclass(frozen=True)
class GatePlan:
    """What to do with a suite given what was delivered."""

    suite: SuiteSpec | None  # the suite to run; None: skip it
    status: str  # delivered | not delivered | partial sources
    reason: str = ""
    not_delivered: tuple[str, ...] = ()
    skipped_expectations: tuple[str, ...] = ()
    warn: bool = False  # skipped, but the deployment declared the entity: report as a warning


def plan_suite(
    con: duckdb.DuckDBPyConnection, suite: SuiteSpec, sources: dict[str, frozenset[str]] | None = None
) -> GatePlan:
    delivery = read_delivery(con)
    if delivery is None:
        return GatePlan(suite, "delivered")
    sources = model_sources() if sources is None else sources
    needed = suite_entities(suite, sources)
    missing = tuple(sorted(e for e in needed if e in delivery and not delivery[e].is_delivered))
    if not missing:
        return GatePlan(suite, "delivered")
    if suite.is_raw:
        entity = delivery[suite.asset[1]]
        if entity.is_declared:
            reason = (
                f"{entity.entity} is declared in the deployment file but no file has ever been delivered: its "
                "checks were skipped (not blocking). Deliver it, or remove it from `entities` in the deployment file."
            )
        else:
            reason = f"{entity.entity} is not delivered (not declared in the deployment file): its checks were skipped."
        return GatePlan(None, "not delivered", reason, missing, warn=entity.is_declared)
    model = suite.asset[-1]
    if not table_exists(con, model):
        reason = f"{model} does not exist and its sources {', '.join(missing)} were not delivered: skipped."
        return GatePlan(None, "not delivered", reason, missing)
    relaxed, dropped = without_row_minimums(suite)
    reason = (
        f"sources not delivered: {', '.join(missing)}; {model} may be empty or partial, so its row-count "
        "minimums were skipped and every other expectation ran."
    )
    return GatePlan(relaxed if relaxed.batches else None, "partial sources", reason, missing, tuple(dropped))
