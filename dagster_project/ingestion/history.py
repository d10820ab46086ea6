"""`raw.customers_history`: every delivered version of a CRM customer, append-only.

`raw.customers` holds the latest delivery of each customer (a later delivery replaces the row), so
it cannot say what a customer looked like before. The history table keeps each version a delivery
brought, in delivery order, so that dbt derives `dim_customer`'s type 2 history in portable SQL
(`int_customers_history`) on any engine instead of a dbt snapshot, and a rebuild from the landing
files restores that history. It holds the customer's non-personal contract columns only (no names,
e-mails, phones or birth dates: nothing for retention to blank, and erasure deletes by
`customer_id` as in every table).

- Written by ingestion in the transaction that replaces the raw rows (`record_versions`): every
  kept row of every file of the batch, in file order, unless it equals the customer's previous
  version (the latest recorded one, or the previous file of the batch), so re-delivering an
  unchanged customer (a full CRM export every day) adds nothing.
- `_delivery_seq` orders the versions: files in delivery order, increasing across loads (files of
  one batch share a load time, so `_loaded_at` cannot order them).
- A warehouse whose history is empty while raw.customers is not (an upgrade, or raw rows written
  by other means) is backfilled once (`backfill`): the versions of the former dbt snapshot
  `snapshots.snap_crm__customers` when it exists (then dropped: the history has one home), then
  the current raw rows.
"""

from __future__ import annotations

import duckdb

from dagster_project.contract import CUSTOMERS
from dagster_project.sql_text import quote

HISTORY_TABLE = "raw.customers_history"
LEGACY_SNAPSHOT = "snapshots.snap_crm__customers"

# The columns a version is made of: the customer's contract columns without personal data.
TRACKED_COLUMNS: tuple[str, ...] = tuple(c.name for c in CUSTOMERS.columns if not c.personal)
_TYPES = {c.name: c.duckdb_type for c in CUSTOMERS.columns}
METADATA = {
    "_source_file": "VARCHAR",
    "_row_number": "BIGINT",
    "_file_sha256": "VARCHAR",
    "_loaded_at": "TIMESTAMP",
    "_delivery_seq": "BIGINT not null",
}


def _columns() -> str:
    return ", ".join(quote(c) for c in TRACKED_COLUMNS)


def ensure_history(con: duckdb.DuckDBPyConnection) -> None:
    """Create the history table if missing, and backfill it while it is empty but raw.customers is
    not (an upgraded warehouse, or raw rows written by other means than ingestion)."""
    con.execute(f"create table if not exists {HISTORY_TABLE} (\n    {_ddl_body()}\n)")
    if con.execute(f"select count(*) from (select 1 from {HISTORY_TABLE} limit 1)").fetchone()[0]:
        return
    if con.execute("select count(*) from (select 1 from raw.customers limit 1)").fetchone()[0]:
        backfill(con)


def _ddl_body() -> str:
    return ",\n    ".join(
        [*(f"{quote(c)} {_TYPES[c]}" for c in TRACKED_COLUMNS), *(f"{n} {t}" for n, t in METADATA.items())]
    )


