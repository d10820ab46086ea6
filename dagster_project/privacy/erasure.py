"""Erase customers from a DuckDB database: every row that names them, wherever it is.

The customers to erase are put into temporary tables of the connection first (clear ids exist
only there, in memory, for the length of the operation):
    _csat_erase_customers(customer_id)   the customers
    _csat_erase_responses(response_id)   their survey responses (SERVQUAL item rows name no customer)
    _csat_erase_contacts(value)          their e-mails and phones, normalised as in pseudonyms.py, to
                                         find rejected rows that lost their customer id
Then erase_in_catalog() deletes, in every base table of a database (raw tables, rejects,
pseudonyms, snapshots, marts, whatever a later model adds), the rows whose `customer_id`,
`response_id` or `customer_key` (a version of an erased customer) is erased, and the rejected rows
whose raw values name them. Deleting rather than blanking the id keeps every fact table
consistent (no fact points at a customer that no longer exists); aggregates (KPIs) are recomputed
by the next dbt run.
"""

from __future__ import annotations

import duckdb

from dagster_project.privacy.pseudonyms import KEYS_TABLE, PSEUDONYMISED, hmac_sql
from dagster_project.privacy.register import RegisterEntry
from dagster_project.sql_text import literal, quote

CUSTOMERS = "_csat_erase_customers"
RESPONSES = "_csat_erase_responses"
CONTACTS = "_csat_erase_contacts"
KEYS = "_csat_erase_keys"
REGISTER = "_csat_register"

# Rows erased per raw table and delivered file (no ids: counts only).
ERASED_ROWS_DDL = """raw.erased_rows (
    entity varchar not null,
    file_sha256 varchar,
    rows_erased bigint not null,
    erased_at timestamp not null
)"""

# Tables of the working warehouse whose id columns can name a customer (found by column name in
# every schema): the id columns erase_in_catalog() matches.
_ID_COLUMNS = ("customer_id", "response_id", "customer_key")


def create_erase_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table, column in (
        (CUSTOMERS, "customer_id"),
        (RESPONSES, "response_id"),
        (CONTACTS, "value"),
        (KEYS, "customer_key"),
    ):
        con.execute(f"create or replace temporary table {table} ({column} varchar primary key)")


def base_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[tuple[str, str], set[str]]:
    """(schema, table) -> lower-cased column names, for every base table of `catalog`."""
    rows = con.execute(
        """
        select c.table_schema, c.table_name, lower(c.column_name)
        from information_schema.columns as c
        inner join information_schema.tables as t
            on t.table_catalog = c.table_catalog and t.table_schema = c.table_schema
            and t.table_name = c.table_name
        where c.table_catalog = ? and t.table_type = 'BASE TABLE'
        """,
        [catalog],
    ).fetchall()
    tables: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in rows:
        tables.setdefault((schema, table), set()).add(column)
    return tables


