"""The CRM read straight from a database: snapshots through PostgreSQL COPY (against a real server)
and through plain SQLAlchemy (SQLite, DuckDB), then loaded into `raw` like any delivered file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from dagster_project.contract import CRM_ENTITIES, CUSTOMERS, EMPLOYEES, ORDERS, STORES
from dagster_project.ingestion.crm_database import (
    CrmDatabaseError,
    redact_url,
    snapshot_crm,
    snapshot_label,
    snapshot_table,
)
from dagster_project.ingestion.loader import load_file

from fixtures.postgres import DIR_PREFIX, PostgresServer, own_database, process_start, reap_stale_servers

pytestmark = pytest.mark.postgres

SOURCE_SCHEMA = "crm_src"

# Contract columns in a different order than the contract, plus extra columns (is_member,
# loyalty_points) that the snapshot keeps after the contract columns.
PG_TABLES = {
    "customers": """
        is_member boolean, customer_id text primary key, full_name text, email text, phone text,
        gender text, birth_date date, city text, region text, segment text, signup_at timestamptz,
        store_id text, account_manager_id text, updated_at timestamptz, loyalty_points numeric(18, 4)
    """,
    "orders": """
        order_id text primary key, customer_id text not null, ordered_at timestamp, status text,
        channel text, store_id text, product_category text, amount numeric(18, 4), currency text
    """,
    "stores": "store_id text primary key, store_name text, city text, region text, opened_at date",
    "employees": """
        employee_id text primary key, full_name text, role text, team text, store_id text, hired_at date
    """,
}

# Inserted out of key order; timestamptz values carry +08:00 / -05:00 offsets.
# fmt: off
PG_ROWS = {
    "customers": [
        (None, "C003", "李娜", None, None, None, None, "北京", "华北", "new", None, None, None,
         "2024-12-31 20:00:00-05:00", None),
        (True, "C001", "张伟", "zhang.wei@example.cn", None, "F", "1988-02-29", "上海", "华东", "VIP",
         "2024-03-01 08:30:00+08:00", "S01", "E02", "2025-01-05 23:59:59.5+08:00", "1234.5000"),
        (False, "C002", 'O\'Brien, "Pat"', None, "", None, None, None, None, None, None, None, None,
         None, None),
    ],
    "orders": [
        ("O-2", "C001", "2025-02-01 09:15:00", "completed", "store", "S01", "家电", "12345678901234.5678", "CNY"),
        ("O-1", "C003", "2025-02-02 10:00:00.25", "pending", "web", None, None, "0.1000", "CNY"),
    ],
    "stores": [
        ("S02", "旗舰店", "上海", "华东", "2019-10-01"),
        ("S01", "Downtown", "Shenzhen", "华南", None),
    ],
    "employees": [
        ("E02", "王芳", "account_manager", "KA", "S01", "2020-01-15"),
        ("E01", "Li Lei", "agent", "Support", None, None),
    ],
}
# fmt: on

EXPECTED_CUSTOMERS_CSV = (
    "customer_id,full_name,email,phone,gender,birth_date,city,region,segment,signup_at,store_id,"
    "account_manager_id,updated_at,is_member,loyalty_points\n"
    "C001,张伟,zhang.wei@example.cn,,F,1988-02-29,上海,华东,VIP,2024-03-01T00:30:00+00:00,S01,E02,"
    "2025-01-05T15:59:59.500000+00:00,true,1234.5000\n"
    'C002,"O\'Brien, ""Pat""",,"",,,,,,,,,,false,\n'
    "C003,李娜,,,,,北京,华北,new,,,,2025-01-01T01:00:00+00:00,,\n"
)
EXPECTED_ORDERS_CSV = (
    "order_id,customer_id,ordered_at,status,channel,store_id,product_category,amount,currency\n"
    "O-1,C003,2025-02-02T10:00:00.250000,pending,web,,,0.1000,CNY\n"
    "O-2,C001,2025-02-01T09:15:00,completed,store,S01,家电,12345678901234.5678,CNY\n"
)


