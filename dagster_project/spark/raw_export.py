"""The raw layer as Parquet for Spark: every table of DuckDB's `raw` schema, one dataset per table.

Ingestion stays on DuckDB (parsing, validation, replace-by-key, erasure, retention). Before each dbt
build in Spark mode, the committed raw tables are written to a fresh export folder,
`<spark dir>/raw/<export id>/<table>/data.parquet`, which dbt's on-run-start hook registers as the
Spark tables `raw.<table>` (dbt var `csat_raw_parquet_dir`). Why a full export rather than appending
each load's rows: the Spark tables then equal committed raw exactly, re-deliveries replaced, erased
customers and retention-nulled values gone, which appended files would keep forever. DuckDB writes
Parquet at disk speed, so the copy is a small share of a build (README, "Running on Spark").

Atomic by construction: the export is written under `<id>.partial` and renamed when complete, and a
build reads only the folder it was given; older exports are removed once a newer one is complete.
Clear personal columns are not exported (dbt reads only their keyed pseudonyms), nor the delivered
values of rejected rows (`load_rejects.raw_values`), which may hold them too.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from dagster_project.contract import ENTITIES
from dagster_project.ingestion.warehouse import RAW_SCHEMA
from dagster_project.sql_text import literal, quote

EXPORTS_DIR = "raw"
PARTIAL_SUFFIX = ".partial"
# Only the new export: runs never overlap (the run lock), and an older export would keep what an
# erasure (`csat forget`, whose rebuild writes the next export) or the retention period removed.
KEEP_EXPORTS = 1
NOT_EXPORTED = {
    **{e.name: frozenset(c.name for c in e.columns if c.personal) for e in ENTITIES},
    "load_rejects": frozenset({"raw_values"}),
}


def export_raw(con: duckdb.DuckDBPyConnection, spark_dir: str | Path) -> Path:
    """Write every raw table to a new export folder and return it (the value of `csat_raw_parquet_dir`)."""
    exports = Path(spark_dir).resolve() / EXPORTS_DIR
    exports.mkdir(parents=True, exist_ok=True)
    export_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
    partial = exports / f"{export_id}{PARTIAL_SUFFIX}"
    partial.mkdir()
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' "
            "order by table_name",
            [RAW_SCHEMA],
        ).fetchall()
    ]
    for table in tables:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [RAW_SCHEMA, table],
            ).fetchall()
            if r[0] not in NOT_EXPORTED.get(table, ())
        ]
        (partial / table).mkdir()
        target = partial / table / "data.parquet"
        select = ", ".join(quote(c) for c in columns)
        con.execute(
            f"copy (select {select} from {RAW_SCHEMA}.{quote(table)}) to {literal(str(target))} (format parquet)"
        )
    export = exports / export_id
    partial.rename(export)
    prune_exports(exports, keep=KEEP_EXPORTS)
    return export


def prune_exports(exports: Path, keep: int) -> list[Path]:
    """Remove unfinished exports and all but the `keep` newest complete ones (ids sort by time)."""
    folders = [p for p in exports.iterdir() if p.is_dir()]
    stale = [p for p in folders if p.name.endswith(PARTIAL_SUFFIX)]
    complete = sorted((p for p in folders if not p.name.endswith(PARTIAL_SUFFIX)), reverse=True)
    stale += complete[keep:]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale
