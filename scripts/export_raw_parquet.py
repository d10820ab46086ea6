"""Export every table of a DuckDB warehouse's `raw` schema to Parquet, for the dbt build on Spark.

    python scripts/export_raw_parquet.py data/warehouse/csat.duckdb /tmp/raw-export-1

Writes `<out_dir>/<table>/data.parquet` per raw table (an empty table too, so Spark sees its
columns), which the dbt project's on-run-start hook registers as `raw.<table>` on Spark (dbt var
`csat_raw_parquet_dir`). The folder must be new or empty: Spark reads every file of a table's folder,
so a stale file left by an earlier export would be read as rows of this one. Timestamps are written
as Parquet TIMESTAMP (microseconds, not adjusted to UTC), which Spark reads as TIMESTAMP_NTZ, the
type of a DuckDB TIMESTAMP. The work is DuckDB's COPY: nothing passes through Python.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb


def export_raw(warehouse: Path, out_dir: Path, schema: str = "raw") -> dict[str, int]:
    """Copy each table of `schema` to `<out_dir>/<table>/data.parquet`; returns rows per table."""
    if not warehouse.is_file():
        raise FileNotFoundError(f"{warehouse}: no such DuckDB warehouse file")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir}: not empty; export into a fresh folder (stale files would be read too)")
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
                " where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
                [schema],
            ).fetchall()
        ]
        if not tables:
            raise ValueError(f"{warehouse}: no tables in schema {schema!r}; run the ingestion first")
        for table in tables:
            target = out_dir / table
            target.mkdir()
            path = str(target / "data.parquet").replace("'", "''")
            con.execute(f"copy {schema}.\"{table}\" to '{path}' (format parquet, compression zstd)")
            counts[table] = con.execute(f'select count(*) from {schema}."{table}"').fetchone()[0]
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description="Export a warehouse's raw schema to Parquet for dbt on Spark.")
    parser.add_argument("warehouse", type=Path, help="DuckDB warehouse file")
    parser.add_argument("out_dir", type=Path, help="new or empty folder; one sub-folder per raw table")
    args = parser.parse_args()
    try:
        counts = export_raw(args.warehouse, args.out_dir)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for table, rows in counts.items():
        print(f"raw.{table:<28}{rows:>10,} rows")
    print(f"exported {len(counts)} tables to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
