"""Rebuild the working warehouse from the landing folder, keeping what only the warehouse knows.

Every delivery stays in the landing folder, so the raw tables can always be loaded again, and
loading the customer files again in delivery order records every customer version they delivered
again (raw.customers_history, from which dbt derives dim_customer's history). What the landing
folder cannot give back is carried over: customer versions read from a CRM database, and versions
recorded before that table existed (a former dbt snapshot's). Use it after removing or fixing a bad
delivery whose rows already replaced good ones (the survey re-delivery check stays red until then).
The published copy is untouched: BI tools keep the last good numbers until the rebuilt warehouse
passes the quality gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project import run_lock, settings
from dagster_project.contract import ENTITIES
from dagster_project.ingestion import history, warehouse
from dagster_project.ingestion.files import discover_files, landing_file_of


@dataclass(frozen=True)
class LostDelivery:
    """A file the warehouse loaded that the landing folder no longer holds."""

    entity: str
    source_file: str
    rows_loaded: int


def _landing_key(source_file: str) -> str:
    """`<source>/<entity>/<rest>` of a recorded file path, so a moved landing folder still matches:
    from the last entity folder in the path, which is the entity's own or the one whose files its
    mapping reads (`files_of`). A part of a landing file is recorded as `<archive>.zip/<file>` or
    `<workbook>.xlsx/<sheet>`: its key is the landing file's that holds it."""
    index = max(source_file.rfind(f"/{e.source}/{e.name}/") for e in ENTITIES)
    key = source_file[index + 1 :] if index >= 0 else source_file
    return landing_file_of(key)


def deliveries_missing_from_landing(path: str | Path, landing: str | Path) -> list[LostDelivery]:
    """Files in the warehouse's load manifest that are not in `landing` any more: a rebuild from the
    landing folder would lose their rows. CRM database snapshots (no landing file) are not counted."""
    path, landing = Path(path), Path(landing)
    if not path.exists():
        return []
    present: set[str] = set()
    for entity in ENTITIES:
        for file in discover_files(landing, entity):
            present.add(_landing_key(str(file.resolve())))
    with duckdb.connect(str(path), read_only=True) as con:
        known = con.execute(
            "select entity, source_file, sum(rows_loaded) from raw.load_manifest "
            "where source_file not like '%://%' group by all order by entity, source_file"
        ).fetchall()
    return [
        LostDelivery(entity, source_file, int(rows))
        for entity, source_file, rows in known
        if _landing_key(source_file) not in present
    ]


def lost_deliveries_message(lost: list[LostDelivery], landing: str | Path, *, shown: int = 10) -> str:
    rows = sum(d.rows_loaded for d in lost)
    lines = [
        f"--rebuild refused: {len(lost)} file(s) the warehouse loaded ({rows:,} rows) are not in {landing}; "
        "rebuilding would lose them:"
    ]
    lines += [f"  {d.entity}: {d.source_file} ({d.rows_loaded:,} rows)" for d in lost[:shown]]
    if len(lost) > shown:
        lines.append(f"  ... and {len(lost) - shown} more")
    lines.append("Check the landing path; if removing them is intended, run again with --rebuild --force.")
    return "\n".join(lines)


def rebuild_working_warehouse(path: str | Path) -> Path | None:
    """Move the warehouse to `<file>.previous` and start a new one holding only the customer versions
    its landing files cannot give back (history.carry_over).

    Returns where the old warehouse went, or None when there was none.
    """
    path = Path(path)
    if not path.exists():
        return None
    previous = path.with_name(f"{path.name}.previous")
    run_lock.secure_warehouse_dir(path)
    for stale in (previous, Path(f"{previous}.wal")):
        stale.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("checkpoint")  # fold the write-ahead log into the file before moving it
    path.rename(previous)
    # The marts are rebuilt from the new warehouse: the old marts file goes (a new one is attached).
    for marts in (settings.marts_path(path), Path(f"{settings.marts_path(path)}.wal")):
        marts.unlink(missing_ok=True)
    with warehouse.connect(path) as con:
        quoted = str(previous).replace("'", "''")
        con.execute(f"attach '{quoted}' as previous (read_only)")
        history.carry_over(con, "previous")
        con.execute("detach previous")
    run_lock.secure_warehouse_files(path)  # .previous holds personal data in clear: owner-only
    return previous