def collect_from_raw(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """Add to the erase tables what `catalog`'s raw schema knows about the erased customers: their
    survey responses and their contact values (e-mail, phone, also from rejected rows)."""
    tables = base_tables(con, catalog)
    if ("raw", "survey_responses") in tables:
        con.execute(
            f"""
            insert or ignore into {RESPONSES}
            select distinct trim(response_id) from {quote(catalog)}.raw.survey_responses
            where trim(customer_id) in (select customer_id from {CUSTOMERS}) and response_id is not null
            """
        )
    contact_sql = list(PSEUDONYMISED["customers"].values())
    if ("raw", "customers") in tables:
        for expr in contact_sql:
            con.execute(
                f"""
                insert or ignore into {CONTACTS}
                select distinct {expr} from {quote(catalog)}.raw.customers
                where trim(customer_id) in (select customer_id from {CUSTOMERS}) and {expr} <> ''
                """
            )
    if ("raw", "load_rejects") in tables:
        for expr in contact_sql:
            from_json = expr.replace("email", "(raw_values->>'email')").replace("phone", "(raw_values->>'phone')")
            con.execute(
                f"""
                insert or ignore into {CONTACTS}
                select distinct {from_json} from {quote(catalog)}.raw.load_rejects
                where entity = 'customers'
                    and trim(raw_values->>'customer_id') in (select customer_id from {CUSTOMERS})
                    and {from_json} <> ''
                """
            )


def collect_customer_keys(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """Add to the erase tables the keys of the erased customers' versions that `catalog` knows (in
    dim_customer: a table with both customer_id and customer_key)."""
    for (schema, table), columns in base_tables(con, catalog).items():
        if {"customer_id", "customer_key"} <= columns:  # dim_customer: the keys of the erased versions
            con.execute(
                f"""
                insert or ignore into {KEYS}
                select distinct cast(customer_key as varchar) from {quote(catalog)}.{quote(schema)}.{quote(table)}
                where trim(cast(customer_id as varchar)) in (select customer_id from {CUSTOMERS})
                    and customer_key is not null
                """
            )


def erase_in_catalog(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, int]:
    """Delete every row of `catalog` that names an erased customer; returns rows deleted per table."""
    collect_customer_keys(con, catalog)
    tables = base_tables(con, catalog)
    counts: dict[str, int] = {}
    for (schema, table), columns in sorted(tables.items()):
        conditions = []
        if "customer_id" in columns:
            conditions.append(f"trim(cast(customer_id as varchar)) in (select customer_id from {CUSTOMERS})")
        if "response_id" in columns:
            conditions.append(f"trim(cast(response_id as varchar)) in (select response_id from {RESPONSES})")
        if "customer_key" in columns:
            conditions.append(f"cast(customer_key as varchar) in (select customer_key from {KEYS})")
        if "raw_values" in columns:  # raw.load_rejects: whole rejected rows
            conditions += [
                f"trim(raw_values->>'customer_id') in (select customer_id from {CUSTOMERS})",
                f"trim(raw_values->>'response_id') in (select response_id from {RESPONSES})",
                f"lower(trim(raw_values->>'email')) in (select value from {CONTACTS})",
                f"trim(raw_values->>'phone') in (select value from {CONTACTS})",
            ]
        if not conditions:
            continue
        where = " or ".join(f"({c})" for c in conditions)
        if schema == "raw" and "_file_sha256" in columns:
            # Per delivered file, how many of its rows were erased: the re-delivery checks
            # (expectations/raw_survey_*.yml) compare a file's loaded rows with the rows still in raw.
            con.execute(f"create table if not exists {quote(catalog)}.{ERASED_ROWS_DDL}")
            con.execute(
                f"""
                insert into {quote(catalog)}.raw.erased_rows
                select {literal(table)}, _file_sha256, count(*), cast(current_timestamp as timestamp)
                from {quote(catalog)}.{quote(schema)}.{quote(table)} where {where} group by _file_sha256
                """
            )
        deleted = con.execute(f"delete from {quote(catalog)}.{quote(schema)}.{quote(table)} where {where}").fetchone()
        if deleted and deleted[0]:
            counts[f"{schema}.{table}"] = int(deleted[0])
    return counts


def load_register(con: duckdb.DuckDBPyConnection, entries: list[RegisterEntry]) -> None:
    con.execute(
        f"create or replace temporary table {REGISTER} (kind varchar, pseudonym varchar, key_fingerprint varchar)"
    )
    if entries:
        con.executemany(f"insert into {REGISTER} values (?, ?, ?)", [(e.kind, e.pseudonym, e.key) for e in entries])


def match_register(con: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """Fill the erase tables with the ids in `catalog` whose pseudonym (under the key they were
    registered with) is in the register: the keys must be installed (pseudonyms.install_keys)."""
    tables = base_tables(con, catalog)
    for kind, column, target in (("customer", "customer_id", CUSTOMERS), ("response", "response_id", RESPONSES)):
        sources = [
            f"select trim(cast({column} as varchar)) as id from {quote(catalog)}.{quote(s)}.{quote(t)}"
            for (s, t), columns in tables.items()
            if s == "raw" and column in columns
        ]
        if ("raw", "load_rejects") in tables:
            sources.append(f"select trim(raw_values->>'{column}') as id from {quote(catalog)}.raw.load_rejects")
        if not sources:
            continue
        con.execute(
            f"""
            insert or ignore into {target}
            with ids as (select distinct id from ({" union all ".join(sources)}) where id is not null)
            select distinct ids.id
            from ids
            cross join {KEYS_TABLE} as k
            inner join {REGISTER} as r
                on r.kind = {literal(kind)} and r.key_fingerprint = k.fingerprint
                and r.pseudonym = {hmac_sql("ids.id", "k")}
            """
        )
