"""What changed in a mart since the previous publication, and bringing the published copy up to date.

A daily increment changes a few months of the large facts and leaves most marts as they were, yet
copying every mart in full cost 15-28 s at 1M survey responses (DECISIONLOG.md, "Publication by
changed months"). So the new copy starts from an earlier published file (open_previous_copy), and
each mart is compared with the working warehouse by its content: row count, sum of the rows' hashes
and columns, per month for a mart with a month column (`month_start_date`, the marts' month grain).
An unchanged mart is kept; a mart by month has the months whose content differs replaced (deleted,
then inserted from the working warehouse); any other changed mart is copied whole. Matching single
rows by hash instead cost as much as copying (hashing both sides of a 5.8M-row fact). The replaced
months must then hold the working mart's rows (the other months were not touched), or the mart is
copied whole.

The fingerprint is recorded in the publication table and in each Parquet file's key-value metadata,
so the two are checked on their own: an interrupted publication that swapped some Parquet files in
and not the database file leaves each telling what it holds. The content by month is recorded in the
published file too (`publication_state.mart_months`), so that the next publication compares the
working mart with that record instead of reading the previous copy's mart again; the record is used
only when it adds up to the mart's fingerprint, and an erasure, which changes the copy in place,
drops it (privacy/forget.py).
"""

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from dagster_project.publication.layout import (
    FINGERPRINT_COLUMN,
    MART_SCHEMA,
    MONTH_COLUMN,
    MONTH_CONTENTS,
    MONTH_CONTENTS_TABLE,
    PUBLICATION,
    PUBLICATION_TABLE,
    STATE_SCHEMA,
)
from dagster_project.sql_text import literal, quote

Columns = list[tuple[str, str]]  # (name, type), in order
Months = dict[object, tuple[int, int]]  # month (None: the NULL month): (rows, sum of row hashes)


def mart_columns(con: duckdb.DuckDBPyConnection, catalog: str | None, mart: str) -> Columns:
    """The columns of `mart` in the `marts` schema of `catalog` (None: the connection's own database)."""
    return [
        (name, data_type)
        for name, data_type in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = coalesce(?, current_database()) and table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [catalog, MART_SCHEMA, mart],
        ).fetchall()
    ]


@dataclass(frozen=True)
class Content:
    """What a mart holds: rows, fingerprint (`<rows>:<sum of row hashes>:<columns' digest>`: a sum,
    not an ordered digest, as marts have no row order), and (rows, hash sum) by month (None: the mart
    has no month column)."""

    rows: int
    fingerprint: str
    months: Months | None


def read_content(con: duckdb.DuckDBPyConnection, relation: str, columns: Columns) -> Content:
    """The content of `relation` (one scan)."""
    by_month = MONTH_COLUMN in (name for name, _ in columns)
    return _content(_content_by_month(con, relation, quote(MONTH_COLUMN) if by_month else "null"), columns, by_month)


def _content(parts: Months, columns: Columns, by_month: bool) -> Content:
    rows, hash_sum = sum(n for n, _ in parts.values()), sum(h for _, h in parts.values())
    schema = hashlib.sha256(repr(columns).encode()).hexdigest()[:16]
    return Content(rows, f"{rows}:{hash_sum}:{schema}", parts if by_month else None)


def fingerprint_rows(fingerprint: str) -> int | None:
    """The number of rows a fingerprint (`<rows>:...`, as _content writes it) says its content has
    (None: not a fingerprint of that form)."""
    rows, _, _ = fingerprint.partition(":")
    return int(rows) if rows.isdigit() else None


def month_fingerprints(content: Content, columns: Columns) -> dict[object, str]:
    """Each month's own fingerprint (in a mart's form, as if the month were the whole mart), for
    the facts' Parquet files by month (month_files.py)."""
    return {m: _content({m: part}, columns, by_month=True).fingerprint for m, part in content.months.items()}


def published_months(
    con: duckdb.DuckDBPyConnection, target: str, columns: Columns, recorded: Months | None, fingerprint: str
) -> Months:
    """The content by month of the published mart `target` (with `columns`, those of the working
    mart, and `fingerprint`, as the previous publication recorded it): its record of the months
    when that adds up to the fingerprint, else read from the mart (one scan)."""
    if recorded is not None and _content(recorded, columns, by_month=True).fingerprint == fingerprint:
        return recorded
    return read_content(con, target, columns).months


def read_month_record(con: duckdb.DuckDBPyConnection) -> dict[str, Months]:
    """Each mart's content by month as the previous publication recorded it in the copy that `con`
    opened ({}: it recorded none, being older, or an erasure dropped the record)."""
    [(found,)] = con.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [STATE_SCHEMA, MONTH_CONTENTS_TABLE],
    ).fetchall()
    record: dict[str, Months] = {}
    if found:
        for mart, month, rows, hash_sum in con.execute(f"select * from {MONTH_CONTENTS}").fetchall():
            record.setdefault(mart, {})[month] = (rows, hash_sum)
    return record


_ROWS_PER_INSERT = 1000


