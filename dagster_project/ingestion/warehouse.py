"""The DuckDB warehouse file and the tables ingestion owns in its `raw` schema."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project import settings
from dagster_project.contract import ENTITIES, Entity
from dagster_project.privacy.pseudonyms import create_pseudonym_table

RAW_SCHEMA = "raw"
METADATA_COLUMNS = {
    "_extra": "JSON",  # columns the delivery carried beyond the contract
    "_source_file": "VARCHAR",
    "_row_number": "BIGINT",
    "_file_sha256": "VARCHAR",
    "_loaded_at": "TIMESTAMP",
}

_MANIFEST_DDL = f"""
create table if not exists {RAW_SCHEMA}.load_manifest (
    entity varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    file_format varchar not null,
    file_encoding varchar,
    file_bytes bigint,
    rows_delivered bigint not null,
    rows_loaded bigint not null,
    rows_rejected bigint not null,
    loaded_at timestamp not null
)
"""

_REJECTS_DDL = f"""
create table if not exists {RAW_SCHEMA}.load_rejects (
    entity varchar not null,
    source_file varchar not null,
    row_number bigint,
    rule varchar not null,
    column_name varchar,
    reason varchar not null,
    raw_values json,
    file_sha256 varchar not null,
    rejected_at timestamp not null
)
"""


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating the file and the raw tables if needed), in UTC, within CSAT_DUCKDB_MEMORY_LIMIT."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only, config=settings.duckdb_config())
    con.execute("set TimeZone = 'UTC'")
    if not read_only:
        create_raw_tables(con)
    return con


def raw_table_ddl(entity: Entity) -> str:
    columns = [f'"{c.name}" {c.duckdb_type}' for c in entity.columns]
    columns += [f"{name} {sql_type}" for name, sql_type in METADATA_COLUMNS.items()]
    body = ",\n    ".join(columns)
    return f"create table if not exists {RAW_SCHEMA}.{entity.name} (\n    {body}\n)"


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(_MANIFEST_DDL)
    con.execute(_REJECTS_DDL)
    for entity in ENTITIES:
        con.execute(raw_table_ddl(entity))
    create_pseudonym_table(con)  # keyed pseudonyms of e-mails and phones (dagster_project/privacy)
