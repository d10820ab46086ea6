"""Read one delivered file into a temporary all-text DuckDB table, in file order.

DuckDB does the reading and parsing (no row-by-row Python). Every column arrives as VARCHAR so that
typing and the contract rules are applied in one place (`validation.py`), where a bad value
becomes a reject with its reason instead of failing the whole file.

The staged table `_delivery` has: `_row_number` (1-based position of the record among the file's
data records), one VARCHAR column per delivered column under its delivered name, and `_malformed`
(why a record could not be parsed, else NULL).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.contract import Entity
from dagster_project.ingestion.files import ContractError, DeliveredFile, utf8_copy

STAGE_TABLE = "_delivery"
JSON_SAMPLE_LINES = 100_000


@dataclass(frozen=True)
class StagedDelivery:
    columns: dict[str, str]  # contract column -> delivered column name
    extra_columns: list[str]  # delivered columns not in the contract


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def stage_delivery(
    con: duckdb.DuckDBPyConnection, entity: Entity, delivered: DeliveredFile, workdir: Path
) -> StagedDelivery:
    path = delivered.path
    if delivered.size == 0:
        raise ContractError(f"{delivered.source_label}: the file is empty (not even a header row)")
    if delivered.encoding not in (None, "utf-8"):
        path = utf8_copy(delivered, workdir)
    readers = {"csv": _stage_csv, "jsonl": _stage_jsonl, "parquet": _stage_parquet}
    delivered_columns = readers[delivered.file_format](con, path)
    return _match_contract(entity, delivered, delivered_columns)


def _match_contract(entity: Entity, delivered: DeliveredFile, names: list[str]) -> StagedDelivery:
    """Contract columns are matched case- and space-insensitively; every one must be present."""
    by_normal = {}
    for name in names:
        by_normal.setdefault(name.strip().lower(), name)
    missing = [c for c in entity.column_names if c not in by_normal]
    if missing:
        raise ContractError(
            f"{delivered.source_label}: columns do not match the {entity.qualified_name} contract; "
            f"missing column(s): {', '.join(missing)}. Found: {', '.join(names) or '(none)'}. "
            "Rename the export's columns to the contract names (see SOURCES.md)."
        )
    columns = {c: by_normal[c] for c in entity.column_names}
    used = set(columns.values())
    return StagedDelivery(columns=columns, extra_columns=[n for n in names if n not in used])


def _column_names(con: duckdb.DuckDBPyConnection, relation_sql: str) -> list[str]:
    return [row[0] for row in con.execute(f"describe select * from {relation_sql}").fetchall()]


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    # RFC 4180: comma-separated, double-quoted, header row. Lines with the wrong number of fields
    # land in DuckDB's rejects tables, which become `malformed` rows here.
    source = (
        f"read_csv({literal(str(path))}, header = true, all_varchar = true, delim = ',', "
        "quote = '\"', escape = '\"', store_rejects = true, "
        "rejects_table = '_csv_reject_errors', rejects_scan = '_csv_reject_scans')"
    )
    names = _column_names(con, source)
    con.execute(f"create or replace temp table _parsed as select * from {source}")
    malformed = con.execute(
        "select line - 1 as row_number, min(csv_line) as csv_line, min(error_message) as message "
        "from _csv_reject_errors group by line"
    ).df()
    con.execute("drop table if exists _csv_reject_errors")
    con.execute("drop table if exists _csv_reject_scans")
    cols = ", ".join(quote(n) for n in names)
    if malformed.empty:
        con.execute(
            f"create or replace temp table {STAGE_TABLE} as "
            f"select rowid + 1 as _row_number, {cols}, cast(null as varchar) as _malformed from _parsed"
        )
    else:
        # Parsed record k sits at position k + (number of malformed positions m_i with m_i - i < k),
        # where m_i is the i-th malformed position in order: the parsed records fill the gaps.
        con.register("_malformed_rows", malformed)
        nulls = ", ".join(f"cast(null as varchar) as {quote(n)}" for n in names)
        con.execute(
            f"""
            create or replace temp table {STAGE_TABLE} as
            with gaps as (
                select row_number - row_number() over (order by row_number) as before_k
                from _malformed_rows
            ),
            parsed as (select rowid + 1 as k, * from _parsed)
            select
                parsed.k + (select count(*) from gaps where gaps.before_k < parsed.k) as _row_number,
                {", ".join("parsed." + quote(n) for n in names)},
                cast(null as varchar) as _malformed
            from parsed
            union all
            select row_number, {nulls},
                'malformed CSV line: ' || message || ' | line: ' || csv_line
            from _malformed_rows
            """
        )
        con.unregister("_malformed_rows")
    con.execute("drop table _parsed")
    return names


def _stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    base = f"{literal(str(path))}, format = 'newline_delimited', ignore_errors = true"
    # Column names come from a sample of lines, not a full pass over the file.
    names = _column_names(con, f"read_json({base}, sample_size = {JSON_SAMPLE_LINES})")
    if not names or names == ["json"]:
        names = []
    columns = "{" + ", ".join(f"{literal(n)}: 'VARCHAR'" for n in names) + "}"
    cols = ", ".join(quote(n) for n in names)
    all_null = " and ".join(f"{quote(n)} is null" for n in names) or "true"
    # With ignore_errors a line that is not a JSON object reads as a row of NULLs.
    con.execute(f"create or replace temp table _parsed as select * from read_json({base}, columns = {columns})")
    con.execute(
        f"""
        create or replace temp table {STAGE_TABLE} as
        select
            rowid + 1 as _row_number, {cols},
            case when {all_null} then 'malformed JSON line: not a JSON object, or no field set' end
                as _malformed
        from _parsed
        """
    )
    con.execute("drop table _parsed")
    return names


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    source = f"read_parquet({literal(str(path))})"
    names = _column_names(con, source)
    cols = ", ".join(f"cast({quote(n)} as varchar) as {quote(n)}" for n in names)
    con.execute(
        f"""
        create or replace temp table {STAGE_TABLE} as
        select file_row_number + 1 as _row_number, {cols}, cast(null as varchar) as _malformed
        from read_parquet({literal(str(path))}, file_row_number = true)
        """
    )
    return names
