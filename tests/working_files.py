"""The working warehouse as the tests open and copy it: its DuckDB file and, beside it, the marts
file dbt builds the marts into (settings.marts_path), attached as the pipeline attaches it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from dagster_project import settings
from dagster_project.ingestion.warehouse import attach_marts


def open_working(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A plain read-write connection (the configuration of dbt's own in-process connection, which a
    second connection in the same process must share), in UTC, with the marts file attached."""
    con = duckdb.connect(str(path))
    attach_marts(con, path)
    con.execute("set TimeZone = 'UTC'")
    return con


def copy_working(source: str | Path, target: str | Path) -> None:
    """Copy the warehouse and its marts file, each with its write-ahead log folded in first."""
    with open_working(source) as con:
        con.execute("checkpoint")
        con.execute(f"checkpoint {settings.MARTS_CATALOG}")
    shutil.copy(source, target)
    shutil.copy(settings.marts_path(source), settings.marts_path(target))
