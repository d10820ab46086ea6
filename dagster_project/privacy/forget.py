"""`csat forget`: erase customers from every copy the warehouse keeps, and register the erasure.

Order: (1) the erasure register first (pseudonymised ids; so a failure half-way is completed by the
next ingestion or `csat forget`, and nothing brings them back), (2) the working warehouse, its marts
file and `<warehouse>.previous` (raw rows, rejected rows, pseudonyms, snapshots, marts), (3) the published
DuckDB copy (and the file the last publication replaced, removed) and Parquet files, (4) the
PostgreSQL publication when configured, (5) the counts are recorded in the register. Each DuckDB
file is then rewritten (COPY FROM DATABASE into a new file, swapped in), so deleted rows do not
linger in free blocks of the old file. Aggregated marts (KPIs) are recomputed by the next pipeline
run (`csat forget` starts one unless --no-run). Landing files are the delivering system's: they are
not touched (see SECURITY.md).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import build_state, settings
from dagster_project.ingestion.warehouse import connect
from dagster_project.privacy import erase_registered_from_marts, erasure, scrub_legacy_snapshot
from dagster_project.privacy.keys import KeyRing, load_keys
from dagster_project.privacy.pseudonyms import install_keys
from dagster_project.privacy.register import RegisterEntry, append_register, now_utc, read_register
from dagster_project.publication.layout import DATABASE_FILE, MONTH_CONTENTS, PARQUET_DIR, REPLACED_FILE

ID_COLUMNS = {"customer_id": erasure.CUSTOMERS, "response_id": erasure.RESPONSES, "customer_key": erasure.KEYS}


@dataclass
class ForgetReport:
    customers: int
    register: Path
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # store -> table -> rows removed

    @property
    def total(self) -> int:
        return sum(n for tables in self.counts.values() for n in tables.values())


def read_ids(values: Iterable[str], files: Iterable[Path] = ()) -> list[str]:
    """Customer ids from the command line and from files (one per line; `#` starts a comment)."""
    ids = [v.strip() for v in values]
    for path in files:
        with open(path, encoding="utf-8") as f:
            ids += [line.split("#", 1)[0].strip() for line in f]
    return sorted({i for i in ids if i})


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _rewrite(path: Path, mode: int | None = None) -> None:
    """Copy the database into a new file and swap it in: the old file's free blocks go with it."""
    fresh = path.with_name(f".{path.name}.forget.tmp")
    for stale in (fresh, Path(f"{fresh}.wal")):
        stale.unlink(missing_ok=True)
    with duckdb.connect() as con:
        con.execute(f"attach {_lit(str(path))} as old (read_only)")
        con.execute(f"attach {_lit(str(fresh))} as fresh")
        con.execute("copy from database old to fresh")
        con.execute("detach fresh")
        con.execute("detach old")
    os.chmod(fresh, mode if mode is not None else (path.stat().st_mode & 0o777))
    os.replace(fresh, path)