def create_pg_crm(server: PostgresServer, schema: str, tables: dict[str, str] = PG_TABLES) -> None:
    """(Re)create `schema` holding the given CRM tables with PG_ROWS."""
    with server.connect(autocommit=True) as pg:
        pg.execute(f'drop schema if exists "{schema}" cascade')
        pg.execute(f'create schema "{schema}"')
        for name, columns in tables.items():
            pg.execute(f'create table "{schema}"."{name}" ({columns})')
            rows = PG_ROWS[name]
            marks = ", ".join(["%s"] * len(rows[0]))
            with pg.cursor() as cur:
                cur.executemany(f'insert into "{schema}"."{name}" values ({marks})', rows)


def url_with(server: PostgresServer, *, password: str | None = None, options: str | None = None) -> str:
    auth = f"{server.user}:{password}" if password else server.user
    url = f"postgresql+psycopg://{auth}@{server.host}:{server.port}/{server.dbname}"
    if options:
        url += "?options=" + options.replace(" ", "%20").replace("=", "%3D").replace("/", "%2F")
    return url


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def crm_pg(postgres_server: PostgresServer) -> str:
    create_pg_crm(postgres_server, SOURCE_SCHEMA)
    return SOURCE_SCHEMA


# --- PostgreSQL: COPY path -----------------------------------------------------------------------


def test_copy_snapshot_writes_contract_text(postgres_server, crm_pg, tmp_path):
    # A session time zone other than UTC must not leak into the file.
    url = url_with(postgres_server, options="-c TimeZone=Asia/Shanghai")
    customers = snapshot_table(url, CUSTOMERS, tmp_path, schema=crm_pg)
    orders = snapshot_table(url, ORDERS, tmp_path, schema=crm_pg)
    assert customers == tmp_path / "customers.csv"
    assert customers.read_bytes().decode("utf-8") == EXPECTED_CUSTOMERS_CSV
    assert orders.read_bytes().decode("utf-8") == EXPECTED_ORDERS_CSV
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "orders.csv"]  # no temp files


def test_copy_snapshot_without_schema_follows_search_path(postgres_server, crm_pg, tmp_path):
    url = url_with(postgres_server, options=f"-c search_path={crm_pg}")
    stores = snapshot_table(url, STORES, tmp_path)
    assert stores.read_text(encoding="utf-8") == (
        "store_id,store_name,city,region,opened_at\nS01,Downtown,Shenzhen,华南,\nS02,旗舰店,上海,华东,2019-10-01\n"
    )


def test_snapshot_bytes_are_deterministic(postgres_server, crm_pg, tmp_path):
    first = snapshot_table(postgres_server.url, CUSTOMERS, tmp_path / "a", schema=crm_pg)
    again = snapshot_table(postgres_server.url, CUSTOMERS, tmp_path / "a", schema=crm_pg)
    assert again == first and first.read_text(encoding="utf-8") == EXPECTED_CUSTOMERS_CSV
    # Same content stored in another physical order: same bytes.
    with postgres_server.connect(autocommit=True) as pg:
        pg.execute("drop schema if exists crm_reordered cascade")
        pg.execute("create schema crm_reordered")
        pg.execute(
            f"create table crm_reordered.customers as select * from {crm_pg}.customers order by customer_id desc"
        )
    reordered = snapshot_table(postgres_server.url, CUSTOMERS, tmp_path / "b", schema="crm_reordered")
    assert sha256(reordered) == sha256(first)


def test_missing_contract_columns_name_the_table_and_hide_the_password(postgres_server, tmp_path):
    without_contact = PG_TABLES["customers"].replace("email text, phone text,", "")
    create_pg_crm(postgres_server, "crm_incomplete", {})
    with postgres_server.connect(autocommit=True) as pg:
        pg.execute(f"create table crm_incomplete.customers ({without_contact})")
    url = url_with(postgres_server, password="s3cret")  # trust auth: any password is accepted
    with pytest.raises(ValueError) as error:
        snapshot_table(url, CUSTOMERS, tmp_path, schema="crm_incomplete")
    message = str(error.value)
    assert "crm_incomplete.customers" in message
    assert "email, phone" in message
    assert f"postgres:***@{postgres_server.host}" in message and "s3cret" not in message
    assert list(tmp_path.iterdir()) == []


def test_missing_table_is_named(postgres_server, tmp_path):
    create_pg_crm(postgres_server, "crm_partial", {"stores": PG_TABLES["stores"]})
    with pytest.raises(CrmDatabaseError, match=r"table crm_partial\.orders not found"):
        snapshot_table(postgres_server.url, ORDERS, tmp_path, schema="crm_partial")
    with pytest.raises(CrmDatabaseError, match=r"table crm_nowhere\.orders not found"):
        snapshot_table(postgres_server.url, ORDERS, tmp_path, schema="crm_nowhere")
    assert list(tmp_path.iterdir()) == []


# --- any other SQLAlchemy database ---------------------------------------------------------------


def make_sqlite_crm(path: Path) -> str:
    db = sqlite3.connect(path)
    db.execute(
        "create table customers (customer_id text primary key, full_name text, email text, phone text,"
        " gender text, birth_date date, city text, region text, segment text, signup_at datetime,"
        " store_id text, account_manager_id text, updated_at datetime, is_member boolean, points integer)"
    )
    # fmt: off
    db.executemany(
        "insert into customers values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ("C2", "Smith, \"Al\"", None, None, None, None, "Paris", None, "regular",
             "2024-05-01 10:00:00", None, None, None, 0, None),
            ("C1", "张伟", "zw@example.cn", None, "F", "1988-02-29", "上海", "华东", "VIP",
             "2024-03-01T08:30:00+08:00", "S01", "E02", "2025-01-05T23:59:59.5+08:00", 1, 42),
        ],
    )
    # fmt: on
    db.execute(
        "create table orders (order_id text primary key, customer_id text, ordered_at datetime,"
        " status text, channel text, store_id text, product_category text, amount text, currency text)"
    )
    db.executemany(
        "insert into orders values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [("O1", "C1", "2025-02-01T09:15:00Z", "completed", "web", None, "家电", "12345678901234.5678", "CNY")],
    )
    db.execute("create table stores (store_id text primary key, store_name text, city text)")  # incomplete
    db.commit()
    db.close()
    return f"sqlite:///{path}"


def test_generic_path_streams_sqlite(tmp_path):
    url = make_sqlite_crm(tmp_path / "crm.sqlite")
    customers = snapshot_table(url, CUSTOMERS, tmp_path / "out")
    assert customers.read_text(encoding="utf-8") == (
        "customer_id,full_name,email,phone,gender,birth_date,city,region,segment,signup_at,store_id,"
        "account_manager_id,updated_at,is_member,points\n"
        # SQLite keeps timestamps as the text it was given: offsets travel to the loader intact.
        "C1,张伟,zw@example.cn,,F,1988-02-29,上海,华东,VIP,2024-03-01T08:30:00+08:00,S01,E02,"
        "2025-01-05T23:59:59.5+08:00,true,42\n"
        'C2,"Smith, ""Al""",,,,,Paris,,regular,2024-05-01 10:00:00,,,,false,\n'
    )
    orders = snapshot_table(url, ORDERS, tmp_path / "out")
    assert "12345678901234.5678" in orders.read_text(encoding="utf-8")
    assert snapshot_table(url, CUSTOMERS, tmp_path / "again").read_bytes() == customers.read_bytes()


def test_generic_path_errors(tmp_path):
    url = make_sqlite_crm(tmp_path / "crm.sqlite")
    with pytest.raises(ValueError, match=r"stores lacks contract column\(s\) of crm.stores: region, opened_at"):
        snapshot_table(url, STORES, tmp_path / "out")
    with pytest.raises(CrmDatabaseError, match="table employees not found"):
        snapshot_table(url, EMPLOYEES, tmp_path / "out")
    missing_file = tmp_path / "nope.sqlite"
    with pytest.raises(CrmDatabaseError, match="does not exist"):
        snapshot_table(f"sqlite:///{missing_file}", STORES, tmp_path / "out")
    assert not missing_file.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_generic_path_converts_typed_values(tmp_path):
    """A driver returning Python types (DuckDB here): aware datetimes to UTC, exact decimals, booleans."""
    path = tmp_path / "crm.duckdb"
    db = duckdb.connect(str(path))
    db.execute("set TimeZone = 'Asia/Shanghai'")
    db.execute(
        "create table orders (order_id varchar, customer_id varchar, ordered_at timestamptz, status varchar,"
        " channel varchar, store_id varchar, product_category varchar, amount decimal(18, 4),"
        " currency varchar, gift boolean, placed_local timestamp)"
    )
    db.execute(
        "insert into orders values ('O2', 'C1', '2025-02-01 09:15:00+08', 'completed', null, null, '家电',"
        " 12345678901234.5678, 'CNY', true, '2025-02-01 09:15:00.25'),"
        " ('O1', 'C2', '2025-02-01 00:00:00-05', 'pending', '', null, null, 0.1, 'CNY', false, null)"
    )
    db.close()
    orders = snapshot_table(f"duckdb:///{path}", ORDERS, tmp_path / "out")
    assert orders.read_text(encoding="utf-8") == (
        "order_id,customer_id,ordered_at,status,channel,store_id,product_category,amount,currency,"
        "gift,placed_local\n"
        "O1,C2,2025-02-01T05:00:00+00:00,pending,,,,0.1000,CNY,false,\n"
        "O2,C1,2025-02-01T01:15:00+00:00,completed,,,家电,12345678901234.5678,CNY,true,2025-02-01T09:15:00.250000\n"
    )


# --- labels and redaction ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://crm:p%40ss@db:5432/crm", "postgresql+psycopg://crm:***@db:5432/crm"),
        ("postgresql+psycopg://crm@db/crm", "postgresql+psycopg://crm@db/crm"),
        ("mysql+pymysql://u:pw@h/db?ssl_key=k&password=x", "mysql+pymysql://u:***@h/db?ssl_key=k&password=***"),
        ("sqlite:////data/crm.sqlite", "sqlite:////data/crm.sqlite"),
        ("weird://user:secret@host/db with spaces", "weird://user:***@host/db with spaces"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_snapshot_label_names_the_table():
    label = snapshot_label("postgresql+psycopg://crm:pw@db/crm", CUSTOMERS, schema="sales")
    assert label == "postgresql+psycopg://crm:***@db/crm#sales.customers"


# --- end to end: PostgreSQL -> snapshot -> raw ---------------------------------------------------


def test_snapshots_load_into_raw_and_rerun_changes_nothing(postgres_server, con, tmp_path):
    create_pg_crm(postgres_server, "crm_e2e")
    url = url_with(postgres_server, password="pw", options="-c TimeZone=America/New_York")

    def run() -> dict:
        paths = snapshot_crm(url, tmp_path / "snapshots", schema="crm_e2e")
        assert sorted(paths) == sorted(e.name for e in CRM_ENTITIES)
        return {
            e.name: load_file(con, e, paths[e.name], source_label=snapshot_label(url, e, schema="crm_e2e"))
            for e in CRM_ENTITIES
        }

    first = run()
    for entity in CRM_ENTITIES:
        result = first[entity.name]
        assert not result.skipped
        assert (result.delivered, result.loaded, result.rejected) == (len(PG_ROWS[entity.name]),) * 2 + (0,)
        assert result.source_file.endswith(f"#crm_e2e.{entity.name}") and "pw@" not in result.source_file
    counts = {e.name: con.execute(f"select count(*) from raw.{e.name}").fetchone()[0] for e in CRM_ENTITIES}
    assert counts == {"customers": 3, "orders": 2, "stores": 2, "employees": 2}

    c001 = con.execute(
        "select full_name, city, signup_at, updated_at, _extra from raw.customers where customer_id = 'C001'"
    ).fetchone()
    assert c001[:4] == ("张伟", "上海", dt.datetime(2024, 3, 1, 0, 30), dt.datetime(2025, 1, 5, 15, 59, 59, 500000))
    assert json.loads(c001[4]) == {"is_member": "true", "loyalty_points": "1234.5000"}
    assert con.execute("select updated_at from raw.customers where customer_id = 'C003'").fetchone()[0] == (
        dt.datetime(2025, 1, 1, 1, 0)
    )
    assert con.execute("select amount, ordered_at from raw.orders where order_id = 'O-2'").fetchone() == (
        Decimal("12345678901234.5678"),
        dt.datetime(2025, 2, 1, 9, 15),
    )
    assert con.execute("select store_name from raw.stores where store_id = 'S02'").fetchone()[0] == "旗舰店"

    def state() -> list:
        return [con.execute(f"select * from raw.{e.name} order by all").fetchall() for e in CRM_ENTITIES] + [
            con.execute("select count(*) from raw.load_manifest").fetchone(),
            con.execute("select count(*) from raw.load_rejects").fetchone(),
        ]

    before = state()
    second = run()
    assert all(r.skipped for r in second.values())
    assert state() == before

    # A changed row is a new delivery of that table only, replacing the row by key.
    with postgres_server.connect(autocommit=True) as pg:
        pg.execute("update crm_e2e.customers set city = '杭州' where customer_id = 'C001'")
    third = run()
    assert [name for name, r in third.items() if not r.skipped] == ["customers"]
    assert con.execute("select count(*) from raw.customers").fetchone()[0] == 3
    assert con.execute("select city from raw.customers where customer_id = 'C001'").fetchone()[0] == "杭州"


# --- the PostgreSQL fixture itself ---------------------------------------------------------------


def test_postgres_fixture_serves_a_database(postgres_server, postgres_url):
    assert postgres_url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/test_")
    with postgres_server.connect() as pg:
        assert pg.execute("select current_database(), current_setting('fsync')").fetchone() == (
            postgres_server.dbname,
            "off",
        )
    if os.geteuid() == 0:  # PostgreSQL refuses root: the fixture runs it as an unprivileged user
        status = Path(f"/proc/{postgres_server.pid}/status").read_text()
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1] != "0"


