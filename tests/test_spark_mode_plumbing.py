"""Spark mode's plumbing on DuckDB alone (no JVM): the raw export Spark registers and the mount that
makes Spark's Parquet tables readable in the working DuckDB. The whole pipeline on Spark is
tests/test_spark_pipeline.py."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from dagster_project import settings
from dagster_project.ingestion.warehouse import connect
from dagster_project.resources import warehouse_resource
from dagster_project.spark.mount import SparkTable, mount_spark_tables, spark_tables
from dagster_project.spark.raw_export import PARTIAL_SUFFIX, export_raw

from fixtures.manifests import manifest_node


def _customer(con: duckdb.DuckDBPyConnection, customer_id: str, email: str) -> None:
    con.execute(
        "insert into raw.customers (customer_id, full_name, email, segment, _source_file, _row_number, "
        "_file_sha256, _loaded_at) values (?, 'Ann Example', ?, 'retail', 'f.csv', 1, 'x', now())",
        [customer_id, email],
    )


def test_the_raw_export_equals_raw_without_personal_columns(warehouse_path: Path, tmp_path: Path):
    with connect(warehouse_path) as con:
        _customer(con, "C1", "ann@example.com")
        _customer(con, "C2", "bob@example.com")
        export = export_raw(con, tmp_path / "spark")
        raw_tables = {
            r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'raw'").fetchall()
        }
        exported = duckdb.sql(f"select * from read_parquet('{export}/customers/data.parquet') order by customer_id")
        assert exported.fetchall()[0][0] == "C1"
        assert {"email", "phone", "full_name", "birth_date"}.isdisjoint(exported.columns)
        assert {"customer_id", "segment", "_loaded_at"} <= set(exported.columns)
        assert "raw_values" not in duckdb.sql(f"select * from read_parquet('{export}/load_rejects/*.parquet')").columns
    assert {p.name for p in export.iterdir()} == raw_tables  # every raw table, empty ones too


def test_each_export_is_a_new_complete_folder_and_older_ones_are_removed(warehouse_path: Path, tmp_path: Path):
    spark_dir = tmp_path / "spark"
    with connect(warehouse_path) as con:
        _customer(con, "C1", "ann@example.com")
        first = export_raw(con, spark_dir)
        (spark_dir / "raw" / f"interrupted{PARTIAL_SUFFIX}").mkdir()  # an export that never finished
        con.execute("delete from raw.customers")  # e.g. an erasure: the next export no longer has the row
        second = export_raw(con, spark_dir)
        third = export_raw(con, spark_dir)
    # only the newest: an older export would keep the rows an erasure removed
    assert [p.name for p in (spark_dir / "raw").iterdir()] == [third.name]
    assert not first.exists() and not second.exists()
    assert duckdb.sql(f"select count(*) from read_parquet('{third}/customers/data.parquet')").fetchall() == [(0,)]


def _spark_like_table(location: Path, select: str) -> None:
    """A table folder as Spark writes it: part files, _SUCCESS, hidden checksums."""
    location.mkdir(parents=True)
    duckdb.sql(f"copy ({select}) to '{location / 'part-00000-x.snappy.parquet'}' (format parquet)")
    (location / "_SUCCESS").touch()
    (location / ".part-00000-x.snappy.parquet.crc").write_bytes(b"\x00")


def test_mounted_tables_read_like_the_duckdb_build(warehouse_path: Path, tmp_path: Path):
    root = tmp_path / "spark" / "warehouse"
    _spark_like_table(
        root / "marts.db" / "kpi",
        "select 1::bigint as n, timestamptz '2026-03-01 10:00:00+00' as loaded_at, 0.5::decimal(38,10) as v",
    )
    _spark_like_table(root / "marts.db" / "empty", "select 1::bigint as n where false")
    (root / "seeds.db" / "no_rows").mkdir(parents=True)  # dbt-spark writes no file for an empty seed
    tables = [
        SparkTable("marts", "kpi", root / "marts.db" / "kpi"),
        SparkTable("marts", "empty", root / "marts.db" / "empty"),
        SparkTable("seeds", "no_rows", root / "seeds.db" / "no_rows", (("entity", "string"), ("weight", "double"))),
    ]
    with connect(warehouse_path) as con:
        con.execute("create schema if not exists marts")
        con.execute("create table marts.kpi as select 99 as stale")  # left by an earlier DuckDB build
        con.execute("set TimeZone = 'America/New_York'")  # the UTC wall clock must not depend on it
        assert mount_spark_tables(con, tables) == ["marts.kpi", "marts.empty", "seeds.no_rows"]
        described = {r[0]: r[1] for r in con.execute("describe marts.kpi").fetchall()}
        assert described == {"n": "BIGINT", "loaded_at": "TIMESTAMP", "v": "DECIMAL(38,10)"}
        assert con.execute("select n, strftime(loaded_at, '%Y-%m-%d %H:%M'), v from marts.kpi").fetchall() == [
            (1, "2026-03-01 10:00", pytest.approx(0.5))
        ]
        assert con.execute("select count(*) from marts.empty").fetchone() == (0,)
        assert con.execute("describe seeds.no_rows").fetchall()[1][:2] == ("weight", "DOUBLE")
        assert con.execute("select count(*) from seeds.no_rows").fetchone() == (0,)


def test_a_table_without_files_fails_the_mount_and_changes_nothing(warehouse_path: Path, tmp_path: Path):
    root = tmp_path / "spark" / "warehouse"
    _spark_like_table(root / "marts.db" / "good", "select 1 as n")
    (root / "marts.db" / "lost").mkdir()
    tables = [
        SparkTable("marts", "good", root / "marts.db" / "good"),
        SparkTable("marts", "lost", root / "marts.db" / "lost"),
    ]
    with connect(warehouse_path) as con:
        with pytest.raises(FileNotFoundError, match="marts.lost"):
            mount_spark_tables(con, tables)
        assert con.execute("select count(*) from duckdb_views() where schema_name = 'marts'").fetchone() == (0,)


def test_the_tables_to_mount_come_from_the_builds_manifest(tmp_path: Path):
    def node(name, resource_type, materialized, schema):
        return manifest_node(resource_type, schema, name, materialized, alias=name)

    manifest = tmp_path / "manifest.json"
    nodes = [
        node("stg_x", "model", "view", "staging"),
        node("int_x", "model", "table", "intermediate"),
        node("kpi_monthly", "model", "table", "marts"),
        node("channels", "seed", "seed", "seeds"),
        node("not_null_kpi", "test", "test", "dbt_test__audit"),
    ]
    manifest.write_text(json.dumps({"nodes": {f"n{i}": n for i, n in enumerate(nodes)}}))
    nodes[3]["config"]["column_types"] = {"channel": "string", "weight": "double"}
    manifest.write_text(json.dumps({"nodes": {f"n{i}": n for i, n in enumerate(nodes)}}))
    found = spark_tables(manifest, tmp_path / "spark")
    assert found[2].declared == (("channel", "string"), ("weight", "double"))
    assert [(t.schema, t.name) for t in found] == [
        ("intermediate", "int_x"),
        ("marts", "kpi_monthly"),
        ("seeds", "channels"),
    ]
    assert found[1].location == (tmp_path / "spark" / "warehouse" / "marts.db" / "kpi_monthly").resolve()


def test_the_engine_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("CSAT_ENGINE", raising=False)
    monkeypatch.delenv("CSAT_SPARK_DIR", raising=False)
    assert settings.engine() == "duckdb"
    resource = warehouse_resource(tmp_path / "w.duckdb")
    assert (resource.engine, resource.spark_dir) == ("duckdb", str((tmp_path / "w.spark").resolve()))
    monkeypatch.setenv("CSAT_ENGINE", "Spark")
    assert settings.engine() == "spark"
    assert warehouse_resource(tmp_path / "w.duckdb", engine="duckdb").engine == "duckdb"  # `csat run --engine`
    monkeypatch.setenv("CSAT_ENGINE", "postgres")
    with pytest.raises(ValueError, match="CSAT_ENGINE='postgres': expected one of duckdb, spark"):
        settings.engine()
    monkeypatch.setenv("CSAT_SPARK_DRIVER_MEMORY", "lots")
    with pytest.raises(ValueError, match="JVM size"):
        settings.spark_driver_memory()
