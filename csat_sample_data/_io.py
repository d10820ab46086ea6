"""Writing generated arrays to landing files through DuckDB, and small SQL-building helpers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import numpy as np

from dagster_project.contract import ENTITIES, entity

# Sentinel for "no value" in integer arrays handed to DuckDB (turned into NULL with nullif()).
NA = -(2**62)

_COPY_OPTIONS = {
    "csv": "(FORMAT csv, HEADER true)",
    "jsonl": "(FORMAT json)",
    "parquet": "(FORMAT parquet, COMPRESSION zstd)",
}


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: Iterable[str]) -> str:
    """A DuckDB list literal; index it 1-based: `{sql_list(x)}[code + 1]`."""
    return "[" + ", ".join(sql_str(v) for v in values) + "]"


def lookup(values: Iterable[str], code_column: str) -> str:
    """SQL mapping an integer code column (0-based, NA = NULL) to its text."""
    return f"{sql_list(values)}[nullif({code_column}, {NA}) + 1]"


def ident(prefix: str, column: str, width: int) -> str:
    """SQL formatting a 0-based integer index as an id, e.g. C00000001 (NA -> NULL)."""
    return f"{sql_str(prefix)} || lpad((nullif({column}, {NA}) + 1)::varchar, {width}, '0')"


def ts_text(column: str, style: str | int = 0) -> str:
    """SQL formatting epoch seconds (NA -> NULL) as ISO 8601 text.

    style 0: `2025-03-01T08:15:00Z`, 1: `2025-03-01T16:15:00+08:00` (China Standard Time),
    2: naive `2025-03-01 08:15:00` (UTC by contract). `style` may be a column.
    """
    t = f"make_timestamp(nullif({column}, {NA}) * 1000000)"
    return (
        f"case {style} when 0 then strftime({t}, '%Y-%m-%dT%H:%M:%SZ') "
        f"when 1 then strftime({t} + interval 8 hour, '%Y-%m-%dT%H:%M:%S+08:00') "
        f"else strftime({t}, '%Y-%m-%d %H:%M:%S') end"
    )


def date_text(days_column: str) -> str:
    """SQL formatting days since 1970-01-01 (NA -> NULL) as an ISO date."""
    return f"strftime(date '1970-01-01' + nullif({days_column}, {NA})::integer, '%Y-%m-%d')"


def nullable(column: str) -> str:
    return f"nullif({column}, {NA})"


def to_int(values: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """Float or int array -> int64 with NA where `missing` (or the value is not finite)."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values)
        out = np.where(bad, 0, np.floor(np.where(bad, 0, values))).astype(np.int64)
        out[bad] = NA
    else:
        out = values.astype(np.int64, copy=True)
    if missing is not None:
        out[missing] = NA
    return out


class LandingWriter:
    """Writes one file per call under `<landing>/<source>/<entity>/` and keeps the counts."""

    def __init__(self, landing_dir: Path) -> None:
        self.landing_dir = Path(landing_dir)
        self.con = duckdb.connect()
        self.con.execute("set TimeZone = 'UTC'")
        self.con.execute("set enable_progress_bar = false")
        self.files: list[Path] = []
        self.delivered = {e.name: 0 for e in ENTITIES}

    def path(self, entity_name: str, file_name: str) -> Path:
        ent = entity(entity_name)
        folder = self.landing_dir / ent.source / ent.name
        folder.mkdir(parents=True, exist_ok=True)
        return folder / file_name

    def write(
        self,
        entity_name: str,
        file_name: str,
        data: Mapping[str, np.ndarray],
        select_sql: str,
        fmt: str,
        rows: int,
        encoding: str = "utf-8",
    ) -> Path:
        """Run `select_sql` (reading the table `chunk` made of `data`) into a file of format `fmt`."""
        path = self.path(entity_name, file_name)
        target = path if encoding == "utf-8" else path.with_name(path.name + ".utf8.tmp")
        self.con.register("chunk", dict(data))
        try:
            self.con.execute(f"copy ({select_sql}) to {sql_str(str(target))} {_COPY_OPTIONS[fmt]}")
        finally:
            self.con.unregister("chunk")
        if target != path:
            _transcode(target, path, encoding)
        self.files.append(path)
        self.delivered[entity_name] += int(rows)
        return path

    def close(self) -> None:
        self.con.close()


def _transcode(source: Path, target: Path, encoding: str, chunk_chars: int = 1 << 22) -> None:
    with open(source, encoding="utf-8", newline="") as src, open(target, "w", encoding=encoding, newline="") as dst:
        while True:
            block = src.read(chunk_chars)
            if not block:
                break
            dst.write(block)
    os.remove(source)
