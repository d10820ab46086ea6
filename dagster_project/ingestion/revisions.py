"""Rows of an immutable entity that a later delivery changed (`Entity.immutable`: survey answers).

A survey answer does not change after it is submitted, so a later file that delivers a response's
key with other values is a broken export, and the raw suite's `redeliveries` check blocks on it. A
file that delivers the same row again, as it was, is not: a form tool's export is cumulative (each
download holds every response so far), and its rows replace themselves. So before a batch's rows
replace the stored ones, the rows they would replace with other values are counted per earlier file
into `raw.revised_rows`: against the stored rows, and among the batch's own files (a key two files
of the batch carry, where the latest file's row is kept). The values compared are the contract
columns, as typed; what the export carries beyond them (`_extra`: a question the form added
later) is not an answer the contract reads.
"""

from __future__ import annotations

import duckdb

from dagster_project.contract import Entity
from dagster_project.ingestion.readers import FILES_TABLE
from dagster_project.ingestion.validation import CHECKED_TABLE, REPEATED_KEYS_TABLE
from dagster_project.ingestion.warehouse import RAW_SCHEMA
from dagster_project.sql_text import literal, quote


def record_revisions(con: duckdb.DuckDBPyConnection, entity: Entity, *, stored: bool, repeated: bool) -> None:
    """Count, per earlier file, the rows this batch delivers again with other values. `stored`: the
    raw table holds rows; `repeated`: a key is carried by several files of the batch (each check
    is skipped without its case, as most batches have neither)."""
    if not entity.immutable or not (stored or repeated):
        return
    kept = f"(select * from {CHECKED_TABLE} where _keep)"
    keys = " and ".join(f"earlier.{quote(k)} = later.{quote(k)}" for k in entity.key)
    revised = f"{_values('earlier', entity)} is distinct from {_values('later', entity)}"
    parts = []
    if stored:
        parts.append(
            f"""
            select earlier._file_sha256 as file_sha256, later._file_index
            from {RAW_SCHEMA}.{entity.name} as earlier inner join {kept} as later on {keys}
            where {revised}
            """
        )
    if repeated:
        # The latest file's row of a key is kept; a row of an earlier file of the batch is replaced.
        repeated_keys = " and ".join(f"r.{quote(k)} = later.{quote(k)}" for k in entity.key)
        parts.append(
            f"""
            select b.file_sha256, later._file_index
            from {kept} as earlier
            inner join {kept} as later on {keys} and earlier._file_index < later._file_index
            inner join {REPEATED_KEYS_TABLE} as r on {repeated_keys} and later._file_index = r._latest_file_index
            inner join {FILES_TABLE} as b on b.file_index = earlier._file_index
            where {revised}
            """
        )
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.revised_rows
        select {literal(entity.name)}, revised.file_sha256, b.file_sha256, count(*),
            cast(current_timestamp as timestamp)
        from ({" union all ".join(parts)}) as revised
        inner join {FILES_TABLE} as b on b.file_index = revised._file_index
        group by all
        """
    )


def _values(alias: str, entity: Entity) -> str:
    """SQL: a row's contract values as one struct, compared whole (NULLs equal)."""
    return "{" + ", ".join(f"{literal(c)}: {alias}.{quote(c)}" for c in entity.column_names) + "}"