def record_versions(con: duckdb.DuckDBPyConnection, checked_table: str, files_table: str) -> None:
    """Append the kept customer rows of a batch being loaded (in the caller's transaction): one
    version per file in which a customer differs from its previous version."""
    columns = _columns()
    distinct = " or ".join(f"{quote(c)} is distinct from lag({quote(c)}) over w" for c in TRACKED_COLUMNS)
    con.execute(
        f"""
        insert into {HISTORY_TABLE} ({columns}, {", ".join(METADATA)})
        with delivered as (
            select {", ".join(f"c.{quote(col)}" for col in TRACKED_COLUMNS)}, b.source_label, c._row_number,
                b.file_sha256, c._file_index
            from {checked_table} as c
            inner join {files_table} as b on b.file_index = c._file_index
            where c._keep
        ),
        base as (select coalesce(max(_delivery_seq), 0) as seq from {HISTORY_TABLE}),
        previous as (
            select {columns}, -1 as _file_index, true as _recorded
            from {HISTORY_TABLE}
            where customer_id in (select customer_id from delivered)
            qualify row_number() over (partition by customer_id order by _delivery_seq desc) = 1
        ),
        sequenced as (
            select {columns}, _file_index, false as _recorded, source_label, _row_number, file_sha256
            from delivered
            union all by name
            select * from previous
        ),
        compared as (
            select *, lag(customer_id) over w is null or {distinct} as _changed
            from sequenced
            window w as (partition by customer_id order by _file_index)
        )
        select {columns}, source_label, _row_number, file_sha256, cast(current_timestamp as timestamp),
            (select seq from base) + _file_index + 1
        from compared
        where _changed and not _recorded
        """
    )


def backfill(con: duckdb.DuckDBPyConnection) -> None:
    """Fill a new history table from what the warehouse already knows: the versions the former dbt
    snapshot recorded (if any; the snapshot table is dropped after), then the current raw rows,
    which `int_customers_history` takes as a new version only when they are newer."""
    columns = _columns()
    seq = 0
    snapshot = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'snapshots' and table_name = 'snap_crm__customers'"
    ).fetchone()[0]
    if snapshot:
        # The snapshot held staged values (trimmed, lower-cased, updated_at with its fallbacks):
        # staging them again changes nothing, and its updated_at is never NULL.
        con.execute(
            f"""
            insert into {HISTORY_TABLE} ({columns}, {", ".join(METADATA)})
            select {columns}, '{LEGACY_SNAPSHOT}', null, null, cast(dbt_valid_from as timestamp),
                row_number() over (order by dbt_valid_from, customer_id)
            from {LEGACY_SNAPSHOT}
            """
        )
        seq = con.execute(f"select coalesce(max(_delivery_seq), 0) from {HISTORY_TABLE}").fetchone()[0]
        con.execute(f"drop table {LEGACY_SNAPSHOT}")
        if not con.execute(
            "select count(*) from information_schema.tables where table_schema = 'snapshots'"
        ).fetchone()[0]:
            con.execute("drop schema if exists snapshots")
    con.execute(
        f"""
        insert into {HISTORY_TABLE} ({columns}, {", ".join(METADATA)})
        select {columns}, _source_file, _row_number, _file_sha256, _loaded_at, {int(seq) + 1}
        from raw.customers
        """
    )


def carry_over(con: duckdb.DuckDBPyConnection, catalog: str) -> int:
    """Copy into this warehouse's (new, empty) history the versions of the warehouse attached as
    `catalog` that its landing files cannot give back: versions read from a CRM database and
    versions recorded before this table existed (the former snapshot's). Landing files are loaded
    again by the rebuild and record their versions again. Returns the rows copied."""
    tables = {
        (s, t)
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = ?", [catalog]
        ).fetchall()
    }
    columns = _columns()
    if ("raw", "customers_history") in tables:
        source = f"{catalog}.{HISTORY_TABLE}"
        select = (
            f"select {columns}, {', '.join(METADATA)} from {source} "
            "where _source_file like '%://%' or _file_sha256 is null"
        )
    elif ("snapshots", "snap_crm__customers") in tables:  # a warehouse from before this table
        select = (
            f"select {columns}, '{LEGACY_SNAPSHOT}', null, null, cast(dbt_valid_from as timestamp), "
            f"row_number() over (order by dbt_valid_from, customer_id) from {catalog}.{LEGACY_SNAPSHOT}"
        )
    else:
        return 0
    before = con.execute(f"select count(*) from {HISTORY_TABLE}").fetchone()[0]
    con.execute(f"insert into {HISTORY_TABLE} ({columns}, {', '.join(METADATA)}) {select}")
    return con.execute(f"select count(*) from {HISTORY_TABLE}").fetchone()[0] - before