def write_month_record(con: duckdb.DuckDBPyConnection, contents: dict[str, Content]) -> None:
    """Record the content by month of each mart that has months (`contents`: what the copy now
    holds). A mart whose months are not dates (the marts' grain is) is left out: the next
    publication reads it."""
    con.execute(f"create schema if not exists {STATE_SCHEMA}")
    con.execute(
        f"""
        create or replace table {MONTH_CONTENTS} (
            mart varchar not null,
            {MONTH_COLUMN} date,
            row_count bigint not null,
            row_hash_sum hugeint not null
        )
        """
    )
    rows = [
        [mart, month, n, hash_sum]
        for mart, content in contents.items()
        if content.months is not None and all(m is None or type(m) is date for m in content.months)
        for month, (n, hash_sum) in content.months.items()
    ]
    # Many rows to a statement: DuckDB's executemany runs one statement per row (1.3 s for the
    # 1M benchmark's 900 or so months).
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        values = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
        con.execute(f"insert into {MONTH_CONTENTS} values {values}", [v for row in chunk for v in row])


def changed_months(published: Months, working: Content) -> list:
    """The months whose (rows, hash sum) differ between the published months and the working content
    (None: the NULL month)."""
    return [m for m in working.months.keys() | published.keys() if working.months.get(m) != published.get(m)]


def replace_months(con: duckdb.DuckDBPyConnection, target: str, source: str, months: list) -> tuple[int, int]:
    """Replace the rows of `months` in `target` by those of `source` (same columns): (rows deleted,
    rows inserted)."""
    condition, parameters = _in_months(months)
    [(deleted,)] = con.execute(f"delete from {target} where {condition}", parameters).fetchall()
    [(inserted,)] = con.execute(f"insert into {target} select * from {source} where {condition}", parameters).fetchall()
    return deleted, inserted


def holds_months(con: duckdb.DuckDBPyConnection, relation: str, working: Content, months: list) -> bool:
    """Whether `relation`, after its `months` were replaced, holds `working`: the same (rows, hash sum)
    in those months, and as many rows in all. It reads only those months: the other months' rows
    were not touched, and the comparison found them equal."""
    condition, parameters = _in_months(months)
    replaced = _content_by_month(con, relation, quote(MONTH_COLUMN), condition, parameters)
    [(rows,)] = con.execute(f"select count(*) from {relation}").fetchall()
    return rows == working.rows and replaced == {m: working.months[m] for m in months if m in working.months}


def _content_by_month(
    con: duckdb.DuckDBPyConnection, relation: str, month: str, condition: str = "true", parameters: list = ()
) -> Months:
    """(rows, sum of row hashes) by `month` (an expression) of the rows of `relation` that meet `condition`."""
    return {
        m: (n, h)
        for m, n, h in con.execute(
            f"select {month}, count(*), coalesce(sum(hash(r)), 0) from {relation} r where {condition} group by all",
            list(parameters),
        ).fetchall()
    }


def _in_months(months: list) -> tuple[str, list]:
    """A condition on the month column true in `months` (None among them: the NULL month), and its
    parameters."""
    month = quote(MONTH_COLUMN)
    condition = f"list_contains(?, {month})"
    if None in months:
        condition = f"({condition} or {month} is null)"
    return condition, [[m for m in months if m is not None]]


def fingerprint_option(fingerprint: str) -> str:
    """The `COPY ... (format parquet, ...)` option that writes `fingerprint` into the file's key-value
    metadata, where parquet_fingerprints reads it back."""
    return f"kv_metadata {{{FINGERPRINT_COLUMN}: {literal(fingerprint)}}}"


def parquet_fingerprints(con: duckdb.DuckDBPyConnection, pattern: str) -> dict[str, str]:
    """File name -> the fingerprint it was written with, for the Parquet files matching `pattern` (a
    path or a glob) that recorded one."""
    return dict(
        con.execute(
            f"select file_name, decode(value) from parquet_kv_metadata({literal(pattern)}) where decode(key) = ?",
            [FINGERPRINT_COLUMN],
        ).fetchall()
    )


def recorded_fingerprints(con: duckdb.DuckDBPyConnection, record: Path) -> dict[str, str]:
    """Mart -> content fingerprint, from the publication record's Parquet file `record` ({}: none,
    or one written before fingerprints were recorded)."""
    if not record.is_file():
        return {}
    source = f"read_parquet({literal(str(record))})"
    if FINGERPRINT_COLUMN not in {r[0] for r in con.execute(f"describe select * from {source}").fetchall()}:
        return {}
    return dict(con.execute(f"select mart, {FINGERPRINT_COLUMN} from {source}").fetchall())


