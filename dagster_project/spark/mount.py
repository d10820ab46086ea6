"""Spark's output tables, readable in the working DuckDB under their usual `schema.table` names.

In Spark mode dbt writes every table (seeds, intermediate models, marts) as Parquet under Spark's
warehouse folder, `<spark dir>/warehouse/<schema>.db/<table>/`. After a successful build each one
becomes a DuckDB view over its files, so the quality gate, the key-driver asset, publication and the
scorecard read Spark's output with the same SQL as a DuckDB build, and publication copies it into
the published DuckDB file. dbt views (staging) are not mounted: nothing after dbt reads them.

A table without rows may have no Parquet file at all (dbt-spark creates an empty seed without
writing one): it is mounted as an empty view with the column types its YAML declares (a seed's
`column_types`, a model's contract), and is an error when those are not declared.

Types: Spark's `timestamp` is stored as an instant (DuckDB reads TIMESTAMP WITH TIME ZONE); the
warehouse keeps UTC wall-clock `timestamp`s, so those columns are converted back in UTC. Every other
Parquet type reads as the type the model's contract declares (Spark enforces the contracts too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.ingestion.warehouse import transaction
from dagster_project.publication.layout import MART_SCHEMA
from dagster_project.sql_text import literal, quote

SPARK_WAREHOUSE_DIR = "warehouse"  # spark.sql.warehouse.dir under the Spark folder (dbt profile `spark`)
TABLE_MATERIALIZATIONS = {"table", "incremental", "seed"}


@dataclass(frozen=True)
class SparkTable:
    schema: str
    name: str
    location: Path
    declared: tuple[tuple[str, str], ...] = ()  # (column, type) from the YAML, for a table without files


def _declared_columns(node: dict) -> tuple[tuple[str, str], ...]:
    if node["resource_type"] == "seed":
        return tuple((c, t) for c, t in (node["config"].get("column_types") or {}).items())
    columns = node.get("columns") or {}
    if columns and all(c.get("data_type") for c in columns.values()):
        return tuple((c["name"], c["data_type"]) for c in columns.values())
    return ()


def spark_tables(manifest_path: str | Path, spark_dir: str | Path) -> list[SparkTable]:
    """The tables a Spark build wrote, from the build's manifest (models and seeds materialized as
    tables), with the folder of each in Spark's warehouse."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    root = Path(spark_dir).resolve() / SPARK_WAREHOUSE_DIR
    tables = []
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        if node["resource_type"] == "model" and node["config"].get("materialized") not in TABLE_MATERIALIZATIONS:
            continue
        name = node.get("alias") or node["name"]
        location = root / f"{node['schema']}.db" / name
        tables.append(SparkTable(node["schema"], name, location, _declared_columns(node)))
    return sorted(tables, key=lambda t: (t.schema, t.name))


def mount_spark_tables(con: duckdb.DuckDBPyConnection, tables: list[SparkTable]) -> list[str]:
    """Create or replace one view per Spark table, in one transaction per database (the marts go into
    the warehouse's marts file, through the search path: ingestion/warehouse.attach_marts; DuckDB
    writes one attached database per transaction); returns the mounted names. A table with neither
    Parquet files nor declared columns is an error: dbt reported it built."""
    missing = [f"{t.schema}.{t.name}" for t in tables if not t.declared and not any(t.location.glob("*.parquet"))]
    if missing:
        raise FileNotFoundError(f"Spark tables without Parquet files under their folder: {', '.join(missing)}")
    for in_marts in (False, True):
        with transaction(con):
            for table in (t for t in tables if (t.schema == MART_SCHEMA) == in_marts):
                relation = f"{quote(table.schema)}.{quote(table.name)}"
                con.execute(f"create schema if not exists {quote(table.schema)}")
                existing = con.execute(
                    "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                    [table.schema, table.name],
                ).fetchone()
                if existing and existing[0] == "BASE TABLE":  # left by a DuckDB-mode build of this warehouse
                    con.execute(f"drop table {relation}")
                con.execute(f"create or replace view {relation} as {_select(con, table)}")
    return [f"{table.schema}.{table.name}" for table in tables]


def _select(con: duckdb.DuckDBPyConnection, table: SparkTable) -> str:
    """The view's query: the table's Parquet files, or no rows of its declared columns."""
    if not any(table.location.glob("*.parquet")):
        columns = ", ".join(f"cast(null as {sql_type}) as {quote(name)}" for name, sql_type in table.declared)
        return f"select {columns} where false"
    files = literal(str(table.location / "*.parquet"))
    described = con.execute(f"describe select * from read_parquet({files})").fetchall()
    columns = ", ".join(
        f"timezone('UTC', {quote(name)}) as {quote(name)}" if sql_type == "TIMESTAMP WITH TIME ZONE" else quote(name)
        for name, sql_type, *_ in described
    )
    return f"select {columns} from read_parquet({files})"
