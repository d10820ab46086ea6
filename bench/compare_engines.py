"""Are the marts built by dbt on Spark the same as the DuckDB build? Every mart, column and row.

    python bench/compare_engines.py data/warehouse/csat.duckdb data/warehouse/csat.spark [--skip MART]
    python bench/compare_engines.py duckdb-run/published/csat.duckdb spark-run/published/csat.duckdb

With a Spark folder (CSAT_SPARK_DIR, the dbt var csat_spark_dir) as the second argument: each table
of the DuckDB warehouse's schema `marts` against the Parquet files Spark wrote for it
(`<spark dir>/warehouse/marts.db/<table>/*.parquet`, what a Spark-mode run mounts). With two
published copies (`csat.duckdb` of CSAT_PUBLISHED_DIR): every published mart of a DuckDB-mode run
against a Spark-mode run's, the key-driver mart (a Dagster asset on both engines) included and the
publication record (run ids, times) left out. Per mart:

- row counts;
- columns: names, order and types as DuckDB reads them, which must be the same;
- values: the rows of both sides are sorted by every column (the non-double columns first, so
  that rows pair by their keys) and compared pairwise; a double equals when both are NULL, both
  are the same (infinities, NaN) or they differ by at most 1e-9 relative (`--rel-tol`), every other
  type exactly.

Exit code 0 when every mart is the same, 1 otherwise. `compare_marts.py` compares two DuckDB
warehouses; this compares across engines, where doubles may differ in their last bits.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import settings

PUBLICATION_RECORD = "publication"  # dagster_project.publication.layout.PUBLICATION_TABLE
FLOATING = {"DOUBLE", "FLOAT", "REAL"}


@dataclass
class MartComparison:
    mart: str
    rows_duckdb: int | None = None
    rows_spark: int | None = None
    type_differences: list[str] = field(default_factory=list)
    rows_differing: int | None = None
    differing_columns: dict[str, int] = field(default_factory=dict)
    max_relative_difference: float | None = None
    rows_inexact: int | None = None
    problem: str | None = None

    @property
    def same(self) -> bool:
        return (
            self.problem is None
            and not self.type_differences
            and self.rows_duckdb == self.rows_spark
            and self.rows_differing == 0
        )


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def compare_mart(con: duckdb.DuckDBPyConnection, mart: str, duck: str, spark: str, rel_tol: float) -> MartComparison:
    """Compare the relations `duck` (DuckDB build) and `spark` (Spark build) of one mart."""
    result = MartComparison(mart)
    try:
        spark_types = con.execute(f"select column_name, column_type from (describe select * from {spark})").fetchall()
    except duckdb.Error as exc:
        result.problem = f"Spark's files unreadable: {exc}".splitlines()[0]
        return result
    duck_types = con.execute(f"select column_name, column_type from (describe select * from {duck})").fetchall()
    result.rows_duckdb = con.execute(f"select count(*) from {duck}").fetchone()[0]
    result.rows_spark = con.execute(f"select count(*) from {spark}").fetchone()[0]

    if [name for name, _ in duck_types] != [name for name, _ in spark_types]:
        result.problem = f"columns differ: DuckDB {[n for n, _ in duck_types]} vs Spark {[n for n, _ in spark_types]}"
        return result
    for (name, duck_type), (_, spark_type) in zip(duck_types, spark_types, strict=True):
        if duck_type == spark_type:
            continue
        result.type_differences.append(f"{name}: {duck_type} vs {spark_type}")

    # Pair the rows: sort both sides by every column, non-doubles first (in practice the key).
    names = [name for name, _ in duck_types]
    floating = {name for name, kind in duck_types if kind in FLOATING}
    order = ", ".join(quote(n) for n in [*sorted(set(names) - floating, key=names.index), *sorted(floating)])
    order = order or "1"
    sides = (
        f"with d as (select *, row_number() over (order by {order} nulls first) as _pair from {duck}),"
        f" s as (select *, row_number() over (order by {order} nulls first) as _pair from {spark})"
    )
    checks = []
    for name in names:
        d, s = f"d.{quote(name)}", f"s.{quote(name)}"
        if name in floating:
            checks.append(
                f"not ({d} is not distinct from {s} or abs({d} - {s}) <= {rel_tol!r} * greatest(abs({d}), abs({s})))"
            )
        else:
            checks.append(f"{d} is distinct from {s}")
    flags = ", ".join(f"({check}) as c{i}" for i, check in enumerate(checks))
    relative = " , ".join(
        f"max(case when d.{quote(n)} <> s.{quote(n)} then abs(d.{quote(n)} - s.{quote(n)})"
        f" / greatest(abs(d.{quote(n)}), abs(s.{quote(n)})) end)"
        for n in sorted(floating)
    )
    counts = ", ".join(f"count(*) filter (where c{i})" for i in range(len(names)))
    row = con.execute(
        f"{sides}, flags as (select {flags} from d full join s using (_pair))"
        f" select count(*) filter (where {' or '.join(f'c{i}' for i in range(len(names)))}), {counts} from flags"
    ).fetchone()
    result.rows_differing = row[0]
    result.differing_columns = {name: n for name, n in zip(names, row[1:], strict=True) if n}
    if floating:
        # how far the doubles are apart where they are not bit for bit the same (within tolerance)
        inexact = " or ".join(f"d.{quote(n)} is distinct from s.{quote(n)}" for n in sorted(floating))
        row = con.execute(
            f"{sides} select {relative}, count(*) filter (where {inexact}) from d join s using (_pair)"
        ).fetchone()
        present = [m for m in row[:-1] if m is not None]
        result.max_relative_difference = max(present) if present else 0.0
        result.rows_inexact = row[-1]
    return result


def compare(duckdb_path: Path, spark_dir: Path, skip: set[str], rel_tol: float = 1e-9) -> list[MartComparison]:
    marts_dir = spark_dir / "warehouse" / "marts.db"
    con = duckdb.connect()
    con.execute(f"attach {literal(str(settings.marts_path(duckdb_path)))} as duck (read_only)")  # its marts file
    duck_marts = _marts(con, "duck")
    spark_marts = {p.name for p in marts_dir.iterdir() if p.is_dir()} if marts_dir.is_dir() else set()
    spark = {mart: f"read_parquet({literal(str(marts_dir / mart / '*.parquet'))})" for mart in spark_marts}
    return _compare_all(con, duck_marts, spark, skip, rel_tol)


def compare_published(
    duckdb_copy: Path, spark_copy: Path, skip: set[str], rel_tol: float = 1e-9
) -> list[MartComparison]:
    """Every published mart of a DuckDB-mode run against a Spark-mode run's (two published copies)."""
    con = duckdb.connect()
    con.execute(f"attach {literal(str(duckdb_copy))} as duck (read_only)")
    con.execute(f"attach {literal(str(spark_copy))} as spark (read_only)")
    skip = skip | {PUBLICATION_RECORD}
    return _compare_all(
        con, _marts(con, "duck"), {m: f"spark.marts.{quote(m)}" for m in _marts(con, "spark")}, skip, rel_tol
    )


