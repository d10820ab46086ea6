"""bench/compare_engines.py: the check that a Spark build's marts equal the DuckDB build's.

A DuckDB warehouse with a few marts and a fake Spark build folder (Parquet files written by DuckDB
where Spark would write them), so each way the comparison must fail is tried without a JVM.
"""

from __future__ import annotations

import sys
from pathlib import Path

import bench_modules
import duckdb
import pytest

from dagster_project.ingestion.warehouse import connect

REPO = Path(__file__).resolve().parents[1]


compare_engines = bench_modules.load("compare_engines")

# (mart, DuckDB build's SQL, Spark build's SQL)
MARTS = {
    # equal; a double 1e-12 relative apart (each engine sums doubles in its own order)
    "same": (
        "select 'a' as id, cast(7 as bigint) as n, cast(0.3 as double) as x, date '2026-01-01' as d"
        " union all select 'b', 1, null, null",
        "select 'a' as id, cast(7 as bigint) as n, cast(0.3 as double) * (1 + 1e-12) as x, date '2026-01-01' as d"
        " union all select 'b', 1, null, null",
    ),
    # one value of a key column differs (rows pair by their sort order: b with c)
    "value": (
        "select 'a' as id, 1.5 as x union all select 'b', 2.5",
        "select 'a' as id, 1.5 as x union all select 'c', 2.5",
    ),
    # a double beyond the tolerance
    "double": ("select 'a' as id, cast(1 as double) as x", "select 'a' as id, cast(1 as double) + 1e-6 as x"),
    # an int where DuckDB has a bigint
    "types": ("select cast(1 as bigint) as n", "select cast(1 as integer) as n"),
    # a sum of integers left uncast: HUGEINT on DuckDB, BIGINT on Spark (the marts cast it to bigint)
    "sum_type": ("select cast(7 as hugeint) as n", "select cast(7 as bigint) as n"),
    # one row more
    "rows": ("select 1 as n", "select 1 as n union all select 1"),
}


@pytest.fixture
def builds(tmp_path: Path) -> tuple[Path, Path]:
    warehouse, spark_dir = tmp_path / "csat.duckdb", tmp_path / "spark"
    with connect(warehouse) as con:
        con.execute("create schema if not exists marts")
        for mart, (duck_sql, spark_sql) in {**MARTS, "not_on_spark": ("select 1 as n", None)}.items():
            con.execute(f"create table marts.{mart} as {duck_sql}")
            if spark_sql is None:
                continue
            folder = spark_dir / "warehouse" / "marts.db" / mart
            folder.mkdir(parents=True)
            con.execute(f"copy ({spark_sql}) to '{folder}/part-00000.parquet' (format parquet)")
            (folder / "_SUCCESS").write_text("")
    return warehouse, spark_dir


def test_each_difference_is_found(builds: tuple[Path, Path]) -> None:
    results = {r.mart: r for r in compare_engines.compare(*builds, skip=set())}
    assert results["same"].same, results["same"]
    assert results["same"].rows_inexact == 1 and 0 < results["same"].max_relative_difference < 1e-9
    assert (results["value"].same, results["value"].rows_differing) == (False, 1)
    assert results["value"].differing_columns == {"id": 1}
    assert (results["double"].same, results["double"].differing_columns) == (False, {"x": 1})
    assert (results["types"].same, results["types"].type_differences) == (False, ["n: BIGINT vs INTEGER"])
    assert results["sum_type"].type_differences == ["n: HUGEINT vs BIGINT"]
    assert (results["rows"].same, results["rows"].rows_duckdb, results["rows"].rows_spark) == (False, 1, 2)
    assert results["not_on_spark"].problem == "not built on Spark"


def test_skipped_marts_and_exit_code(builds: tuple[Path, Path], monkeypatch, capsys) -> None:
    warehouse, spark_dir = builds
    skip = [f"--skip={m}" for m in ("value", "double", "types", "sum_type", "rows", "not_on_spark")]
    monkeypatch.setattr(sys, "argv", ["compare_engines.py", str(warehouse), str(spark_dir), *skip])
    assert compare_engines.main() == 0
    assert "every mart the same on both engines" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["compare_engines.py", str(warehouse), str(spark_dir)])
    assert compare_engines.main() == 1
    assert "DIFFERENT" in capsys.readouterr().out


def test_two_published_copies(tmp_path: Path) -> None:
    """The published copies of a DuckDB-mode and a Spark-mode run: marts compared, the publication
    record (run ids and times) left out."""
    copies = {}
    for engine in ("duckdb", "spark"):
        copies[engine] = tmp_path / engine / "csat.duckdb"
        copies[engine].parent.mkdir()
        with duckdb.connect(str(copies[engine])) as con:
            con.execute("create schema marts")
            con.execute(f"create table marts.publication as select '{engine}-run' as dagster_run_id")
            con.execute("create table marts.kpi as select 'nps' as kpi, cast(12.5 as decimal(9, 4)) as value")
    same = compare_engines.compare_published(copies["duckdb"], copies["spark"], skip=set())
    assert [(r.mart, r.same) for r in same] == [("kpi", True)]
    with duckdb.connect(str(copies["spark"])) as con:
        con.execute("update marts.kpi set value = 12.6")
    [different] = compare_engines.compare_published(copies["duckdb"], copies["spark"], skip=set())
    assert (different.same, different.differing_columns) == (False, {"value": 1})
