"""Rebuild the working warehouse from the landing folder, keeping what only the warehouse knows.

Every delivery stays in the landing folder, so the raw tables can always be loaded again. What
cannot be re-derived is the history dbt snapshots recorded between runs (the versions of CRM
customers), so a rebuild carries the snapshot schema over. Use it after removing or fixing a bad
delivery whose rows already replaced good ones (the survey re-delivery check stays red until then).
The published copy is untouched: BI tools keep the last good numbers until the rebuilt warehouse
passes the quality gate.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.ingestion import warehouse

SNAPSHOT_SCHEMA = "snapshots"


def rebuild_working_warehouse(path: str | Path) -> Path | None:
    """Move the warehouse to `<file>.previous` and start a new one holding only its snapshots.

    Returns where the old warehouse went, or None when there was none.
    """
    path = Path(path)
    if not path.exists():
        return None
    previous = path.with_name(f"{path.name}.previous")
    for stale in (previous, Path(f"{previous}.wal")):
        stale.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("checkpoint")  # fold the write-ahead log into the file before moving it
    path.rename(previous)
    with warehouse.connect(path) as con:
        quoted = str(previous).replace("'", "''")
        con.execute(f"attach '{quoted}' as previous (read_only)")
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'previous' and table_schema = ? and table_type = 'BASE TABLE'",
                [SNAPSHOT_SCHEMA],
            ).fetchall()
        ]
        if tables:
            con.execute(f"create schema if not exists {SNAPSHOT_SCHEMA}")
        for table in tables:
            name = f'{SNAPSHOT_SCHEMA}."{table}"'
            con.execute(f"create table {name} as select * from previous.{name}")
        con.execute("detach previous")
    return previous
