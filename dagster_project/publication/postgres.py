"""The PostgreSQL copy: the published marts in PostgreSQL, for BI tools that speak it natively.

Optional: off unless CSAT_PUBLISH_POSTGRES_URL is set (a SQLAlchemy or libpq URL, e.g.
`postgresql+psycopg://bi_loader:secret@db.example.com/analytics`); Dagster gets it as an `EnvVar`
reference and errors show it redacted (`dagster_project/redaction.py`). The source is the published
DuckDB copy (so only marts that passed the quality gate travel), and the target schema
(CSAT_PUBLISH_POSTGRES_SCHEMA, default `marts`) is replaced atomically:

1. every mart (and the `publication` record) is loaded into a new schema `<schema>__loading_<tag>`
   and committed: invisible to readers under that name; on any error it is dropped and the live
   schema is untouched;
2. one short transaction renames the live schema to `<schema>__old_<tag>` and the new one to
   `<schema>`: readers see either the old marts or the new ones, never a mix or a gap;
3. the old schema is dropped with a lock timeout. A BI query still reading it makes the drop
   wait at most that long; then it is left for the next publication to remove.

Roles named in CSAT_PUBLISH_POSTGRES_READERS (comma-separated) get USAGE on the schema and SELECT
on its tables before the swap, so grants never lapse.
"""

import re
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from dagster_project.publication.layout import MART_SCHEMA as SOURCE_SCHEMA
from dagster_project.publication.layout import PUBLICATION_TABLE
from dagster_project.redaction import redact_url, scrub
from dagster_project.settings import DEFAULT_POSTGRES_SCHEMA as DEFAULT_SCHEMA
from dagster_project.settings import POSTGRES_URL_ENV as URL_ENV

DROP_LOCK_TIMEOUT = "5s"
COPY_CHUNK_BYTES = 1 << 20


class PostgresPublicationError(RuntimeError):
    """The marts could not be published to PostgreSQL; the live schema is untouched."""


@dataclass
class PostgresPublicationReport:
    schema: str
    row_counts: dict[str, int] = field(default_factory=dict)
    old_schema_dropped: bool = True
    leftovers_dropped: list[str] = field(default_factory=list)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://...`) as the libpq URI psycopg connects with."""
    return re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url.strip())


_SIMPLE_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)",
    "HUGEINT": "numeric(39,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "VARCHAR": "text",
    "UUID": "uuid",
    "JSON": "jsonb",
    "BLOB": "bytea",
}


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL column type for a DuckDB type (nested and exotic types become text)."""
    upper = duckdb_type.upper()
    if upper in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[upper]
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", upper)
    if decimal:
        return f"numeric({decimal.group(1)},{decimal.group(2)})"
    return "text"


def _source_tables(con: duckdb.DuckDBPyConnection, marts: Sequence[str] | None) -> list[tuple[str, str]]:
    """(schema, table) pairs to publish: the marts (all, or `marts`) and the publication record."""
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [SOURCE_SCHEMA],
    ).fetchall()
    available = {name for schema, name in rows if schema == SOURCE_SCHEMA}
    if marts is not None:
        missing = sorted(set(marts) - available)
        if missing:
            raise PostgresPublicationError(f"marts missing from the published copy: {', '.join(missing)}")
        rows = [(s, t) for s, t in rows if t in set(marts) or t == PUBLICATION_TABLE]
    return rows


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def _copy_table(
    duck: duckdb.DuckDBPyConnection, pg: psycopg.Connection, source: str, target: sql.Composable, work: Path
) -> int:
    """DuckDB writes the table as CSV (values quoted, NULL unquoted-empty), PostgreSQL reads it with COPY."""
    csv_path = work / "table.csv"
    duck.execute(f"copy (select * from {source}) to '{csv_path}' (format csv, header false, force_quote *, nullstr '')")
    with pg.cursor() as cur:
        with cur.copy(sql.SQL("copy {} from stdin (format csv)").format(target)) as copy:
            with open(csv_path, "rb") as f:
                while chunk := f.read(COPY_CHUNK_BYTES):
                    copy.write(chunk)
        cur.execute(sql.SQL("select count(*) from {}").format(target))
        count = cur.fetchone()[0]
    csv_path.unlink()
    return count


def _drop_leftovers(pg: psycopg.Connection, schema: str) -> list[str]:
    """Schemas of earlier publications that were interrupted or could not be dropped."""
    with pg.cursor() as cur:
        cur.execute(
            "select nspname from pg_namespace where nspname like %s or nspname like %s",
            [f"{schema}\\_\\_loading\\_%", f"{schema}\\_\\_old\\_%"],
        )
        names = [r[0] for r in cur.fetchall()]
    dropped = []
    for name in names:
        try:
            with pg.transaction():
                pg.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(DROP_LOCK_TIMEOUT)))
                pg.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(name)))
            dropped.append(name)
        except psycopg.errors.LockNotAvailable:
            pass  # still being read; next time
    return dropped


def publish_to_postgres(
    published_database: str | Path,
    url: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    marts: Sequence[str] | None = None,
    readers: Sequence[str] = (),
) -> PostgresPublicationReport:
    """Replace `schema` in the PostgreSQL database at `url` with the marts of the published DuckDB
    file (all of them, or `marts`), atomically (see the module docstring)."""
    published_database = Path(published_database)
    if not published_database.is_file():
        raise PostgresPublicationError(f"no published warehouse at {published_database}: nothing to publish")
    tag = uuid.uuid4().hex[:10]
    loading, old = f"{schema}__loading_{tag}", f"{schema}__old_{tag}"
    report = PostgresPublicationReport(schema=schema)
    try:
        pg = psycopg.connect(libpq_url(url), autocommit=True, application_name="csat-publish")
    except psycopg.Error as error:
        # libpq quotes pieces of a connection string it cannot parse (the password too): scrubbed, and
        # not chained, since Dagster would show the original error in the UI.
        raise PostgresPublicationError(
            f"cannot connect to the PostgreSQL target {redact_url(url)} ({URL_ENV}): {scrub(str(error), url)}"
        ) from None
    with pg, duckdb.connect(str(published_database), read_only=True) as duck:
        report.leftovers_dropped = _drop_leftovers(pg, schema)
        tables = _source_tables(duck, marts)
        try:
            with pg.transaction(), tempfile.TemporaryDirectory(prefix="csat-pg-publish-") as work:
                pg.execute(sql.SQL("create schema {}").format(sql.Identifier(loading)))
                for source_schema, table in tables:
                    target = sql.Identifier(loading, table)
                    columns = sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(postgres_type(kind)))
                        for name, kind in _columns(duck, source_schema, table)
                    )
                    pg.execute(sql.SQL("create table {} ({})").format(target, columns))
                    source = f'"{source_schema}"."{table}"'
                    report.row_counts[table] = _copy_table(duck, pg, source, target, Path(work))
                    pg.execute(sql.SQL("analyze {}").format(target))
                for role in readers:
                    pg.execute(
                        sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(loading), sql.Identifier(role))
                    )
                    pg.execute(
                        sql.SQL("grant select on all tables in schema {} to {}").format(
                            sql.Identifier(loading), sql.Identifier(role)
                        )
                    )
        except (psycopg.Error, duckdb.Error) as error:
            message = scrub(str(error), url)
            raise PostgresPublicationError(f"loading the marts into PostgreSQL failed: {message}") from None
        # The swap: one short transaction; readers see the old schema or the new one.
        try:
            with pg.transaction():
                pg.execute("set local lock_timeout = '30s'")
                pg.execute(
                    sql.SQL("alter schema {} rename to {}").format(sql.Identifier(schema), sql.Identifier(old))
                    if _schema_exists(pg, schema)
                    else sql.SQL("select 1")
                )
                pg.execute(
                    sql.SQL("alter schema {} rename to {}").format(sql.Identifier(loading), sql.Identifier(schema))
                )
        except psycopg.Error as error:
            with pg.transaction():
                pg.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(loading)))
            message = scrub(str(error), url)
            raise PostgresPublicationError(f"swapping in the new schema {schema} failed: {message}") from None
        if _schema_exists(pg, old):
            try:
                with pg.transaction():
                    pg.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(DROP_LOCK_TIMEOUT)))
                    pg.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(old)))
            except psycopg.errors.LockNotAvailable:
                report.old_schema_dropped = False
    return report


def _schema_exists(pg: psycopg.Connection, name: str) -> bool:
    return pg.execute("select count(*) from pg_namespace where nspname = %s", [name]).fetchone()[0] == 1
