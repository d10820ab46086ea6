"""What changed in a mart since the previous publication, and bringing the published copy up to date.

A daily increment changes a few months of the large facts and leaves most marts as they were, yet
copying every mart in full cost 15-28 s at 1M survey responses (DECISIONLOG.md, "Publication by
changed rows"). So the new copy starts from the previous published file and each mart is compared
with the working warehouse by a content fingerprint: its row count, the sum of its rows' hashes and
its columns. An equal fingerprint keeps the mart; a different one deletes the rows the working mart
no longer has and inserts the ones it gained (rows matched by the hash of the whole row), and the
result must then have the working mart's fingerprint, or the mart is copied in full (duplicate rows,
for one, defeat matching by hash). The fingerprint is recorded in the publication table and in each
Parquet file's key-value metadata, so the two are checked on their own: an interrupted publication
that swapped some Parquet files in and not the database leaves each telling what it holds.
"""

import hashlib
import shutil
from pathlib import Path

import duckdb

from dagster_project.publication.layout import FINGERPRINT_COLUMN, MART_SCHEMA, PUBLICATION, PUBLICATION_TABLE
from dagster_project.sql_text import literal

Columns = list[tuple[str, str]]  # (name, type), in order


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


def content_fingerprint(con: duckdb.DuckDBPyConnection, relation: str, columns: Columns) -> tuple[int, str]:
    """The row count of `relation` and its fingerprint: `<rows>:<sum of row hashes>:<columns' digest>`.
    A sum, not an ordered digest: marts have no row order."""
    rows, hash_sum = con.execute(f"select count(*), coalesce(sum(hash(r)), 0) from {relation} r").fetchone()
    schema = hashlib.sha256(repr(columns).encode()).hexdigest()[:16]
    return rows, f"{rows}:{hash_sum}:{schema}"


def parquet_fingerprint(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """The fingerprint a published Parquet file was written with (None: no file, or none recorded)."""
    if not path.is_file():
        return None
    rows = con.execute(
        f"select value::varchar from parquet_kv_metadata({literal(str(path))}) where key::varchar = ?",
        [FINGERPRINT_COLUMN],
    ).fetchall()
    return rows[0][0] if rows else None


def apply_row_changes(con: duckdb.DuckDBPyConnection, target: str, source: str) -> tuple[int, int]:
    """Make `target` hold the rows of `source` (same columns) by deleting the rows `source` does not
    have and inserting those `target` lacks, rows matched by the hash of the whole row: (deleted,
    inserted). The caller checks the result's fingerprint (duplicate rows are not matched one to one)."""
    con.execute(f"create or replace temp table source_row_hashes as select hash(r) as row_hash from {source} r")
    [(deleted,)] = con.execute(
        f"delete from {target} r where hash(r) not in (select row_hash from source_row_hashes)"
    ).fetchall()
    [(inserted,)] = con.execute(
        f"insert into {target} select * from {source} r where hash(r) not in (select hash(t) from {target} t)"
    ).fetchall()
    con.execute("drop table source_row_hashes")
    return deleted, inserted


def open_previous_copy(
    previous: Path, copy: Path, config: dict[str, str]
) -> tuple[duckdb.DuckDBPyConnection, dict[str, str]]:
    """Open `copy`, a new DuckDB file, started from the previous published file when that is usable:
    the connection, and the fingerprint of each mart in it ({} when starting empty). Not usable: no
    previous file, one written before fingerprints were recorded or that this DuckDB cannot read, or
    one more than half free space (rows deleted by past publications; a fresh file compacts it)."""
    if previous.is_file():
        shutil.copyfile(previous, copy)
        try:
            con = duckdb.connect(str(copy), config=config)
        except duckdb.Error:
            con = None
        if con is not None:
            try:
                fingerprints = _recorded_fingerprints(con)
                if fingerprints:
                    return con, fingerprints
            except duckdb.Error:
                pass
            con.close()
        copy.unlink(missing_ok=True)
        Path(f"{copy}.wal").unlink(missing_ok=True)
    return duckdb.connect(str(copy), config=config), {}


def _recorded_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    [(used, free)] = con.execute(
        "select used_blocks, free_blocks from pragma_database_size() where database_name = current_database()"
    ).fetchall()
    if free > used:
        return {}
    recorded = {c for c, _ in mart_columns(con, None, PUBLICATION_TABLE)}
    if FINGERPRINT_COLUMN not in recorded:
        return {}
    return dict(con.execute(f"select mart, {FINGERPRINT_COLUMN} from {PUBLICATION}").fetchall())