def test_each_test_database_is_dropped_after_it_even_on_failure(postgres_server):
    def databases() -> set[str]:
        with postgres_server.connect() as pg:
            return {r[0] for r in pg.execute("select datname from pg_database").fetchall()}

    before = databases()
    with pytest.raises(RuntimeError), own_database(postgres_server) as url:
        dbname = url.rsplit("/", 1)[1]
        assert databases() == before | {dbname}
        held = psycopg.connect(f"host={postgres_server.host} port={postgres_server.port} user=postgres dbname={dbname}")
        raise RuntimeError("the test failed, holding a connection")
    assert databases() == before
    with pytest.raises(psycopg.OperationalError):  # the janitor closed it to drop the database
        held.execute("select 1")
    held.close()


def test_leftovers_of_a_crashed_run_are_removed(tmp_path):
    me = f"{DIR_PREFIX}{os.getpid()}"
    dead = tmp_path / f"{me}-1-dead"  # this pid, another start time: the pid was reused, the owner is gone
    (dead / "server" / "data").mkdir(parents=True)
    alive = tmp_path / f"{me}-{process_start(os.getpid())}-alive"
    alive.mkdir()
    unparsed = tmp_path / f"{DIR_PREFIX}starting"  # not a name this module gives: left alone
    unparsed.mkdir()
    assert reap_stale_servers("/bin/false", tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and unparsed.exists()


def test_crm_assets_read_the_database_when_a_url_is_configured(postgres_server, crm_pg, landing, warehouse_path):
    import dagster as dg

    from dagster_project.definitions import PIPELINE_JOB, build_definitions
    from dagster_project.ingestion.warehouse import connect

    defs = build_definitions(
        landing_dir=str(landing),
        warehouse_path=str(warehouse_path),
        crm_database_url=url_with(postgres_server, password="secret"),
        crm_database_schema=crm_pg,
    )
    crm_keys = [dg.AssetKey(["raw", name]) for name in PG_TABLES]
    job = defs.resolve_job_def(PIPELINE_JOB)
    result = job.execute_in_process(asset_selection=crm_keys)
    assert result.success
    with connect(warehouse_path, read_only=True) as con:
        counts = {name: con.execute(f"select count(*) from raw.{name}").fetchone()[0] for name in PG_TABLES}
        labels = {r[0] for r in con.execute("select source_file from raw.load_manifest").fetchall()}
    assert counts == {name: len(rows) for name, rows in PG_ROWS.items()}
    assert all("secret" not in label and f"#{crm_pg}." in label for label in labels)
    again = job.execute_in_process(asset_selection=crm_keys)
    [customers] = again.asset_materializations_for_node("raw__customers")
    assert customers.metadata["files_skipped"].value == 1
