"""The DuckDB warehouse file and the tables ingestion owns in its `raw` schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from dagster_project import settings
from dagster_project.contract import ENTITIES, Entity
from dagster_project.ingestion.history import ensure_history
from dagster_project.privacy.pseudonyms import create_privacy_tables
from dagster_project.publication.layout import MART_SCHEMA
from dagster_project.run_lock import PRIVATE_FILE_MODE
from dagster_project.sql_text import literal, quote

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
    loaded_at timestamp not null,
    -- the file's rows the mapping declares no records of the entity (rows describing the columns, a
    -- footer, rows outside its `where`): its non-blank rows under the header are rows_delivered +
    -- rows_left_out
    rows_left_out bigint not null default 0
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


# Rows of an immutable entity (survey answers) that a later delivery changed: per earlier file, how
# many of its rows the later file delivered again with other values (ingestion/revisions.py).
_REVISED_ROWS_DDL = f"""
create table if not exists {RAW_SCHEMA}.revised_rows (
    entity varchar not null,
    file_sha256 varchar not null,
    revised_by_sha256 varchar not null,
    rows_revised bigint not null,
    revised_at timestamp not null
)
"""

_DELIVERED_COLUMNS_DDL = f"""
create table if not exists {RAW_SCHEMA}.delivered_columns (
    entity varchar not null,
    column_name varchar not null
)
"""

_ENTITY_DELIVERY_DDL = f"""
create table if not exists {RAW_SCHEMA}.entity_delivery (
    entity varchar not null,
    source varchar not null,
    is_declared boolean not null,
    is_delivered boolean not null,
    rows_loaded bigint not null,
    first_loaded_at timestamp,
    last_loaded_at timestamp
)
"""

# A landing file's checksum with the identity of the file that gave it (ingestion/checksums.py).
FILE_CHECKSUMS_TABLE = f"{RAW_SCHEMA}.file_checksums"
_FILE_CHECKSUMS_DDL = f"""
create table if not exists {FILE_CHECKSUMS_TABLE} (
    entity varchar not null,
    path varchar not null,
    file_identity varchar not null,
    file_sha256 varchar not null,
    recorded_at timestamp not null
)
"""


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating the file and the raw tables if needed), in UTC, within
    CSAT_DUCKDB_MEMORY_LIMIT, with its marts file attached (attach_marts)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only, config=settings.duckdb_config())
    con.execute("set TimeZone = 'UTC'")
    if not read_only:
        create_raw_tables(con)
    attach_marts(con, path, read_only=read_only)
    return con


def attach_marts(con: duckdb.DuckDBPyConnection, warehouse: str | Path, *, read_only: bool = False) -> None:
    """Attach the warehouse's marts file (settings.marts_path), where dbt builds the marts, and let
    `marts.<mart>` name its tables as before: DuckDB finds a schema of another catalog through the
    search path. Read-only, a marts file not written yet is not attached (no build has made marts).
    Read-write, a `marts` schema left in the warehouse itself by an earlier version is dropped first:
    it would make `marts.<mart>` ambiguous, and the build after an upgrade rebuilds every mart anyway
    (a changed project is a full refresh: build_state.py)."""
    path = settings.marts_path(warehouse)
    if read_only and not path.is_file():
        return
    if not read_only:
        [(catalog,)] = con.execute("select current_database()").fetchall()
        con.execute(f"drop schema if exists {quote(catalog)}.{MART_SCHEMA} cascade")
    created = not path.exists()
    mode = " (read_only)" if read_only else ""
    con.execute(f"attach if not exists {literal(str(path))} as {settings.MARTS_CATALOG}{mode}")
    if not read_only:
        if created:  # owner-only like the warehouse (run_lock.py), whatever the umask
            os.chmod(path, PRIVATE_FILE_MODE)
        con.execute(f"create schema if not exists {settings.MARTS_CATALOG}.{MART_SCHEMA}")
    con.execute(f"set search_path = 'main,{settings.MARTS_CATALOG}.{MART_SCHEMA}'")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: commit when the block ends, roll back when it raises."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def raw_table_ddl(entity: Entity) -> str:
    columns = [f'"{c.name}" {c.duckdb_type}' for c in entity.columns]
    columns += [f"{name} {sql_type}" for name, sql_type in METADATA_COLUMNS.items()]
    body = ",\n    ".join(columns)
    return f"create table if not exists {RAW_SCHEMA}.{entity.name} (\n    {body}\n)"


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(_MANIFEST_DDL)
    con.execute(_REJECTS_DDL)
    con.execute(_REVISED_ROWS_DDL)
    con.execute(_DELIVERED_COLUMNS_DDL)
    con.execute(_ENTITY_DELIVERY_DDL)
    con.execute(_FILE_CHECKSUMS_DDL)
    for entity in ENTITIES:
        con.execute(raw_table_ddl(entity))
    # A table created by an older contract gains the contract's new (optional) columns. One catalog
    # query for all tables (information_schema per table: 15 ms of every connection).
    existing = set(
        con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where database_name = current_database() and schema_name = ?",
            [RAW_SCHEMA],
        ).fetchall()
    )
    for entity in ENTITIES:
        for column in entity.columns:
            if (entity.name, column.name) not in existing:
                con.execute(f'alter table {RAW_SCHEMA}.{entity.name} add column "{column.name}" {column.duckdb_type}')
    if ("load_manifest", "rows_left_out") not in existing:  # a manifest written before layout rows were counted
        con.execute(f"alter table {RAW_SCHEMA}.load_manifest add column rows_left_out bigint not null default 0")
    create_privacy_tables(con)  # pseudonyms, erased rows, rows changed in place (dagster_project/privacy)
    ensure_history(con)  # every delivered version of a customer (ingestion/history.py)
    backfill_delivered_columns(con)
    refresh_entity_delivery(con)


def backfill_delivered_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Record the delivered columns of raw tables that hold rows but have none recorded: tables loaded
    before ingestion recorded deliveries (an upgraded warehouse) or written otherwise. A contract
    column holding any value counts as delivered. Loading records them per file, so this scans a
    table at most once; the dbt models rely on raw.delivered_columns alone."""
    recorded = {r[0] for r in con.execute(f"select distinct entity from {RAW_SCHEMA}.delivered_columns").fetchall()}
    for entity in ENTITIES:
        if entity.name in recorded:
            continue
        counts = con.execute(
            "select " + ", ".join(f'count("{c.name}")' for c in entity.columns) + f" from {RAW_SCHEMA}.{entity.name}"
        ).fetchone()
        delivered = [(entity.name, c.name) for c, count in zip(entity.columns, counts, strict=True) if count]
        if delivered:
            con.executemany(f"insert into {RAW_SCHEMA}.delivered_columns values (?, ?)", delivered)


