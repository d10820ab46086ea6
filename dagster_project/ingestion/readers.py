"""Read delivered files into a temporary all-text DuckDB view, in file order.

DuckDB does the reading and parsing (no row-by-row Python). Every column arrives as VARCHAR so that
typing and the contract rules are applied in one place (`validation.py`), where a bad value
becomes a reject with its reason instead of failing the whole file.

Files of one entity that share a format and a header are read together in one scan (a batch):
DuckDB is much faster on one large scan than on many small ones. The staged delivery `_delivery` (a
view) has: `_file_index` (position of the file in the batch), `_row_number` (1-based position of the
record among its file's data records), one VARCHAR column per delivered column under its delivered
name, and `_malformed` (why a record could not be parsed, else NULL). It is a view so that the
batch is not copied once more before the rules read it: the rules read every row once, the rejects
only when there are some (`drop_staged` removes it and what it reads).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.contract import Entity
from dagster_project.ingestion.files import (
    JSON_FORMATS,
    READ_AS_CSV,
    WORKBOOK_FORMATS,
    ContractError,
    DeliveredFile,
    json_document_hint,
    utf8_copy,
)
from dagster_project.ingestion.header_rows import csv_with_one_header
from dagster_project.ingestion.workbooks import workbook_as_csv
from dagster_project.sql_text import literal, quote

STAGE_TABLE = "_delivery"
FILES_TABLE = "_batch_files"  # file_index, source_label, sha256 of the files in the batch
JSON_SAMPLE_LINES = 100_000
_PATH_COLUMN = "__file_path"
_PARSED_TABLE = "_parsed"  # a CSV or JSON Lines batch's records in file order
_FILE_STARTS_TABLE = "_file_starts"
_MALFORMED_TABLE = "_malformed_rows"
# The readers accept records far longer than CSAT_MAX_FIELD_BYTES, so that an oversize value is a
# `size` reject with its row number (validation.py) instead of a file DuckDB refuses with a wrong
# line number. DuckDB allocates buffers as lines need them, so ordinary files cost nothing more.
MAX_RECORD_BYTES = 256 * 1024 * 1024
# Characters DuckDB's file readers expand as a glob pattern.
_GLOB_CHARACTERS = frozenset("*?[]{}")


@dataclass(frozen=True)
class StagedDelivery:
    columns: dict[str, str | None]  # contract column -> delivered column name (None: not delivered)
    extra_columns: list[str]  # delivered columns not in the contract
    table: str = STAGE_TABLE  # where the rules read them
    outside_rows: bool = False  # `_outside` marks rows the mapping's `where` leaves to others


@dataclass(frozen=True)
class ReadableFile:
    """A delivered file ready to be read: UTF-8 (a transcoded copy if needed), columns known."""

    delivered: DeliveredFile
    path: Path
    names: tuple[str, ...]


def _paths(files: list[ReadableFile]) -> str:
    return _path_list([f.path for f in files])


def _path_list(paths: list[Path]) -> str:
    return "[" + ", ".join(literal(str(path)) for path in paths) + "]"


def _csv_source(paths: str, delivered: DeliveredFile, *, with_path: bool = False) -> str:
    # RFC 4180 (comma-separated unless the export declares another separator), double-quoted, header
    # row (after the lines above it that the mapping's `header_row` skips). Lines with the wrong number
    # of fields land in DuckDB's rejects tables, which become `malformed` rows.
    path_column = f", filename = '{_PATH_COLUMN}'" if with_path else ""
    return (
        f"read_csv({paths}, header = true, all_varchar = true, delim = {literal(delivered.delimiter)}, "
        f"skip = {delivered.lines_above_header}, "
        "quote = '\"', escape = '\"', "
        f"max_line_size = {MAX_RECORD_BYTES}, "
        f"store_rejects = true, rejects_table = '_csv_reject_errors', rejects_scan = '_csv_reject_scans'"
        f"{path_column})"
    )


def _json_objects(paths: str, delivered: DeliveredFile, *, with_path: bool = False) -> str:
    """One row per JSON line (or element of a `json` file's array), column `json`: a line that is not
    valid JSON reads as NULL, and a line that is an array or a scalar keeps its type, so both become
    `malformed` rows, not a failed file. A document holding its array at the mapping's `records` is
    read whole and its array unnested, in order (a broken document fails, as a broken array does)."""
    path_column = f", filename = '{_PATH_COLUMN}'" if with_path else ""
    if delivered.records:
        array = f"cast(json_extract(json, {json_pointer(*delivered.records)}) as json[])"
        return (
            f"(select unnest({array}) as json{f', {_PATH_COLUMN}' if with_path else ''} "
            f"from {_json_documents(paths, path_column)})"
        )
    layout = "array" if delivered.file_format == "json" else "newline_delimited"
    return (
        f"read_json_objects({paths}, format = '{layout}', ignore_errors = true, "
        f"maximum_object_size = {MAX_RECORD_BYTES}{path_column})"
    )


def _json_documents(paths: str, path_column: str = "") -> str:
    """Each file as one JSON value, column `json` (a broken document fails the statement)."""
    return f"read_json_objects({paths}, format = 'unstructured', maximum_object_size = {MAX_RECORD_BYTES}{path_column})"


def json_pointer(*names: str) -> str:
    """RFC 6901 pointer to a member (of members): a name with '.', '$' or '/' is still one member."""
    return literal("".join("/" + name.replace("~", "~0").replace("/", "~1") for name in names))


def literal_path(path: Path, workdir: Path) -> Path:
    """A path DuckDB reads literally. DuckDB expands `*`, `?`, `[...]` and `{...}` in file names as
    a pattern (a file `a[1].csv` would read `a1.csv`): such a file is read through a link with a
    plain name in the work folder."""
    if not _GLOB_CHARACTERS.intersection(str(path)):
        return path
    suffix = "".join(s for s in path.suffixes[-2:] if not _GLOB_CHARACTERS.intersection(s))
    alias = workdir / f"literal-{uuid.uuid4().hex}{suffix}"
    os.symlink(os.path.abspath(path), alias)
    return alias


def _csv_header(path: Path, delivered: DeliveredFile) -> list[str]:
    """The header record as delivered (DuckDB renames duplicated names to `a_1`, hiding them)."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        for _ in range(delivered.lines_above_header):  # lines, as DuckDB's `skip` counts them
            text.readline()
        try:
            return next(csv.reader(text, delimiter=delivered.delimiter, quotechar='"'), [])
        except csv.Error as error:
            raise ContractError(f"cannot read the header row: {error}") from None


def _check_unique_names(delivered: DeliveredFile, names: list[str]) -> None:
    """Two columns with one name (compared trimmed and case-insensitively) make the file ambiguous."""
    # Unnamed columns (a trailing comma) are not names: DuckDB numbers them, and they land in _extra.
    counts = Counter(n.strip().lower() for n in names if n.strip())
    duplicated = [n for n, count in counts.items() if count > 1]
    if duplicated:
        shown = ", ".join(f"{n!r} ({counts[n]} times)" for n in duplicated)
        raise ContractError(
            f"{delivered.source_label}: duplicated column name(s) in the header: {shown}. "
            "Each column must appear once (names are compared ignoring case and surrounding spaces)."
        )


def readable_path(delivered: DeliveredFile, workdir: Path) -> Path:
    """The path DuckDB reads a delivered file from: a UTF-8 copy of a file in another encoding, a
    workbook's CSV copy, a CSV's copy with its header rows joined, a link without glob characters
    (raises ContractError for an empty file)."""
    if delivered.size == 0:
        raise ContractError(f"{delivered.source_label}: the file is empty (not even a header row)")
    if delivered.file_format in WORKBOOK_FORMATS:
        return workbook_as_csv(delivered, workdir)
    path = utf8_copy(delivered, workdir) if delivered.encoding not in (None, "utf-8") else delivered.path
    if delivered.header_rows > 1:  # a CSV's
        return csv_with_one_header(delivered, path, workdir)
    return literal_path(path, workdir)


# JSON Lines files whose member names one statement reads (a union of one sample per file).
_JSON_FILES_PER_STATEMENT = 64


def _json_member_sample(path: Path, delivered: DeliveredFile) -> str:
    """A file's distinct member lists with the line each first appears on, from a sample of lines."""
    return f"""
        select keys, min(line) as first_line from (
            select json_keys(json) as keys, row_number() over () as line
            from (select json from {_json_objects(_path_list([path]), delivered)} limit {JSON_SAMPLE_LINES})
            where json_type(json) = 'OBJECT'
        )
        group by keys
        """


def json_member_lists(
    con: duckdb.DuckDBPyConnection, files: list[tuple[Path, DeliveredFile]]
) -> dict[Path, list[list[str]]]:
    """Each JSON file's member lists (`files`: its readable path and the file), in order of first
    appearance (`prepare_file` takes them). Read for many files in one statement: a statement per
    file cost about as much again as its parsing (30 files of 1M responses' tickets 0.65 -> 0.35 s).
    A statement that fails (a file DuckDB cannot read) gives no lists: each file is then read alone
    and reports its own error."""
    lists: dict[Path, list[list[str]]] = {}
    for start in range(0, len(files), _JSON_FILES_PER_STATEMENT):
        chunk = files[start : start + _JSON_FILES_PER_STATEMENT]
        union = " union all ".join(
            f"select {i} as file_index, * from ({_json_member_sample(path, delivered)})"
            for i, (path, delivered) in enumerate(chunk)
        )
        try:
            rows = con.execute(f"{union} order by file_index, first_line").fetchall()
        except duckdb.Error:
            continue
        found: dict[Path, list[list[str]]] = {path: [] for path, _ in chunk}
        for file_index, keys, _ in rows:
            found[chunk[file_index][0]].append(keys)
        lists.update(found)
    return lists


def prepare_file(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    delivered: DeliveredFile,
    path: Path,
    json_members: list[list[str]] | None = None,
) -> tuple[ReadableFile, StagedDelivery]:
    """Check one file's columns against the contract (raises ContractError) without reading its rows.
    `path` is its `readable_path`; `json_members`, a JSON Lines file's `json_member_lists` when
    read already."""
    paths = _path_list([path])
    if delivered.file_format in READ_AS_CSV:
        relation = _csv_source(paths, delivered)
        names = [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()]
        try:
            header = _csv_header(path, delivered)
        except ContractError as error:
            raise ContractError(f"{delivered.source_label}: {error}") from None
        _check_unique_names(delivered, header)
    elif delivered.file_format in JSON_FORMATS:
        if delivered.records:
            _check_records(con, delivered, paths)
        # Member names, in order of first appearance, from a sample of lines (not a full pass).
        if json_members is None:
            sample = _json_member_sample(path, delivered)
            json_members = [keys for (keys, _) in con.execute(f"{sample} order by 2").fetchall()]
        names = []
        for keys in json_members:
            _check_unique_names(delivered, keys)
            names += [k for k in keys if k not in names]
        if not names:
            raise ContractError(
                f"{delivered.source_label}: no JSON object with members in its first {JSON_SAMPLE_LINES:,} "
                f"{'elements' if delivered.file_format == 'json' else 'lines'}: nothing to load "
                "(an empty export is no delivery: leave the file out)"
                + (json_document_hint(delivered.source_label) if delivered.file_format == "jsonl" else "")
            )
    else:
        names = [row[0] for row in con.execute(f"describe select * from read_parquet({paths})").fetchall()]
    _check_unique_names(delivered, names)
    return ReadableFile(delivered, path, tuple(names)), match_contract(entity, delivered, names)


def _check_records(con: duckdb.DuckDBPyConnection, delivered: DeliveredFile, paths: str) -> None:
    """A document must hold an array where its mapping's `records` lead: say what it holds instead."""
    pointer = json_pointer(*delivered.records)
    found, members = con.execute(
        f"select json_type(json_extract(json, {pointer})), json_keys(json) from {_json_documents(paths)}"
    ).fetchone()
    if found != "ARRAY":
        where = "/".join(delivered.records)
        held = f"a JSON {found.lower()}" if found else "nothing"
        raise ContractError(
            f"{delivered.source_label}: the mapping's `records` ({where}) lead to {held}, not an array of "
            f"records; the document's members: {', '.join(members) or '(none: not an object)'}"
        )


def match_contract(entity: Entity, delivered: DeliveredFile, names: list[str]) -> StagedDelivery:
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


def stage_batch(con: duckdb.DuckDBPyConnection, files: list[ReadableFile]) -> None:
    """Stage files of one format and dialect with one header as the view `_delivery`, and list them
    in `_batch_files`."""
    con.execute(
        f"create or replace temp table {FILES_TABLE} "
        "(file_index integer, file_path varchar, source_label varchar, file_sha256 varchar)"
    )
    con.executemany(
        f"insert into {FILES_TABLE} values (?, ?, ?, ?)",
        [(i, str(f.path), f.delivered.source_label, f.delivered.sha256) for i, f in enumerate(files)],
    )
    names = list(files[0].names)
    fmt = files[0].delivered.file_format
    paths = _paths(files)
    if fmt == "parquet":
        cols = ", ".join(f"cast({quote(n)} as varchar) as {quote(n)}" for n in names)
        con.execute(
            f"""
            create or replace temp view {STAGE_TABLE} as
            select b.file_index as _file_index, p.file_row_number + 1 as _row_number, {cols},
                cast(null as varchar) as _malformed, cast(null as varchar) as _layout
            from read_parquet({paths}, filename = '{_PATH_COLUMN}', file_row_number = true) as p
            inner join {FILES_TABLE} as b on b.file_path = p.{_PATH_COLUMN}
            """
        )
        return
    if fmt in READ_AS_CSV:
        source = _csv_source(paths, files[0].delivered, with_path=True)
        con.execute(f"create or replace temp table {_PARSED_TABLE} as select * from {source}")
        # DuckDB numbers a malformed record by its line in the file; a row's number counts records.
        above = 1 + files[0].delivered.lines_above_header
        malformed = con.execute(
            f"select file_id as file_index, line - {above} as row_number, min(csv_line) as csv_line, "
            "min(error_message) as message from _csv_reject_errors group by all"
        ).fetchall()
        con.execute("drop table if exists _csv_reject_errors")
        con.execute("drop table if exists _csv_reject_scans")
        malformed_check = None
    else:
        # Every member in one extraction per line: `json ->> member` per column parsed each line
        # once per column (tickets, 18 members: one extraction takes a third of that time).
        pointers = "[" + ", ".join(json_pointer(n) for n in names) + "]"
        members = "".join(
            f"case when _json_type = 'OBJECT' then _members[{i}] end as {quote(n)}, "
            for i, n in enumerate(names, start=1)
        )
        con.execute(
            f"""
            create or replace temp table {_PARSED_TABLE} as
            select {members}_json_type, {_PATH_COLUMN}
            from (
                select
                    {f"json_extract_string(json, {pointers})" if names else "null"} as _members,
                    coalesce(json_type(json), 'INVALID') as _json_type,
                    {_PATH_COLUMN}
                from {_json_objects(paths, files[0].delivered, with_path=True)}
            )
            """
        )
        malformed = []
        all_null = " and ".join(f"p.{quote(n)} is null" for n in names) or "true"
        record = "malformed JSON array element" if fmt == "json" else "malformed JSON line"
        malformed_check = (
            f"case when p._json_type = 'INVALID' then '{record}: not valid JSON' "
            f"when p._json_type <> 'OBJECT' then '{record}: a JSON ' || case "
            "when p._json_type in ('UBIGINT', 'BIGINT', 'DOUBLE') then 'number' "
            "when p._json_type = 'VARCHAR' then 'string' else lower(p._json_type) end || ', not an object' "
            f"when {all_null} then '{record}: an object with no contract or extra field set' end"
        )
    _number_rows(con, names, malformed, malformed_check, files[0].delivered)


def drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the staged delivery (a view) and the tables it reads."""
    con.execute(f"drop view if exists {STAGE_TABLE}")
    for table in (_PARSED_TABLE, _FILE_STARTS_TABLE, _MALFORMED_TABLE, FILES_TABLE):
        con.execute(f"drop table if exists {table}")


def _number_rows(
    con: duckdb.DuckDBPyConnection,
    names: list[str],
    malformed: list[tuple],
    malformed_check: str | None,
    layout: DeliveredFile,
) -> None:
    """`_parsed` holds the batch's records in file order; `_delivery` numbers them per file, leaving
    out the records each file has under its header and at its end that are none (`layout`'s).

    With malformed CSV lines, parsed record k of a file sits at position k + (number of its malformed
    positions m_i with m_i - i < k), m_i being the i-th malformed position: parsed records fill the gaps.
    """
    cols = ", ".join(f"p.{quote(n)}" for n in names)
    check = malformed_check or "cast(null as varchar)"
    # Each file's first record and index, as a table of its own: a few rows whose size DuckDB knows,
    # so the join below builds its hash table from them. Derived from `_parsed` in the same query,
    # they made DuckDB build it from the whole batch instead (4.5M survey responses under 2 GB: 10.8
    # s against 3.2 s).
    con.execute(
        f"""
        create or replace temp table {_FILE_STARTS_TABLE} as
        select b.file_index, starts.{_PATH_COLUMN}, starts.first_rid
        from (select {_PATH_COLUMN}, min(rowid) as first_rid from {_PARSED_TABLE} group by all) as starts
        inner join {FILES_TABLE} as b on b.file_path = starts.{_PATH_COLUMN}
        """
    )
    numbered = f"""
        with p as (
            select starts.file_index as _file_index, parsed.rowid - starts.first_rid + 1 as _k, parsed.*
            from {_PARSED_TABLE} as parsed
            inner join {_FILE_STARTS_TABLE} as starts using ({_PATH_COLUMN})
        )
    """
    if not malformed:
        _create_stage(
            con, f"{numbered} select _file_index, _k as _row_number, {cols}, {check} as _malformed from p", layout
        )
        return
    con.execute(
        f"create or replace temp table {_MALFORMED_TABLE} "
        "(file_index integer, row_number bigint, csv_line varchar, message varchar)"
    )
    con.executemany(f"insert into {_MALFORMED_TABLE} values (?, ?, ?, ?)", malformed)
    nulls = ", ".join(f"cast(null as varchar) as {quote(n)}" for n in names)
    records = f"""
        {numbered},
        gaps as (
            select file_index, row_number - row_number() over (partition by file_index order by row_number)
                as before_k
            from {_MALFORMED_TABLE}
        )
        select
            p._file_index,
            p._k + (select count(*) from gaps where gaps.file_index = p._file_index and gaps.before_k < p._k)
                as _row_number,
            {cols},
            {check} as _malformed
        from p
        union all
        select file_index, row_number, {nulls}, 'malformed CSV line: ' || message || ' | line: ' || csv_line
        from {_MALFORMED_TABLE}
    """
    _create_stage(con, records, layout)


def _create_stage(con: duckdb.DuckDBPyConnection, records: str, layout: DeliveredFile) -> None:
    """The view `_delivery` over the numbered `records`. Each file's first and last records that the
    mapping declares none (rows describing the columns, a footer) carry in `_layout` what the mapping
    says of them, and the others keep their numbers among the data records: validation leaves a
    layout row out when it breaks a rule, and rejects one that passes them all as a record would
    (a file delivered without its footer must not lose its last records unseen)."""
    below, footer = layout.records_below_header, layout.records_at_end
    if not below and not footer:
        con.execute(
            f"create or replace temp view {STAGE_TABLE} as select *, cast(null as varchar) as _layout from ({records})"
        )
        return
    described = (
        f"when _row_number <= {below} then 'row ' || _row_number || ' under the header, which the mapping''s "
        f"`skip_rows_after_header: {below}` leaves out as describing the columns' "
    )
    footed = (
        # the last ones by position: a blank line before the footer is no record
        f"when row_number() over (partition by _file_index order by _row_number desc) <= {footer} "
        f"then 'one of the last {footer} rows, which the mapping''s `skip_footer_rows: {footer}` leaves out "
        "as the file''s footer' "
    )
    con.execute(
        f"""
        create or replace temp view {STAGE_TABLE} as
        select * replace (_row_number - {below} as _row_number),
            case {described if below else ""}{footed if footer else ""}end as _layout
        from ({records})
        """
    )
