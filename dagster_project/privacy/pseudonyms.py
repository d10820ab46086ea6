"""Keyed pseudonyms (HMAC-SHA256) computed by DuckDB at ingestion, so the key never reaches dbt.

HMAC(K, m) = SHA256((K' xor opad) || SHA256((K' xor ipad) || m)), K' the key padded to SHA-256's
64-byte block (RFC 2104). The two padded keys are computed here and handed to DuckDB as parameters
into a temporary table, never written into SQL text (so no error message or query log can show
them); DuckDB then computes the pseudonyms in one vectorised statement (sha256, unhex and blob
concatenation; Spark SQL has the same three functions). The result equals Python's
`hmac.new(key, value, sha256).hexdigest()` (tested).

Which values are pseudonymised, and how they are normalised first, lives in PSEUDONYMISED.
"""

from __future__ import annotations

import hashlib

import duckdb

from dagster_project.privacy.keys import KeyRing, PseudonymKey

KEYS_TABLE = "_csat_pseudonym_keys"  # temporary: lives only in the connection that installed it
PSEUDONYM_TABLE = "raw.customer_pseudonyms"

# entity -> {pseudonym column: normalised clear-text expression}. E-mails compare case-insensitively;
# phones as delivered, trimmed (the same normalisation the md5 hashes used before).
PSEUDONYMISED = {
    "customers": {
        "email_pseudonym": "lower(trim(email))",
        "phone_pseudonym": "trim(phone)",
    }
}

# Raw rows changed in place, not by a load (a rotated key, an erasure applied again, retention): an
# incremental build after one rebuilds what every entity reaches (dagster_project/build_state.py).
PRIVACY_CHANGES_TABLE = "raw.privacy_changes"
_CHANGES_DDL = f"""
create table if not exists {PRIVACY_CHANGES_TABLE} (
    change varchar not null,
    rows_changed bigint not null,
    changed_at timestamp not null
)
"""

_PSEUDONYM_DDL = f"""
create table if not exists {PSEUDONYM_TABLE} (
    customer_id varchar not null,
    email_pseudonym varchar,
    phone_pseudonym varchar,
    key_fingerprint varchar not null,
    _file_sha256 varchar,
    _row_number bigint,
    computed_at timestamp not null
)
"""


def create_privacy_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The raw tables of this package, created with the other raw tables: the pseudonyms (read by
    stg_crm__customer_pseudonyms), raw.erased_rows (rows erased per delivered file) and
    raw.privacy_changes (raw rows changed in place, read by dagster_project/build_state.py)."""
    from dagster_project.privacy.erasure import ERASED_ROWS_DDL

    con.execute(_PSEUDONYM_DDL)
    con.execute(f"create table if not exists {ERASED_ROWS_DDL}")
    con.execute(_CHANGES_DDL)


def _pads(key: PseudonymKey) -> tuple[bytes, bytes]:
    secret = key.secret if len(key.secret) <= 64 else hashlib.sha256(key.secret).digest()
    secret = secret.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in secret), bytes(b ^ 0x5C for b in secret)


def install_keys(con: duckdb.DuckDBPyConnection, keys: KeyRing) -> None:
    """Make the keys usable by hmac_sql() in this connection (a temporary table, gone on close)."""
    con.execute(
        f"create or replace temporary table {KEYS_TABLE} "
        "(fingerprint varchar, is_current boolean, ipad blob, opad blob)"
    )
    for key in keys.all:
        ipad, opad = _pads(key)
        con.execute(f"insert into {KEYS_TABLE} values (?, ?, ?, ?)", [key.fingerprint, key is keys.current, ipad, opad])


def hmac_sql(value_sql: str, keys_alias: str | None = None) -> str:
    """SQL of the hex HMAC-SHA256 of the varchar expression `value_sql` (NULL stays NULL): under the key
    of the row `keys_alias` of the keys table when given, else under the current key."""
    if keys_alias:
        ipad, opad = f"{keys_alias}.ipad", f"{keys_alias}.opad"
    else:
        ipad = f"(select ipad from {KEYS_TABLE} where is_current)"
        opad = f"(select opad from {KEYS_TABLE} where is_current)"
    return f"sha256({opad} || unhex(sha256({ipad} || encode({value_sql}))))"


def rows_under_another_key(con: duckdb.DuckDBPyConnection, keys: KeyRing) -> int:
    """Pseudonyms computed under another key than the current one: after a rotation, all of them."""
    create_privacy_tables(con)
    [(rows,)] = con.execute(
        f"select count(*) from {PSEUDONYM_TABLE} where key_fingerprint <> ?", [keys.current.fingerprint]
    ).fetchall()
    return int(rows)


def record_privacy_changes(con: duckdb.DuckDBPyConnection, changes: dict[str, int]) -> None:
    """Record the raw rows changed in place (rows by change), in the caller's transaction."""
    rows = [[change, count] for change, count in changes.items() if count]
    if rows:
        con.executemany(
            f"insert into {PRIVACY_CHANGES_TABLE} values (?, ?, cast(current_timestamp as timestamp))", rows
        )


def refresh_customer_pseudonyms(con: duckdb.DuckDBPyConnection, keys: KeyRing) -> int:
    """Bring raw.customer_pseudonyms in line with raw.customers: one row per customer row, computed
    once per delivered row (so pseudonyms survive the retention that later blanks the clear text),
    recomputed for every row when the current key changed (rotation, see SECURITY.md). Returns the
    number of rows computed."""
    create_privacy_tables(con)
    current = keys.current.fingerprint
    con.execute(
        f"""
        delete from {PSEUDONYM_TABLE} as p
        where p.key_fingerprint <> ?
            or not exists (
                select 1 from raw.customers as c
                where c.customer_id = p.customer_id
                    and c._file_sha256 is not distinct from p._file_sha256
                    and c._row_number is not distinct from p._row_number
            )
        """,
        [current],
    )
    columns = PSEUDONYMISED["customers"]
    computed = ", ".join(f"{hmac_sql(expr)} as {name}" for name, expr in columns.items())
    rows = con.execute(
        f"""
        insert into {PSEUDONYM_TABLE}
        select c.customer_id, {computed}, ?, c._file_sha256, c._row_number,
            cast(current_timestamp as timestamp)
        from raw.customers as c
        where c.customer_id is not null
            and not exists (select 1 from {PSEUDONYM_TABLE} as p where p.customer_id = c.customer_id)
        """,
        [current],
    ).fetchone()
    return int(rows[0]) if rows else 0
