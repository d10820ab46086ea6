"""Spark mode end to end (issue 15): the whole pipeline with dbt on local Spark (session mode,
local[2], UTC) publishes exactly what the DuckDB build publishes from the same landing folder, also
after a re-delivery with a rejected row; a failed Spark build publishes nothing.

Each dbt command on Spark starts a JVM (about 25 s) and a Spark build of the project takes minutes,
so the module shares one landing folder and runs each engine twice; it is marked `spark` (never in
the fast subset)."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from csat_sample_data import generate_sample_data
from dagster_project.contract import entity
from dagster_project.definitions import PIPELINE_JOB, build_definitions
from dagster_project.publication.layout import DATABASE_FILE, PUBLICATION_TABLE

pytestmark = pytest.mark.spark

DOUBLE_DECIMALS = 9  # doubles are summed in a different order by each engine (README, "Running on Spark")


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


def failures(result: dg.ExecuteInProcessResult) -> str:
    return "\n".join(
        e.step_failure_data.error.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    )


def published(root: Path) -> Path:
    return root / "published" / DATABASE_FILE


def mart_differences(duckdb_build: Path, spark_build: Path) -> dict[str, str]:
    """Per published mart: what differs between the two builds (row count, columns and their types,
    rows), {} when every mart is identical. Doubles compared at DOUBLE_DECIMALS decimals."""
    con = duckdb.connect()
    con.execute(f"attach '{duckdb_build}' as d (read_only)")
    con.execute(f"attach '{spark_build}' as s (read_only)")

    def marts(db: str) -> set[str]:  # the publication record names its run: not a mart
        sql = "select table_name from information_schema.tables where table_catalog = ? and table_schema = 'marts'"
        return {r[0] for r in con.execute(sql, [db]).fetchall()} - {PUBLICATION_TABLE}

    differences = {}
    assert len(marts("d")) > 20
    for mart in sorted(marts("d") | marts("s")):
        if mart not in marts("d") or mart not in marts("s"):
            differences[mart] = "published by one engine only"
            continue
        d, s = f'd.marts."{mart}"', f's.marts."{mart}"'
        types_d = con.execute(f"select column_name, column_type from (describe {d})").fetchall()
        types_s = con.execute(f"select column_name, column_type from (describe {s})").fetchall()
        if types_d != types_s:
            differences[mart] = f"columns {sorted(set(types_d) ^ set(types_s))}"
            continue
        columns = ", ".join(
            f'round("{c}", {DOUBLE_DECIMALS}) as "{c}"' if kind in ("DOUBLE", "FLOAT") else f'"{c}"'
            for c, kind in types_d
        )
        counts = [con.execute(f"select count(*) from {t}").fetchone()[0] for t in (d, s)]
        only = [
            con.execute(
                f"select count(*) from (select {columns} from {a} except all select {columns} from {b})"
            ).fetchone()[0]
            for a, b in ((d, s), (s, d))
        ]
        if counts[0] != counts[1] or any(only):
            differences[mart] = f"rows {counts[0]} vs {counts[1]}, only in duckdb {only[0]}, only in spark {only[1]}"
    return differences


def redeliver(landing: Path) -> tuple[str, str]:
    """A second CRM delivery: one customer re-delivered with a new segment, one row that breaks the
    contract (no key). Returns the customer and its new segment."""
    customers = entity("customers")
    [first] = sorted((landing / customers.source / customers.name).glob("*"))
    with open(first, newline="", encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    changed = {
        **row,
        "segment": "enterprise" if row["segment"] != "enterprise" else "smb",
        "updated_at": "2026-10-30T08:00:00Z",
    }
    broken = {**row, "customer_id": ""}
    path = landing / customers.source / customers.name / "zz_redelivery.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerows([changed, broken])
    return row["customer_id"], changed["segment"]


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("engines")
    generate_sample_data(root / "landing", seed=15, responses=2000, months=8)
    roots = {"duckdb": root / "duckdb", "spark": root / "spark"}
    for engine, path in roots.items():
        result = run(path, engine)
        assert result.success, failures(result)
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


def test_a_redelivery_with_a_rejected_row_builds_the_same_on_both_engines(builds):
    landing = builds["duckdb"].parent / "landing"
    customer_id, segment = redeliver(landing)
    for engine, root in builds.items():
        result = run(root, engine)
        assert result.success, failures(result)
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
    assert "warehouse_models" in failures(result) or failures(result)
    assert hashlib.sha256(published(root).read_bytes()).hexdigest() == before
