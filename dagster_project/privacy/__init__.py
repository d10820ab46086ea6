"""Customers' personal data: keyed pseudonyms, the erasure register, `csat forget`, retention.

Ingestion calls after_load() once per entity, after its files are committed. See SECURITY.md.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project import settings
from dagster_project.contract import Entity
from dagster_project.privacy import erasure
from dagster_project.privacy.keys import load_keys
from dagster_project.privacy.pseudonyms import (
    install_keys,
    record_privacy_changes,
    refresh_customer_pseudonyms,
    rows_under_another_key,
)
from dagster_project.privacy.register import RegisterEntry, append_register, now_utc, read_register
from dagster_project.privacy.retention import apply_retention

LEGACY_SNAPSHOT_COLUMNS = ("email_hash", "phone_hash")  # unkeyed md5 of e-mail and phone (before HMAC)


def database_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    return Path(row[0]) if row and row[0] else None


def register_path(con: duckdb.DuckDBPyConnection) -> Path:
    return settings.erasure_register_path(database_path(con))


def scrub_legacy_snapshot(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> None:
    """Drop the md5 e-mail/phone hashes that snapshots written before the keyed pseudonyms hold."""
    catalog = catalog or con.execute("select current_database()").fetchone()[0]
    for (schema, table), columns in erasure.base_tables(con, catalog).items():
        if schema == "snapshots":
            for column in LEGACY_SNAPSHOT_COLUMNS:
                if column in columns:
                    con.execute(f'alter table "{catalog}"."{schema}"."{table}" drop column {column}')


def apply_register(con: duckdb.DuckDBPyConnection, entries: list[RegisterEntry], path: Path) -> dict[str, int]:
    """Remove the registered customers from the working warehouse again (after a re-delivery or a
    rebuild); registers the survey responses of theirs found on the way. Keys must be installed.
    The marts, in a file of their own, follow in their own transaction (erase_registered_from_marts)."""
    catalog = con.execute("select current_database()").fetchone()[0]
    erasure.create_erase_tables(con)
    erasure.load_register(con, entries)
    erasure.match_register(con, catalog)
    erasure.collect_from_raw(con, catalog)
    known = {(e.kind, e.pseudonym) for e in entries}
    keys = load_keys()
    new_responses = [
        RegisterEntry("response", keys.current.pseudonym(r), keys.current.fingerprint, now_utc())
        for (r,) in con.execute(f"select response_id from {erasure.RESPONSES}").fetchall()
        if ("response", keys.current.pseudonym(r)) not in known
    ]
    counts = erasure.erase_in_catalog(con, catalog)
    append_register(path, new_responses)
    return counts


def after_load(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """After an entity's files are loaded: pseudonyms of new customer rows, the erasure register,
    retention. One transaction; needs the key only when there is something to pseudonymise or erase."""
    path = register_path(con)
    entries = read_register(path)
    days = settings.personal_data_retention_days()
    if entity.name != "customers" and not entries and days is None:
        return
    con.begin()
    try:
        changes: dict[str, int] = {}  # raw rows changed in place, for the next build's scope
        if entity.name == "customers" or entries:
            install_keys(con, load_keys())
        if entity.name == "customers":
            changes["pseudonym key rotated"] = rows_under_another_key(con, load_keys())
            refresh_customer_pseudonyms(con, load_keys())
            scrub_legacy_snapshot(con)
        if entries:
            erased = apply_register(con, entries, path)
            changes["erasure applied again"] = sum(n for table, n in erased.items() if table.startswith("raw."))
        if days is not None:
            blanked = apply_retention(con, days)  # rejected rows too, which no model reads
            changes["retention"] = sum(n for table, n in blanked.items() if not table.startswith("raw.load_rejects"))
        record_privacy_changes(con, changes)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    if entries:
        erase_registered_from_marts(con)


def erase_registered_from_marts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Remove the customers of the erase tables (apply_register filled them) from the warehouse's
    marts file (settings.marts_path, attached by ingestion/warehouse.connect), in a transaction of its
    own: DuckDB writes one attached database per transaction. It runs after the raw rows' transaction
    committed; should it fail, the next load runs it again, as the register still names them. A
    connection without the marts file attached has no marts to erase."""
    attached = con.execute(
        "select count(*) from duckdb_databases() where database_name = ?", [settings.MARTS_CATALOG]
    ).fetchone()[0]
    if not attached:
        return {}
    con.begin()
    try:
        counts = erasure.erase_in_catalog(con, settings.MARTS_CATALOG)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts
