"""Optional PostgreSQL publication against a real server on loopback (fixture `postgres_url`: a database per test):
values and types survive the trip, the schema is replaced atomically, a failed load leaves the live
schema untouched, a reader holding the old schema never blocks publication, and the Dagster asset
does nothing while the switch is off."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest

from dagster_project.ingestion.warehouse import connect
from dagster_project.publication import postgres as pgp
from dagster_project.publication.assets import published_postgres
from dagster_project.publication.published_copy import DATABASE_FILE, publish_marts
from dagster_project.resources import (
    PostgresPublicationResource,
    PublishedWarehouseResource,
    postgres_publication_resource,
)

pytestmark = [pytest.mark.postgres, pytest.mark.pipeline]


def make_working(path: Path, version: int) -> None:
    with connect(path) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            f"""
            create or replace table marts.kpi_monthly as
            select * from (values
                (date '2026-01-01', 'nps', 'all', {version}.5::double, 12::bigint, true, 3.1400::decimal(18,4),
                 timestamp '2026-01-31 23:59:59.123456', '{{"a": 1}}'::json),
                (date '2026-01-01', 'nps', '华东', null, 0::bigint, null, null, null, null),
                (date '2026-02-01', 'csat_pct', '', -1e-7::double, null, false, -2.5::decimal(18,4),
                 timestamp '2026-02-01 00:00:00', null)
            ) t(month_start_date, kpi, region, value, sample_size, is_mature, amount, computed_at, extra)
            """
        )
        con.execute(
            f"create or replace table marts.dim_store as select 'S' || i as store_id, 'Quote \"x\", comma' as note "
            f"from range({version + 1}) t(i)"
        )


@pytest.fixture
def published(tmp_path: Path) -> Path:
    working = tmp_path / "working.duckdb"
    make_working(working, 1)
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    return out


def republish(published: Path, version: int) -> None:
    working = published.parent / "working.duckdb"
    make_working(working, version)
    publish_marts(working, published, marts=["kpi_monthly", "dim_store"], run_id=f"run-{version}")


@pytest.fixture
def schema() -> str:
    """The publication schema; each test has a database of its own (fixture `postgres_url`)."""
    return "bi"


def query(url: str, sql_text: str, params=None) -> list[tuple]:
    with psycopg.connect(pgp.libpq_url(url)) as con:
        return con.execute(sql_text, params).fetchall()


def schemas_like(url: str, schema: str) -> list[str]:
    rows = query(url, "select nspname from pg_namespace where nspname like %s order by 1", [f"{schema}%"])
    return [r[0] for r in rows]


def test_values_and_types_survive(published, postgres_url, schema):
    report = pgp.publish_to_postgres(published / DATABASE_FILE, postgres_url, schema=schema)
    assert report.row_counts == {"dim_store": 2, "kpi_monthly": 3, "publication": 2}
    types = dict(
        query(
            postgres_url,
            "select column_name, data_type from information_schema.columns where table_schema = %s "
            "and table_name = 'kpi_monthly'",
            [schema],
        )
    )
    assert types == {
        "month_start_date": "date",
        "kpi": "text",
        "region": "text",
        "value": "double precision",
        "sample_size": "bigint",
        "is_mature": "boolean",
        "amount": "numeric",
        "computed_at": "timestamp without time zone",
        "extra": "jsonb",
    }
    rows = query(
        postgres_url,
        f'select region, value, sample_size, is_mature, amount, computed_at, extra from "{schema}".kpi_monthly '
        "order by month_start_date, region desc",
    )
    with duckdb.connect(str(published / DATABASE_FILE), read_only=True) as con:
        expected = con.execute(
            "select region, value, sample_size, is_mature, amount, computed_at, extra from marts.kpi_monthly "
            "order by month_start_date, region desc"
        ).fetchall()
    assert [r[:6] for r in rows] == [r[:6] for r in expected]
    assert rows[0][0] == "华东" and rows[2][0] == "", "Chinese text and empty strings (not NULL) survive"
    assert rows[0][1] is None and rows[0][3] is None, "NULLs stay NULL"
    assert rows[2][4] == Decimal("-2.5000")
    assert rows[1][6] == {"a": 1}
    assert query(postgres_url, f'select note from "{schema}".dim_store limit 1') == [('Quote "x", comma',)]
    assert query(postgres_url, f'select distinct dagster_run_id from "{schema}".publication') == [("run-1",)]
    assert query(postgres_url, f'select distinct source_warehouse from "{schema}".publication') == [("working.duckdb",)]
    assert schemas_like(postgres_url, schema) == [schema], "no loading or old schema left behind"


def test_republication_replaces_the_schema_atomically_while_a_reader_holds_it(published, postgres_url, schema):
    pgp.publish_to_postgres(published / DATABASE_FILE, postgres_url, schema=schema)
    republish(published, 2)
    reader = psycopg.connect(pgp.libpq_url(postgres_url))  # a BI session in the middle of a transaction
    try:
        assert reader.execute(f'select count(*) from "{schema}".dim_store').fetchone()[0] == 2
        report = pgp.publish_to_postgres(published / DATABASE_FILE, postgres_url, schema=schema)
        # the swap committed although the reader still holds the old tables; only their drop waits
        assert report.row_counts["dim_store"] == 3
        assert not report.old_schema_dropped
        assert query(postgres_url, f'select count(*) from "{schema}".dim_store') == [(3,)]
        assert query(postgres_url, f'select max(value) from "{schema}".kpi_monthly') == [(2.5,)]
    finally:
        reader.close()
    republish(published, 3)
    report = pgp.publish_to_postgres(published / DATABASE_FILE, postgres_url, schema=schema)
    assert len(report.leftovers_dropped) == 1 and report.leftovers_dropped[0].startswith(f"{schema}__old_")
    assert report.old_schema_dropped
    assert schemas_like(postgres_url, schema) == [schema]
    assert query(postgres_url, f'select count(*) from "{schema}".dim_store') == [(4,)]


def test_a_failed_load_leaves_the_live_schema_untouched(published, postgres_url, schema, monkeypatch):
    pgp.publish_to_postgres(published / DATABASE_FILE, postgres_url, schema=schema)
    republish(published, 5)
    real = pgp.postgres_type
    monkeypatch.setattr(pgp, "postgres_type", lambda t: "no_such_type" if t == "BOOLEAN" else real(t))
    with pytest.raises(pgp.PostgresPublicationError, match="loading the marts into PostgreSQL failed"):
        pgp.publish_to_postgres(published / DATABASE_FILE, postgres_url, schema=schema)
    assert query(postgres_url, f'select count(*) from "{schema}".dim_store') == [(2,)]
    assert query(postgres_url, f'select distinct dagster_run_id from "{schema}".publication') == [("run-1",)]
    assert schemas_like(postgres_url, schema) == [schema]
    with pytest.raises(pgp.PostgresPublicationError, match="missing"):
        pgp.publish_to_postgres(published / DATABASE_FILE, postgres_url, schema=schema, marts=["no_such_mart"])


def test_reader_roles_can_read_the_new_schema(published, postgres_url, schema):
    role = f"{schema}_reader"
    with psycopg.connect(pgp.libpq_url(postgres_url), autocommit=True) as con:
        con.execute(f'create role "{role}"')
    try:
        pgp.publish_to_postgres(published / DATABASE_FILE, postgres_url, schema=schema, readers=[role])
        with psycopg.connect(pgp.libpq_url(postgres_url)) as con:
            con.execute(f'set role "{role}"')
            assert con.execute(f'select count(*) from "{schema}".kpi_monthly').fetchone()[0] == 3
    finally:
        with psycopg.connect(pgp.libpq_url(postgres_url), autocommit=True) as con:
            for (nsp,) in con.execute("select nspname from pg_namespace where nspname like %s", [f"{schema}%"]):
                con.execute(f'drop schema "{nsp}" cascade')
            con.execute(f'drop role "{role}"')


def test_libpq_url():
    assert pgp.libpq_url("postgresql+psycopg://u:p@h:5/db") == "postgresql://u:p@h:5/db"
    assert pgp.libpq_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_dagster_asset_is_off_without_url_and_publishes_with_it(published, postgres_url, schema):
    resources = {"published": PublishedWarehouseResource(path=str(published))}
    off = dg.materialize(
        [published_postgres], resources={**resources, "postgres_publication": PostgresPublicationResource()}
    )
    assert off.success and off.get_asset_materialization_events() == []
    assert schemas_like(postgres_url, schema) == []
    on = dg.materialize(
        [published_postgres],
        resources={
            **resources,
            "postgres_publication": PostgresPublicationResource(url=postgres_url, db_schema=schema),
        },
    )
    assert on.success
    [event] = on.get_asset_materialization_events()
    assert event.materialization.metadata["dagster/row_count"].value == 7
    assert query(postgres_url, f'select count(*) from "{schema}".kpi_monthly') == [(3,)]


def test_resource_reads_the_switch_from_the_environment(monkeypatch):
    monkeypatch.delenv(pgp.URL_ENV, raising=False)
    assert not postgres_publication_resource().enabled
    monkeypatch.setenv(pgp.URL_ENV, "postgresql+psycopg://bi@db/analytics")
    monkeypatch.setenv("CSAT_PUBLISH_POSTGRES_READERS", "bi_reader, analyst")
    resource = postgres_publication_resource()
    assert resource.enabled and resource.db_schema == "marts" and resource.reader_roles == ["bi_reader", "analyst"]
