"""What the command line prints after a run."""

from __future__ import annotations

from pathlib import Path

from dagster_project.contract import ENTITIES
from dagster_project.ingestion.warehouse import connect


def print_run_summary(warehouse: Path) -> None:
    if not warehouse.exists():
        return
    with connect(warehouse, read_only=True) as con:
        rejects = dict(con.execute("select entity, count(*) from raw.load_rejects group by all").fetchall())
        print(f"{'raw table':<24}{'rows':>12}{'rejected (all time)':>22}")
        for entity in ENTITIES:
            rows = con.execute(f"select count(*) from raw.{entity.name}").fetchone()[0]
            print(f"{'raw.' + entity.name:<24}{rows:>12,}{rejects.get(entity.name, 0):>22,}")
