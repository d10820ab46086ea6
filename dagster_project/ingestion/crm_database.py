"""The CRM read straight from a relational database: one CSV snapshot per table.

A snapshot is an ordinary delivery: the loader ingests it like a landed file, so every contract rule,
the rejects and replace-by-key apply unchanged. The bytes are deterministic for unchanged table
content (rows ordered by the entity key, then by the other contract columns), so re-reading an
unchanged database yields the same checksum and is recognised as the same delivery.

Values are written as the contract's file format expects: timestamps ISO 8601 (`timestamptz` in UTC
with `+00:00`, naive timestamps as stored), dates ISO, booleans `true`/`false`, NULL as an empty
field, numerics exactly as the database holds them. Contract columns come first in contract order,
then the table's other columns (the loader keeps them in `_extra`).

PostgreSQL is read with a server-side `COPY (select ...) TO STDOUT` streamed to the file; any other
SQLAlchemy database is streamed in batches through the csv module. Neither holds the table in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import filecmp
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from dagster_project.contract import CRM_ENTITIES, Entity
from dagster_project.ingestion.files import ContractError
from dagster_project.redaction import redact_url, scrub

__all__ = ["CrmDatabaseError", "redact_url", "snapshot_crm", "snapshot_label", "snapshot_table"]

FETCH_ROWS = 5_000  # rows per batch on the generic (non-PostgreSQL) path

# PostgreSQL type oids formatted in SQL rather than by COPY's defaults.
_PG_TIMESTAMPTZ = 1184
_PG_TIMESTAMP = 1114
_PG_BOOL = 16


class CrmDatabaseError(ContractError):
    """The CRM database cannot be snapshotted as the contract needs (missing table or columns)."""


def snapshot_label(url: str | URL, entity: Entity, *, schema: str | None = None) -> str:
    """How a snapshot names its origin (e.g. as the loader's source_label): redacted URL + table."""
    return f"{redact_url(url)}#{_table_name(entity, schema)}"


def snapshot_table(url: str | URL, entity: Entity, dest_dir: Path, *, schema: str | None = None) -> Path:
    """Write the whole table `entity.name` as one UTF-8 CSV with a header, ordered by the entity key.

    The file is `dest_dir/<entity>.csv`, written through a hidden temporary file and moved into place
    (left untouched when the bytes did not change). Raises CrmDatabaseError (a ValueError) when the
    table is missing or lacks contract columns.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # the parser's message may quote the URL: never chain it
        raise CrmDatabaseError(f"not a database URL: {redact_url(url)} ({scrub(str(exc), url)})") from None
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / f"{entity.name}.csv"
    # Hidden name: the landing folder's file discovery skips dot-files, so a half-written
    # snapshot is never picked up.
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{entity.name}.", suffix=".csv.part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            if parsed.get_backend_name() == "postgresql":
                _snapshot_postgres(parsed, entity, schema, tmp)
            else:
                _snapshot_generic(parsed, entity, schema, tmp)
        except CrmDatabaseError:
            raise
        except (psycopg.Error, sa.exc.SQLAlchemyError, OSError, ValueError) as exc:
            # A driver's message can quote the connection string: scrubbed, and not chained (Dagster
            # would show the original in the UI).
            message = scrub(f"{type(exc).__name__}: {exc}", url, parsed.password)
            raise CrmDatabaseError(f"CRM database {redact_url(url)}: {message}") from None
        if target.exists() and filecmp.cmp(tmp, target, shallow=False):
            tmp.unlink()
        else:
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def snapshot_crm(
    url: str | URL,
    dest_dir: Path,
    *,
    schema: str | None = None,
    entities: Iterable[Entity] = CRM_ENTITIES,
) -> dict[str, Path]:
    """Snapshot every CRM table (customers, orders, stores, employees): {entity name: csv path}."""
    return {e.name: snapshot_table(url, e, dest_dir, schema=schema) for e in entities}


# --- shared ---------------------------------------------------------------------------------------


def _table_name(entity: Entity, schema: str | None) -> str:
    return f"{schema}.{entity.name}" if schema else entity.name


def _missing_table(url: URL | str, entity: Entity, schema: str | None) -> CrmDatabaseError:
    where = f"schema {schema}" if schema else "the default schema"
    expected = ", ".join(e.name for e in CRM_ENTITIES)
    return CrmDatabaseError(
        f"CRM database {redact_url(url)}: table {_table_name(entity, schema)} not found (looked in {where}). "
        f"The CRM database needs a table or view per CRM entity, named {expected}, "
        "with the contract's columns (see SOURCES.md)."
    )


def _match_columns(entity: Entity, table_columns: list[str], where: str) -> list[tuple[str, str]]:
    """(database column, CSV header) pairs: the contract columns in contract order, then the rest.

    A contract column matches a table column of the same name, or else the only one equal to it
    ignoring case (some databases report upper-case names).
    """
    by_lower: dict[str, list[str]] = {}
    for name in table_columns:
        by_lower.setdefault(name.lower(), []).append(name)
    pairs: list[tuple[str, str]] = []
    missing: list[str] = []
    for name in entity.column_names:
        if name in table_columns:
            pairs.append((name, name))
        elif len(by_lower.get(name.lower(), [])) == 1:
            pairs.append((by_lower[name.lower()][0], name))
        else:
            missing.append(name)
    if missing:
        raise CrmDatabaseError(
            f"CRM database table {where} lacks contract column(s) of {entity.qualified_name}: "
            f"{', '.join(missing)}. Add them (they may be empty unless required) or point the "
            f"pipeline at a view that provides them; the table has: {', '.join(table_columns)}."
        )
    used = {db for db, _ in pairs}
    return pairs + [(c, c) for c in table_columns if c not in used]


def _order_columns(entity: Entity, pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Database columns to order by: the key, then the other contract columns as tie-breakers."""
    db_of = {header: db for db, header in pairs}
    key = [db_of[k] for k in entity.key]
    rest = [db_of[c] for c in entity.column_names if c not in entity.key]
    return key, rest


# --- PostgreSQL: COPY TO STDOUT -----------------------------------------------------------------


def _pg_connect_kwargs(url: URL) -> dict[str, str | int]:
    kwargs: dict[str, str | int] = {}
    for name, value in (
        ("host", url.host),
        ("port", url.port),
        ("user", url.username),
        ("password", url.password),
        ("dbname", url.database),
    ):
        if value is not None:
            kwargs[name] = value
    for name, value in url.query.items():  # libpq parameters: sslmode, options, host=/socket/dir ...
        kwargs[name] = value if isinstance(value, str) else ",".join(value)
    return kwargs


def _pg_expression(column: str, type_oid: int) -> sql.Composable:
    col = sql.SQL("t.{}").format(sql.Identifier(column))
    if type_oid in (_PG_TIMESTAMPTZ, _PG_TIMESTAMP):
        utc = sql.SQL("({} at time zone 'UTC')").format(col) if type_oid == _PG_TIMESTAMPTZ else col
        suffix = sql.SQL(" || '+00:00'") if type_oid == _PG_TIMESTAMPTZ else sql.SQL("")
        # ISO 8601 with a T; microseconds only when not zero (as Python's isoformat). Infinity and
        # years outside 1..9999 keep PostgreSQL's own text (the loader rejects them as bad timestamps).
        return sql.SQL(
            "case when isfinite({col}) and extract(year from {utc}) between 1 and 9999 "
            "then regexp_replace(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '[.]0{{6}}$', ''){suffix} "
            "else {col}::text end"
        ).format(col=col, utc=utc, suffix=suffix)
    if type_oid == _PG_BOOL:
        return sql.SQL("{}::text").format(col)  # true / false (COPY itself writes t / f)
    return col


_PG_COLUMNS = """
select a.attname,
       case when ty.typtype = 'd' then ty.typbasetype else a.atttypid end::int as type_oid,
       n.nspname,
       c.relname
from pg_attribute as a
join pg_class as c on c.oid = a.attrelid
join pg_namespace as n on n.oid = c.relnamespace
join pg_type as ty on ty.oid = a.atttypid
where a.attrelid = %s::oid and a.attnum > 0 and not a.attisdropped
order by a.attnum
"""


def _snapshot_postgres(url: URL, entity: Entity, schema: str | None, path: Path) -> None:
    with psycopg.connect(**_pg_connect_kwargs(url)) as con:
        con.read_only = True
        # Session settings that make the output independent of the server's configuration.
        for setting in (
            "set time zone 'UTC'",
            "set datestyle = 'ISO, YMD'",
            "set intervalstyle = 'iso_8601'",
            "set extra_float_digits = 3",
            "set bytea_output = 'hex'",
            "set client_encoding = 'UTF8'",
        ):
            con.execute(setting)
        relation = sql.Identifier(schema, entity.name) if schema else sql.Identifier(entity.name)
        oid = con.execute("select to_regclass(%s)::oid", [relation.as_string(con)]).fetchone()[0]
        if oid is None:
            raise _missing_table(url, entity, schema)
        rows = con.execute(_PG_COLUMNS, [oid]).fetchall()
        where = f"{redact_url(url)} {rows[0][2]}.{rows[0][3]}" if rows else redact_url(url)
        types = {name: type_oid for name, type_oid, _, _ in rows}
        pairs = _match_columns(entity, [r[0] for r in rows], where)
        key, rest = _order_columns(entity, pairs)
        select_list = sql.SQL(", ").join(
            sql.SQL("{} as {}").format(_pg_expression(db, types[db]), sql.Identifier(header)) for db, header in pairs
        )
        order_by = sql.SQL(", ").join(
            [sql.SQL("t.{}").format(sql.Identifier(c)) for c in key]
            + [sql.SQL("t.{}::text").format(sql.Identifier(c)) for c in rest]
        )
        statement = sql.SQL("copy (select {} from {} as t order by {}) to stdout with (format csv, header)").format(
            select_list, relation, order_by
        )
        with con.cursor() as cur, cur.copy(statement) as copy, open(path, "wb") as out:
            for block in copy:
                out.write(block)


# --- any other SQLAlchemy database: batches through the csv module -----------------------------


def _snapshot_generic(url: URL, entity: Entity, schema: str | None, path: Path) -> None:
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database not in ("", ":memory:") and not database.startswith("file:"):
            if not Path(database).is_file():
                raise CrmDatabaseError(f"CRM database {redact_url(url)}: file {database} does not exist")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            table_columns, is_bool = _generic_columns(conn, url, entity, schema)
        where = f"{redact_url(url)} {_table_name(entity, schema)}"
        pairs = _match_columns(entity, table_columns, where)
        key, rest = _order_columns(entity, pairs)
        # Untyped columns: values arrive as the driver returns them, with no SQLAlchemy conversion
        # (which could, e.g., drop an offset from a timestamp stored as text in SQLite).
        table = sa.table(entity.name, *(sa.column(c) for c in table_columns), schema=schema)
        statement = sa.select(*(table.c[db] for db, _ in pairs)).order_by(*(table.c[c] for c in key + rest))
        bool_flags = [is_bool.get(db, False) for db, _ in pairs]
        with engine.connect() as conn, open(path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow([header for _, header in pairs])
            result = conn.execution_options(yield_per=FETCH_ROWS).execute(statement)
            for batch in result.partitions():
                writer.writerows(
                    [_text(value, flag) for value, flag in zip(row, bool_flags, strict=True)] for row in batch
                )
    finally:
        engine.dispose()


def _generic_columns(
    conn: sa.Connection, url: URL, entity: Entity, schema: str | None
) -> tuple[list[str], dict[str, bool]]:
    """The table's column names (in table order) and which are declared boolean.

    Names come from the result of an empty select, which every dialect supports; reflection is only
    asked whether the table exists and which columns are booleans (SQLite stores them as 0/1), since
    some third-party dialects cannot reflect.
    """
    inspector = sa.inspect(conn)
    try:
        exists: bool | None = inspector.has_table(entity.name, schema=schema) or entity.name in set(
            inspector.get_view_names(schema=schema)
        )
    except sa.exc.SQLAlchemyError:
        conn.rollback()  # a failed catalog query may leave the transaction unusable
        exists = None
    if exists is False:
        raise _missing_table(url, entity, schema)
    probe = sa.select(sa.text("*")).select_from(sa.table(entity.name, schema=schema)).where(sa.false())
    try:
        names = list(conn.execute(probe).keys())
    except sa.exc.DBAPIError as exc:
        error = _missing_table(url, entity, schema)
        raise CrmDatabaseError(f"{error} The database said: {exc.orig}") from None
    try:
        reflected = inspector.get_columns(entity.name, schema=schema)
        is_bool = {c["name"]: isinstance(c["type"], sa.Boolean) for c in reflected}
    except sa.exc.SQLAlchemyError:
        conn.rollback()
        is_bool = {}
    return names, is_bool


def _text(value: object, is_bool: bool) -> str | None:
    """One database value as contract text; None stays None (written as an empty field)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_bool and isinstance(value, int) and value in (0, 1):  # e.g. SQLite stores booleans as 0/1
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.utcoffset() is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")  # exact, never in exponent notation
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)
