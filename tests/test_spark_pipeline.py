"""Spark mode end to end (issue 15): the whole pipeline with dbt on local Spark (session mode,
local[2], UTC) publishes exactly what the DuckDB build publishes from the same landing folder, also
after a re-delivery with a rejected row; a failed Spark build publishes nothing.

Each dbt command on Spark starts a JVM (about 25 s) and a Spark build of the project takes minutes,
so the module shares one landing folder and runs each engine twice; it is marked `spark` (never in
the fast subset)."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import bench_modules
import dagster as dg
import duckdb
import pytest

from csat_sample_data import generate_sample_data
from dagster_project.contract import entity
from dagster_project.definitions import PIPELINE_JOB, build_definitions
from dagster_project.publication.layout import DATABASE_FILE
from dagster_project.run_summary import failure_lines, skipped_steps

from kpi_reference import unit_test_statuses

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[1]


compare_engines = bench_modules.load("compare_engines")


def run(root: Path, engine: str) -> dg.ExecuteInProcessResult:
    defs = build_definitions(
        landing_dir=root.parent / "landing",
        warehouse_path=root / "warehouse" / "csat.duckdb",
        published_dir=root / "published",
        quality_dir=root / "quality",
        reports_dir=root / "reports",
        engine=engine,
    )
    return defs.resolve_job_def(PIPELINE_JOB).execute_in_process(raise_on_error=False)


def complete(result: dg.ExecuteInProcessResult) -> bool:
    """The run passed and skipped nothing (a lost dbt event would skip publication silently)."""
    return result.success and not skipped_steps(result)


def published(root: Path) -> Path:
    return root / "published" / DATABASE_FILE


def mart_differences(duckdb_copy: Path, spark_copy: Path) -> dict[str, str]:
    """Per published mart, what differs between the two runs (bench/compare_engines.py: row counts,
    column names and types, values; doubles within 1e-9 relative); {} when all are the same."""
    results = compare_engines.compare_published(duckdb_copy, spark_copy, skip=set())
    assert len(results) > 20 and "driver_importance_quarterly" in {r.mart for r in results}
    return {r.mart: str(r) for r in results if not r.same}


def redeliver(landing: Path) -> tuple[str, str]:
    """A second CRM delivery: 40 customers re-delivered, the first with another segment, and one row
    that breaks the contract (no key: a reject, 1 in 41, under the gate's 5 % reject share). Returns
    the changed customer and its new segment as dim_customer cleans it."""
    customers = entity("customers")
    folder = landing / customers.source / customers.name
    first = sorted(folder.glob("*.csv"))[0]
    with open(first, newline="", encoding="gb18030") as f:  # the generator's CRM export is not UTF-8
        rows = list(csv.DictReader(f))[:40]
    segment = "Regular" if rows[0]["segment"] != "Regular" else "VIP"
    rows[0] = {**rows[0], "segment": segment, "updated_at": "2026-11-20T08:00:00Z"}
    broken = {**rows[1], "customer_id": ""}
    with open(folder / "zz_redelivery.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, broken])
    return rows[0]["customer_id"], segment.lower()


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("engines")
    generate_sample_data(root / "landing", seed=15, responses=2000, months=8)
    roots = {"duckdb": root / "duckdb", "spark": root / "spark"}
    for engine, path in roots.items():
        result = run(path, engine)
        assert complete(result), failure_lines(result)
    return roots


def test_spark_publishes_exactly_what_duckdb_publishes(builds):
    assert mart_differences(published(builds["duckdb"]), published(builds["spark"])) == {}
    scorecard = builds["spark"] / "reports" / "scorecard.html"
    assert "NPS" in scorecard.read_text(encoding="utf-8")
    # The raw layer Spark read is the export of committed raw; Spark's tables are Parquet
    spark_dir = builds["spark"] / "warehouse" / "csat.spark"
    assert list((spark_dir / "warehouse" / "marts.db" / "kpi_monthly").glob("*.parquet"))
    [export] = sorted((spark_dir / "raw").iterdir())[-1:]
    assert "email" not in duckdb.sql(f"select * from read_parquet('{export}/customers/*.parquet')").columns
    # Spark's metastore and Derby's log stay in the Spark folder, not where dbt or the tests run
    assert (spark_dir / "metastore_db").is_dir() and (spark_dir / "derby.log").is_file()
    for folder in (Path.cwd(), REPO / "dbt_project"):
        assert not {"metastore_db", "derby.log", "spark-warehouse"} & {p.name for p in folder.iterdir()}


def test_a_redelivery_with_a_rejected_row_builds_the_same_on_both_engines(builds):
    landing = builds["duckdb"].parent / "landing"
    customer_id, segment = redeliver(landing)
    for engine, root in builds.items():
        result = run(root, engine)
        assert complete(result), failure_lines(result)
    assert mart_differences(published(builds["duckdb"]), published(builds["spark"])) == {}
    with duckdb.connect(str(published(builds["spark"])), read_only=True) as con:
        current = con.execute(
            "select count(*) from marts.dim_customer where customer_id = ? and is_current and segment = ?",
            [customer_id, segment],
        ).fetchone()
    assert current == (1,)
    with duckdb.connect(str(builds["spark"] / "warehouse" / "csat.duckdb"), read_only=True) as con:
        rejects = con.execute(
            "select rule from raw.load_rejects where source_file like '%zz_redelivery.csv'"
        ).fetchall()
    assert rejects == [("required",)]


def test_every_dbt_unit_test_passes_on_spark(builds, tmp_path):
    # A pipeline run leaves dbt's unit tests out (they check logic on fixed inline rows): here they
    # run on Spark, against the last run's Spark folder and raw export.
    spark_dir = builds["spark"] / "warehouse" / "csat.spark"
    [export] = [p for p in (spark_dir / "raw").iterdir() if not p.name.endswith(".partial")]
    dbt_vars = {"csat_spark_dir": str(spark_dir), "csat_raw_parquet_dir": str(export)}
    project = str(REPO / "dbt_project")
    command = [str(Path(sys.executable).with_name("dbt")), "test", "--select", "test_type:unit", "--target", "spark"]
    command += ["--vars", json.dumps(dbt_vars), "--project-dir", project, "--profiles-dir", project]
    command += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path)]
    finished = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    declared, ran = unit_test_statuses(tmp_path / "target")
    assert len(declared) >= 20 and set(ran) == declared and set(ran.values()) == {"pass"}


def test_a_failed_spark_build_publishes_nothing(builds, monkeypatch):
    root = builds["spark"]
    before = hashlib.sha256(published(root).read_bytes()).hexdigest()
    # A raw export Spark cannot read: the build fails in dbt, after ingestion and the raw checks passed
    from dagster_project.assets import warehouse as warehouse_assets

    def broken_export(con, spark_dir):
        folder = Path(spark_dir) / "raw" / "broken"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    monkeypatch.setattr(warehouse_assets, "export_raw", broken_export)
    result = run(root, "spark")
    assert not result.success
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failed == ["warehouse_models"]
    assert hashlib.sha256(published(root).read_bytes()).hexdigest() == before