def _marts(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    sql = "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'marts'"
    return {name for (name,) in con.execute(sql, [catalog]).fetchall()}


def _compare_all(
    con: duckdb.DuckDBPyConnection, duck_marts: set[str], spark: dict[str, str], skip: set[str], rel_tol: float
) -> list[MartComparison]:
    results = []
    for mart in sorted((duck_marts | set(spark)) - skip):
        if mart not in spark:
            results.append(MartComparison(mart, problem="not built on Spark"))
        elif mart not in duck_marts:
            results.append(MartComparison(mart, problem="not in the DuckDB build"))
        else:
            results.append(compare_mart(con, mart, f"duck.marts.{quote(mart)}", spark[mart], rel_tol))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description="Compare the marts of a Spark build with the DuckDB build.")
    parser.add_argument(
        "duckdb_warehouse", type=Path, help="the DuckDB warehouse file, or a DuckDB-mode run's published csat.duckdb"
    )
    parser.add_argument(
        "spark",
        type=Path,
        help="the Spark build's folder (CSAT_SPARK_DIR), or a Spark-mode run's published csat.duckdb",
    )
    parser.add_argument("--skip", action="append", default=[], help="a mart not built on Spark (repeatable)")
    parser.add_argument("--rel-tol", type=float, default=1e-9, help="relative tolerance for doubles")
    args = parser.parse_args()
    compare_with = compare_published if args.spark.is_file() else compare
    results = compare_with(args.duckdb_warehouse, args.spark, set(args.skip), args.rel_tol)
    print(
        f"| {'mart':<28} | {'rows DuckDB':>11} | {'rows Spark':>10} | {'rows differing':>14} "
        "| doubles not bit-equal: rows | max rel. diff | column types |"
    )
    print(f"|{'-' * 30}|{'-' * 13}|{'-' * 12}|{'-' * 16}|{'-' * 29}|{'-' * 15}|--------------|")
    for r in results:
        if r.problem:
            print(f"| {r.mart:<28} | {'':>11} | {'':>10} | {'':>14} | {'':>27} | {'':>13} | {r.problem} |")
            continue
        types = "; ".join(r.type_differences) or "same"
        rel = "" if r.max_relative_difference is None else f"{r.max_relative_difference:.1e}"
        inexact = "" if r.rows_inexact is None else f"{r.rows_inexact:,}"
        print(
            f"| {r.mart:<28} | {r.rows_duckdb:>11,} | {r.rows_spark:>10,} | {r.rows_differing:>14,} "
            f"| {inexact:>27} | {rel:>13} | {types} |"
        )
        if r.differing_columns:
            print(f"|   differing columns: {r.differing_columns}")
    same = all(r.same for r in results)
    print("every mart the same on both engines" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