def parquet_fingerprint(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """The fingerprint a published Parquet file was written with (None: no file, or none recorded)."""
    if not path.is_file():
        return None
    return next(iter(parquet_fingerprints(con, str(path)).values()), None)


@dataclass
class StartingCopy:
    """The new copy, opened: the connection, the fingerprint of each mart in it ({}: it starts
    empty), what it started from (for the log), why the published file was not reused (None: it
    was, or there is none), and whether it is a byte copy of the working marts (its tables are the
    marts as they are: none needs copying)."""

    con: duckdb.DuckDBPyConnection
    fingerprints: dict[str, str]
    started_from: str
    fresh_reason: str | None = None
    holds_working_marts: bool = False


# What a first publication starts from when it can: the working warehouse's marts file, byte for byte.
WORKING_MARTS = "a copy of the working warehouse's marts file"


def open_previous_copy(
    previous: Path, copy: Path, config: dict[str, str], replaced: Path | None = None, marts_file: Path | None = None
) -> StartingCopy:
    """Open `copy`, a new DuckDB file, started from an earlier published file when one is usable.

    The first choice is `replaced`, the file the last publication's swap replaced (kept as a hard
    link): it is renamed to `copy` and brought up to date in place, as no reader can reach it by
    name any more. That saves copying the published file, whose bytes are most of a daily
    publication at volume (5.8 GB, 10-30 s at 10M responses). It is not written into while another
    process holds it open (a BI tool that opened it before the swap: DuckDB's lock refuses the
    write) or while it is still the published file (an interrupted swap left both names on it):
    then the published file `previous` is copied, as before. Not usable at all: a file written
    before fingerprints were recorded or that this DuckDB cannot read, or one more than half free
    space (rows deleted by past publications; a fresh file compacts it). With no published file,
    `marts_file` (the working marts, when they can be taken as they are: start_from_marts_file) is
    copied: its tables are the marts' content already."""
    not_replaced = ""  # why the replaced file was not used
    if replaced is not None and _take_replaced(replaced, copy):
        opened, fingerprints, problem = _open_reusable(copy, config)
        if opened is not None:
            return StartingCopy(opened, fingerprints, "the file the previous publication replaced")
        not_replaced = f" (the file the previous publication replaced not reused: {problem})"
    if not previous.is_file():
        if marts_file is not None:
            shutil.copyfile(marts_file, copy)
            con = duckdb.connect(str(copy), config=config)
            return StartingCopy(con, {}, WORKING_MARTS + not_replaced, holds_working_marts=True)
        return StartingCopy(duckdb.connect(str(copy), config=config), {}, "an empty file" + not_replaced)
    shutil.copyfile(previous, copy)
    opened, fingerprints, problem = _open_reusable(copy, config)
    if opened is not None:
        return StartingCopy(opened, fingerprints, "a copy of the published file" + not_replaced)
    empty = duckdb.connect(str(copy), config=config)
    return StartingCopy(empty, {}, "an empty file" + not_replaced, f"previous published copy not reused: {problem}")


def _take_replaced(replaced: Path, copy: Path) -> bool:
    """Move the file the last swap replaced to `copy`, to be written into; False when there is none
    or it has another name (still the published file)."""
    try:
        os.replace(replaced, copy)
    except FileNotFoundError:
        return False
    if copy.stat().st_nlink > 1:
        copy.unlink()
        return False
    os.chmod(copy, 0o600)  # published read-only
    return True


def _open_reusable(copy: Path, config: dict[str, str]) -> tuple[duckdb.DuckDBPyConnection | None, dict[str, str], str]:
    """Open `copy` and read its marts' fingerprints: (connection, fingerprints, ""), or (None, {},
    why it cannot be reused) after removing it."""
    con = None
    try:
        con = duckdb.connect(str(copy), config=config)
        problem = _reuse_problem(con)
        if problem is None:
            return con, dict(con.execute(f"select mart, {FINGERPRINT_COLUMN} from {PUBLICATION}").fetchall()), ""
    except duckdb.Error as error:  # another DuckDB's storage, a damaged file, or one another process holds
        problem = f"it cannot be read ({error})"
    if con is not None:
        con.close()
    copy.unlink(missing_ok=True)
    Path(f"{copy}.wal").unlink(missing_ok=True)
    return None, {}, problem


def _reuse_problem(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the copy of the previous published file cannot be brought up to date (None: it can)."""
    [(used, free)] = con.execute(
        "select used_blocks, free_blocks from pragma_database_size() where database_name = current_database()"
    ).fetchall()
    if free > used:
        return f"more than half of it is free space ({free} of {used + free} blocks)"
    if FINGERPRINT_COLUMN not in {c for c, _ in mart_columns(con, None, PUBLICATION_TABLE)}:
        return "it records no content fingerprints (published by an older version)"
    return None


def start_from_marts_file(marts_file: Path, marts: list[str] | tuple[str, ...]) -> bool:
    """Whether a first publication can start from a byte copy of `marts_file`: every mart to publish
    is a table there (Spark mode's marts are views over Spark's Parquet files, which must be copied
    as rows), and no write-ahead log holds changes the file itself does not (a build that did not
    end cleanly; DuckDB replays a log only into the file it belongs to)."""
    if not marts_file.is_file() or Path(f"{marts_file}.wal").exists():
        return False
    try:
        with duckdb.connect(str(marts_file), read_only=True) as con:
            tables = {
                r[0]
                for r in con.execute(
                    "select table_name from duckdb_tables() where database_name = current_database() "
                    "and schema_name = ?",
                    [MART_SCHEMA],
                ).fetchall()
            }
    except duckdb.Error:
        return False
    return set(marts) <= tables