def _erase_tables_values(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    return {
        table: [r[0] for r in con.execute(f"select * from {table}").fetchall()]
        for table in (erasure.CUSTOMERS, erasure.RESPONSES, erasure.CONTACTS, erasure.KEYS)
    }


def _fill(con: duckdb.DuckDBPyConnection, values: dict[str, list[str]]) -> None:
    erasure.create_erase_tables(con)
    for table, rows in values.items():
        if rows:
            con.executemany(f"insert or ignore into {table} values (?)", [[r] for r in rows])


def _erase_published_database(path: Path, values: dict[str, list[str]]) -> dict[str, int]:
    work = path.with_name(f".{path.name}.forget-work.tmp")
    shutil.copyfile(path, work)
    os.chmod(work, 0o600)
    try:
        with duckdb.connect(str(work)) as con:
            _fill(con, values)
            catalog = con.execute("select current_database()").fetchone()[0]
            counts = erasure.erase_in_catalog(con, catalog)
            # The publication's record of each month's content would describe rows no longer there:
            # without it, the next publication reads the copy itself (publication/mart_changes.py).
            con.execute(f"drop table if exists {MONTH_CONTENTS}")
            con.execute("checkpoint")
        _rewrite(work, 0o444)
        os.replace(work, path)
    finally:
        work.unlink(missing_ok=True)
    return counts


def _erase_parquet(parquet_dir: Path, values: dict[str, list[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with duckdb.connect() as con:
        _fill(con, values)
        # every published file: a mart's, and each month's file of a fact (publication/month_files.py);
        # not a publication's temporary folder (`.tmp-...`, under way or left by a killed one)
        for path in sorted(p for p in parquet_dir.rglob("*.parquet") if not _hidden(p, parquet_dir)):
            source = f"read_parquet({_lit(str(path))})"
            columns = {r[0].lower() for r in con.execute(f"describe select * from {source}").fetchall()}
            conditions = [
                f"trim(cast({c} as varchar)) in (select * from {t})" for c, t in ID_COLUMNS.items() if c in columns
            ]
            if not conditions:
                continue
            where = " or ".join(conditions)
            n = con.execute(f"select count(*) from {source} where {where}").fetchone()[0]
            if not n:
                continue
            fresh = path.with_name(f".{path.name}.forget.tmp")
            con.execute(f"copy (select * from {source} where not ({where})) to {_lit(str(fresh))} (format parquet)")
            os.chmod(fresh, path.stat().st_mode & 0o777)
            os.replace(fresh, path)
            counts[path.relative_to(parquet_dir).as_posix()] = int(n)
    return counts


def _hidden(path: Path, root: Path) -> bool:
    """Whether `path` lies in a folder (or is a file) under `root` whose name starts with a dot."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _erase_postgres(url: str, schema: str, values: dict[str, list[str]]) -> dict[str, int]:
    import psycopg
    from psycopg import sql

    from dagster_project.publication.postgres import libpq_url

    counts: dict[str, int] = {}
    with psycopg.connect(libpq_url(url)) as pg, pg.cursor() as cur:
        cur.execute(
            "select table_name, lower(column_name) from information_schema.columns "
            "where table_schema = %s and lower(column_name) = any(%s)",
            [schema, list(ID_COLUMNS)],
        )
        tables: dict[str, list[str]] = {}
        for table, column in cur.fetchall():
            tables.setdefault(table, []).append(column)
        for table, columns in sorted(tables.items()):
            conditions = sql.SQL(" or ").join(
                sql.SQL("trim(cast({} as text)) = any(%s)").format(sql.Identifier(c)) for c in columns
            )
            cur.execute(
                sql.SQL("delete from {}.{} where ").format(sql.Identifier(schema), sql.Identifier(table)) + conditions,
                [values[ID_COLUMNS[c]] for c in columns],
            )
            if cur.rowcount:
                counts[f"{schema}.{table}"] = cur.rowcount
    return counts


def forget(
    customer_ids: list[str],
    *,
    warehouse: Path,
    published_dir: Path,
    postgres_url: str | None = None,
    postgres_schema: str = "marts",
    keys: KeyRing | None = None,
) -> ForgetReport:
    """Erase `customer_ids` from every store; returns what was removed where."""
    if not customer_ids:
        raise ValueError("no customer ids to forget")
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: nothing to forget from (set --warehouse)")
    keys = keys or load_keys()
    path = settings.erasure_register_path(warehouse)
    existing = read_register(path)
    known = {(e.kind, e.pseudonym) for e in existing}
    at = now_utc()
    key = keys.current
    append_register(
        path,
        [
            RegisterEntry("customer", key.pseudonym(i), key.fingerprint, at)
            for i in customer_ids
            if ("customer", key.pseudonym(i)) not in known
        ],
    )
    report = ForgetReport(customers=len(customer_ids), register=path)
    previous = warehouse.with_name(f"{warehouse.name}.previous")
    with connect(warehouse) as con:
        install_keys(con, keys)
        erasure.create_erase_tables(con)
        con.executemany(f"insert or ignore into {erasure.CUSTOMERS} values (?)", [[i] for i in customer_ids])
        erasure.load_register(con, existing)
        catalogs = [con.execute("select current_database()").fetchone()[0]]
        if previous.exists():
            con.execute(f"attach {_lit(str(previous))} as previous")
            catalogs.append("previous")
        for catalog in catalogs:
            erasure.match_register(con, catalog)
            erasure.collect_from_raw(con, catalog)
        # dim_customer is in the marts file: its versions' keys, before any table keyed by them is erased
        erasure.collect_customer_keys(con, settings.MARTS_CATALOG)
        for catalog, store in zip(catalogs, ("warehouse", "warehouse.previous"), strict=False):
            con.begin()  # one transaction per file: DuckDB writes one attached database per transaction
            report.counts[store] = erasure.erase_in_catalog(con, catalog)
            # KPIs and other aggregates are recomputed from the erased facts: every month, not just the
            # months an incremental build would touch.
            build_state.forget(con, catalog)
            scrub_legacy_snapshot(con, catalog)
            con.commit()
        report.counts["warehouse marts"] = erase_registered_from_marts(con)  # the marts file's own transaction
        values = _erase_tables_values(con)
        if previous.exists():
            con.execute("detach previous")
        responses = values[erasure.RESPONSES]
    known |= {("customer", key.pseudonym(i)) for i in customer_ids}
    append_register(
        path,
        [
            RegisterEntry("response", key.pseudonym(r), key.fingerprint, at)
            for r in responses
            if ("response", key.pseudonym(r)) not in known
        ],
    )
    _rewrite(warehouse)
    _rewrite(settings.marts_path(warehouse))
    if previous.exists():
        _rewrite(previous)
    # The file the last publication replaced, kept for the next one to start from, holds the
    # customer too: removed (the next publication copies the published file instead).
    (published_dir / REPLACED_FILE).unlink(missing_ok=True)
    published_db = published_dir / DATABASE_FILE
    if published_db.exists():
        report.counts[f"published {DATABASE_FILE}"] = _erase_published_database(published_db, values)
    if (published_dir / PARQUET_DIR).is_dir():
        report.counts[f"published {PARQUET_DIR}"] = _erase_parquet(published_dir / PARQUET_DIR, values)
    if postgres_url:
        report.counts["postgresql"] = _erase_postgres(postgres_url, postgres_schema, values)
    _record_counts(path, {key.pseudonym(i) for i in customer_ids}, at, report.counts)
    return report


def _record_counts(path: Path, pseudonyms: set[str], at: str, counts: dict[str, dict[str, int]]) -> None:
    """Write the rows removed into this operation's register entries (rewrite + atomic swap)."""
    flat = {f"{store}: {table}": n for store, tables in counts.items() for table, n in tables.items()}
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line) if line.strip() else None
        if data and data["kind"] == "customer" and data["pseudonym"] in pseudonyms and data["erased_at"] == at:
            data["counts"] = flat
        if data:
            lines.append(json.dumps(data, sort_keys=True))
    fresh = path.with_name(f".{path.name}.tmp")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(fresh, path)
