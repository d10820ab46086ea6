"""A SQLAlchemy-based BI client (the way Superset, Metabase's Python tools, pandas and others
connect) opens the published DuckDB file read-only with duckdb-engine, lists the marts' tables and
columns and reads rows, in a separate process (as a BI server would), while the pipeline may
republish. Parquet files are read the same way through DuckDB."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from dagster_project.ingestion.warehouse import connect
from dagster_project.publication.published_copy import DATABASE_FILE, publish_marts


@pytest.fixture
def published(tmp_path: Path) -> Path:
    working = tmp_path / "working.duckdb"
    with connect(working) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create table marts.kpi_monthly as select cast(date '2026-01-01' + to_months(i::int) as date) "
            "as month_start_date, 'nps' as kpi, 'all' as segment, cast(30 + i as double) as value, "
            "100::bigint as sample_size from range(3) t(i)"
        )
        con.execute("create table marts.dim_store as select 'S1' as store_id, '上海 中心' as store_name")
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="bi-run")
    return out


def read_only_url(path: Path) -> str:
    return f"duckdb:///{path}?access_mode=read_only"


def test_sqlalchemy_lists_tables_and_columns_and_reads_rows(published):
    engine = sa.create_engine(read_only_url(published / DATABASE_FILE))
    try:
        inspector = sa.inspect(engine)
        # duckdb-engine names schemas `<catalog>.<schema>`; the catalog is the file name without extension
        assert "csat.marts" in inspector.get_schema_names()
        assert sorted(inspector.get_table_names(schema="marts")) == ["dim_store", "kpi_monthly", "publication"]
        try:
            reflected = inspector.get_columns("kpi_monthly", schema="marts")
        except sa.exc.ProgrammingError as error:
            if "pg_collation" not in str(error):
                raise
            pytest.fail(
                f"SQLAlchemy {sa.__version__} cannot reflect DuckDB columns (its PostgreSQL dialect queries "
                "pg_catalog.pg_collation since 2.0.45, which DuckDB lacks; duckdb_engine issue #1379): "
                "pin sqlalchemy>=2.0,<2.0.45 in pyproject.toml",
                pytrace=False,
            )
        columns = {c["name"]: c["type"] for c in reflected}
        assert list(columns) == ["month_start_date", "kpi", "segment", "value", "sample_size"]
        assert isinstance(columns["month_start_date"], sa.Date)
        assert isinstance(columns["kpi"], sa.String)
        assert isinstance(columns["value"], sa.Float)
        assert isinstance(columns["sample_size"], sa.BigInteger)
        with engine.connect() as con:
            rows = con.execute(
                sa.text("select month_start_date, value from marts.kpi_monthly where kpi = :kpi order by 1"),
                {"kpi": "nps"},
            ).fetchall()
            assert [r.value for r in rows] == [30.0, 31.0, 32.0]
            table = sa.Table("dim_store", sa.MetaData(), schema="marts", autoload_with=con)
            assert con.execute(sa.select(table.c.store_name)).scalar_one() == "上海 中心"
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                con.execute(sa.text("create table marts.scratch as select 1 as x"))
    finally:
        engine.dispose()


def test_a_bi_server_process_reads_while_the_pipeline_republishes(published):
    """The BI process keeps its read-only connection; publication swaps the file under it."""
    code = """
import json, sys, sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
with engine.connect() as con:
    first = con.execute(sa.text("select count(*) from marts.kpi_monthly")).scalar_one()
    sys.stdout.write(json.dumps({"ready": True, "rows": first}) + "\\n"); sys.stdout.flush()
    sys.stdin.readline()
    again = con.execute(sa.text("select count(*) from marts.kpi_monthly")).scalar_one()
    sys.stdout.write(json.dumps({"rows": again}) + "\\n"); sys.stdout.flush()
"""
    bi = subprocess.Popen(
        [sys.executable, "-c", code, read_only_url(published / DATABASE_FILE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(bi.stdout.readline()) == {"ready": True, "rows": 3}
        working = published.parent / "working.duckdb"
        with connect(working) as con:
            con.execute("insert into marts.kpi_monthly values (date '2026-04-01', 'nps', 'all', 33.0, 100)")
        publish_marts(working, published, marts=["kpi_monthly", "dim_store"], run_id="bi-run-2")
        bi.stdin.write("\n")
        bi.stdin.flush()
        assert json.loads(bi.stdout.readline()) == {"rows": 3}, "the open session keeps its snapshot"
    finally:
        bi.communicate(timeout=30)
    engine = sa.create_engine(read_only_url(published / DATABASE_FILE))
    with engine.connect() as con:
        assert con.execute(sa.text("select count(*) from marts.kpi_monthly")).scalar_one() == 4
    engine.dispose()


def test_parquet_files_read_like_tables(published):
    with duckdb.connect() as con:
        rows = con.execute(
            f"select count(*), max(value) from read_parquet('{published / 'parquet' / 'kpi_monthly.parquet'}')"
        ).fetchone()
    assert rows[0] == 3 and float(rows[1]) == 32.0
