"""Small warehouses shaped like real deployments (issue 10), for the KPI / scorecard tests.

A fixture is a handful of landing rows per delivered entity. They go through the project's loader,
then `apply_delivery_interface` states what the deployment delivered (`raw.entity_delivery`,
`raw.delivered_columns`, which ingestion otherwise records itself), so a test names exactly the
entities and columns its KPIs may use. Then dbt builds seeds and models, with an optional seeds
folder (CSAT_DBT_SEED_PATH) and dbt vars (reporting_time_zone).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import duckdb

from dagster_project import settings

import kpi_reference as ref

# New optional contract columns ingestion adds (name -> DuckDB type), per entity.
SOURCES = {
    "survey_responses": "survey",
    "survey_item_scores": "survey",
    "tickets": "complaints",
    "customers": "crm",
    "orders": "crm",
    "stores": "crm",
    "employees": "crm",
    "subscriptions": "churn",
}


def write_landing(landing: Path, entity: str, rows: list[dict], name: str = "2024-01.csv") -> Path:
    """One CSV delivery of `entity` with every contract column (empty where a row has no value) and
    any further keys of the rows as extra columns."""
    from dagster_project.contract import ENTITIES_BY_NAME

    contract = [c.name for c in ENTITIES_BY_NAME[entity].columns]
    extra = sorted({k for r in rows for k in r} - set(contract))
    path = landing / SOURCES[entity] / entity / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=contract + extra)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def ingest(con: duckdb.DuckDBPyConnection, landing: Path, seeds_dir: Path) -> list[str]:
    """Every entity through the project's loader, item codes from `seeds_dir`."""
    from dagster_project.contract import ENTITIES
    from dagster_project.ingestion import loader

    allowed = loader.allowed_values_from_seeds(seeds_dir)
    errors: list[str] = []
    for entity in ENTITIES:
        report = loader.ingest_landing_entity(con, entity, landing, allowed=allowed.get(entity.name))
        errors += [f"{entity.name}: {e}" for e in report.errors]
    return errors


def apply_delivery_interface(con: duckdb.DuckDBPyConnection, delivered: dict[str, list[str]]) -> None:
    """What ingestion writes for a deployment: `delivered` maps each delivered entity to the contract
    columns its files carried (an entity not in it was never delivered)."""
    con.execute(
        "create or replace table raw.entity_delivery (entity varchar, source varchar, is_declared boolean,"
        " is_delivered boolean, rows_loaded bigint, first_loaded_at timestamp, last_loaded_at timestamp)"
    )
    for entity, source in SOURCES.items():
        rows = con.execute(f"select count(*), min(_loaded_at), max(_loaded_at) from raw.{entity}").fetchone()
        is_delivered = entity in delivered
        con.execute(
            "insert into raw.entity_delivery values (?, ?, ?, ?, ?, ?, ?)",
            [entity, source, is_delivered, is_delivered, rows[0], rows[1], rows[2]],
        )
    con.execute("create or replace table raw.delivered_columns (entity varchar, column_name varchar)")
    for entity, columns in delivered.items():
        for column in columns:
            con.execute("insert into raw.delivered_columns values (?, ?)", [entity, column])


def copy_seeds(target: Path, overrides: dict[str, list[dict]] | None = None) -> Path:
    """The repository's seeds folder copied to `target`, with some seeds replaced by rows."""
    shutil.copytree(ref.REPO_ROOT / "seeds", target)
    for name, rows in (overrides or {}).items():
        with (target / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return target


def build(
    root: Path,
    landing: Path,
    delivered: dict[str, list[str]],
    *,
    seeds_dir: Path | None = None,
    dbt_vars: dict | None = None,
    after_ingest=None,
) -> ref.BuiltWarehouse:
    """Landing -> loader -> delivery interface -> dbt seeds, snapshots and models (no dbt tests: fast)."""
    from dagster_project.ingestion.warehouse import connect

    seeds = seeds_dir or ref.REPO_ROOT / "seeds"
    warehouse_path = root / "warehouse" / "csat.duckdb"
    con = connect(warehouse_path)
    try:
        errors = ingest(con, landing, seeds)
        if after_ingest is not None:
            after_ingest(con)
        apply_delivery_interface(con, delivered)
        con.execute("checkpoint")
    finally:
        con.close()
    args = ["build", "--resource-type", "seed", "--resource-type", "snapshot", "--resource-type", "model"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    saved = os.environ.get("CSAT_DBT_SEED_PATH")
    if seeds_dir is not None:
        # relative to dbt_project/: dbt writes each seed's SQL to target/run/<seed path>, which for an
        # absolute seed path is the seed file itself
        os.environ["CSAT_DBT_SEED_PATH"] = os.path.relpath(seeds_dir, ref.DBT_PROJECT_DIR)
    try:
        dbt = ref.run_dbt(args, warehouse_path=warehouse_path, work_dir=root / "dbt")
    finally:
        if saved is None:
            os.environ.pop("CSAT_DBT_SEED_PATH", None)
        else:
            os.environ["CSAT_DBT_SEED_PATH"] = saved
    if dbt.success:
        ref.build_key_drivers(warehouse_path)
    return ref.BuiltWarehouse(root, landing, warehouse_path, root / "dbt" / "target", errors, dbt)


def query(built: ref.BuiltWarehouse, sql: str, params: list | None = None) -> list[dict]:
    # read-write like kpi_reference: in-process dbt may still hold the file with that configuration
    con = ref.open_warehouse(built)
    try:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    finally:
        con.close()


def warehouse_copy(built: ref.BuiltWarehouse, folder: Path) -> Path:
    """A copy of the warehouse's marts file (schema `marts`, as a published copy has) that the
    scorecard can open read-only (this process may hold the original open read-write through
    in-process dbt)."""
    with ref.open_warehouse(built) as con:
        con.execute(f"checkpoint {settings.MARTS_CATALOG}")
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "warehouse.duckdb"
    shutil.copy(settings.marts_path(built.warehouse_path), copy)
    return copy


def all_up(built: ref.BuiltWarehouse, kpi: str) -> dict:
    """kpi_monthly's all-up rows of one KPI: month -> row."""
    rows = query(
        built,
        "select * from marts.kpi_monthly where kpi = ? and segment = 'all' and region = 'all'"
        " and channel = 'all' and touchpoint = 'all' and category = 'all'"
        " and attribute_name = 'all' order by month_start_date",
        [kpi],
    )
    return {r["month_start_date"]: r for r in rows}