def refresh_entity_delivery(con: duckdb.DuckDBPyConnection, declared: tuple[str, ...] | None = None) -> None:
    """Bring raw.entity_delivery up to date: per contract entity, declared (deployment file),
    delivered (a file was ever ingested, or the raw table holds rows written otherwise), the rows it
    holds now and when its files were loaded. `declared` defaults to the deployment's. Written only
    when it changed: every connection and every entity's ingestion calls this, and a write makes
    the connection's close write a checkpoint (about 20 ms each at 1M responses)."""
    if declared is None:
        from dagster_project.deployment import load_deployment

        declared = load_deployment().entities
    values = ", ".join(
        f"('{e.name}', '{e.source}', {str(e.name in declared).lower()}, (select count(*) from {RAW_SCHEMA}.{e.name}))"
        for e in ENTITIES
    )
    current = f"""
        select e.entity, e.source, e.is_declared, m.entity is not null or e.rows_loaded > 0, e.rows_loaded,
            m.first_loaded_at, m.last_loaded_at
        from (values {values}) as e (entity, source, is_declared, rows_loaded)
        left join (
            select entity, min(loaded_at) as first_loaded_at,
                max(loaded_at) as last_loaded_at
            from {RAW_SCHEMA}.load_manifest group by entity
        ) as m on m.entity = e.entity
    """
    stored = (
        f"select entity, source, is_declared, is_delivered, rows_loaded, first_loaded_at, last_loaded_at "
        f"from {RAW_SCHEMA}.entity_delivery"
    )
    differs = f"select exists (({current}) except all ({stored}) union all (({stored}) except all ({current})))"
    # fetched to the end: a result left open blocks the connection's next `register` (DuckDB 2.0)
    [(changed,)] = con.execute(differs).fetchall()
    if not changed:
        return
    con.execute(f"delete from {RAW_SCHEMA}.entity_delivery")
    con.execute(f"insert into {RAW_SCHEMA}.entity_delivery {current} order by e.entity")
