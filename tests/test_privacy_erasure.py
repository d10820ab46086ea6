"""`csat forget` (issue 13, finding 12): after it, nothing of an erased customer remains in any copy
(working warehouse, `.previous`, published DuckDB and Parquet, PostgreSQL publication), and neither a
`--rebuild` nor a re-delivery of the customer's rows brings anything back.

One end-to-end scenario on small sample data (three pipeline runs); each store is searched, in every
table, for the customer's id, e-mail, phone, name and e-mail pseudonym, before (so the search can fail)
and after each step.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import duckdb
import psycopg
import pytest
from test_quality_pipeline import published_db, run_pipeline, step_failure_messages, write_csv

from csat_sample_data import generate_sample_data
from dagster_project import settings
from dagster_project.cli import main
from dagster_project.contract import entity as entity_of
from dagster_project.ingestion.warehouse import connect
from dagster_project.privacy.forget import forget, read_ids
from dagster_project.privacy.keys import load_keys
from dagster_project.privacy.register import RegisterEntry, append_register, now_utc
from dagster_project.publication import postgres as pgp
from dagster_project.publication.layout import REPLACED_FILE
from dagster_project.rebuild import rebuild_working_warehouse

pytestmark = pytest.mark.pipeline

SCHEMA = "marts_privacy"


def duckdb_hits(path: Path, needles: list[str]) -> dict[str, list[str]]:
    """Per needle, the tables of the DuckDB file in which some row contains it (as text)."""
    hits: dict[str, list[str]] = {n: [] for n in needles}
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            for needle in needles:
                found = con.execute(
                    f'select count(*) from "{schema}"."{table}" as x where contains(cast(x as varchar), ?)', [needle]
                ).fetchone()[0]
                if found:
                    hits[needle].append(f"{schema}.{table}")
    return {n: t for n, t in hits.items() if t}


def parquet_hits(folder: Path, needles: list[str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    with duckdb.connect() as con:
        for path in sorted(folder.rglob("*.parquet")):  # the facts' files by month too
            for needle in needles:
                found = con.execute(
                    f"select count(*) from read_parquet('{path}') as x where contains(cast(x as varchar), ?)",
                    [needle],
                ).fetchone()[0]
                if found:
                    hits.setdefault(needle, []).append(path.relative_to(folder).as_posix())
    return hits


def postgres_hits(url: str, needles: list[str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    with psycopg.connect(pgp.libpq_url(url)) as pg:
        tables = pg.execute(
            "select table_name from information_schema.tables where table_schema = %s", [SCHEMA]
        ).fetchall()
        for (table,) in tables:
            for needle in needles:
                found = pg.execute(
                    f'select count(*) from "{SCHEMA}"."{table}" as x where x::text like %s', [f"%{needle}%"]
                ).fetchone()[0]
                if found:
                    hits.setdefault(needle, []).append(table)
    return hits


def all_hits(root: Path, needles: list[str], postgres_url: str | None = None) -> dict[str, dict]:
    stores = {
        "warehouse": duckdb_hits(root / "warehouse" / "csat.duckdb", needles),
        "marts": duckdb_hits(settings.marts_path(root / "warehouse" / "csat.duckdb"), needles),
        "previous": duckdb_hits(root / "warehouse" / "csat.duckdb.previous", needles),
        "published": duckdb_hits(published_db(root), needles),
        "replaced": duckdb_hits(root / "published" / REPLACED_FILE, needles),
        "parquet": parquet_hits(root / "published" / "parquet", needles),
    }
    if postgres_url:
        stores["postgresql"] = postgres_hits(postgres_url, needles)
    return {store: hits for store, hits in stores.items() if hits}


def query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("_", ["scenario"])
def test_forget_erases_everywhere_and_survives_rebuild_and_redelivery(_, tmp_path, postgres_url):
    root = tmp_path / "site"
    warehouse = root / "warehouse" / "csat.duckdb"
    generate_sample_data(root / "landing", seed=11, responses=300)
    first = run_pipeline(root)
    assert first.success, step_failure_messages(first)
    shutil.copyfile(warehouse, warehouse.with_name("csat.duckdb.previous"))  # as `csat run --rebuild` leaves it

    # The victim: a customer with contact data, survey responses (with SERVQUAL items) and orders.
    (victim, email, phone, name) = query(
        warehouse,
        """
        select c.customer_id, c.email, c.phone, c.full_name from raw.customers as c
        where c.email is not null and c.phone is not null and c.full_name is not null
            and c.customer_id in (select customer_id from raw.orders)
            and c.customer_id in (
                select r.customer_id from raw.survey_responses as r
                inner join raw.survey_item_scores as i on i.response_id = r.response_id)
        order by c.customer_id limit 1
        """,
    )[0]
    raw_rows = {
        entity: query(
            warehouse,
            f"select * exclude (_extra, _source_file, _row_number, _file_sha256, _loaded_at) "
            f"from raw.{entity} where customer_id = '{victim}'",
        )
        for entity in ("customers", "survey_responses", "tickets", "orders", "subscriptions")
    }
    responses = [r[0] for r in raw_rows["survey_responses"]]
    items = query(
        warehouse,
        "select response_id, item_code, expectation_score, perception_score from raw.survey_item_scores "
        f"where response_id in ({', '.join(repr(r) for r in responses)})",
    )
    email_pseudonym = load_keys().current.pseudonym(email.strip().lower())
    needles = [victim, email.strip(), phone.strip(), name, email_pseudonym]
    # A rejected row that still names the customer (raw_values keeps whole rows) in both warehouse copies.
    for path in (warehouse, warehouse.with_name("csat.duckdb.previous")):
        with duckdb.connect(str(path)) as con:
            con.execute(
                "insert into raw.load_rejects values ('customers', 'x.csv', 1, 'type', 'signup_at', 'bad', "
                "json_object('customer_id', ?, 'email', ?, 'phone', ?, 'full_name', ?), 'sha', now())",
                [victim, email, phone, name],
            )
    pgp.publish_to_postgres(published_db(root), postgres_url, schema=SCHEMA)
    # The file a publication's swap replaced, kept for the next one to start from (publication/
    # published_copy.py): here the same marts, as after a second publication that changed nothing.
    shutil.copyfile(published_db(root), root / "published" / REPLACED_FILE)

    before = all_hits(root, needles, postgres_url)
    assert set(before) == {"warehouse", "marts", "previous", "published", "replaced", "parquet", "postgresql"}, before
    assert email_pseudonym in before["published"] and email_pseudonym in before["marts"] and name in before["warehouse"]
    assert any("=" in f for files in before["parquet"].values() for f in files), "in a fact's month files too"

    ids_file = tmp_path / "erase.txt"
    ids_file.write_text(f"# request 2026-11-30\n{victim}\n")
    assert read_ids([], [ids_file]) == [victim]
    report = forget(
        [victim],
        warehouse=warehouse,
        published_dir=root / "published",
        postgres_url=postgres_url,
        postgres_schema=SCHEMA,
    )
    assert report.total > 0 and report.counts["postgresql"]
    assert all_hits(root, needles, postgres_url) == {}
    assert query(published_db(root), "select count(*) from marts.kpi_monthly")[0][0] > 0  # the rest is intact
    assert stat.S_IMODE(published_db(root).stat().st_mode) == 0o444
    # The publication's record of each month's content described the rows before the erasure: dropped,
    # so the next publication reads the copy itself.
    state = "select count(*) from information_schema.tables where table_schema = 'publication_state'"
    assert query(published_db(root), state) == [(0,)]

    register = report.register
    assert stat.S_IMODE(register.stat().st_mode) == 0o600
    entries = [json.loads(line) for line in register.read_text().splitlines()]
    assert victim not in register.read_text() and email not in register.read_text()
    customer_entry = next(e for e in entries if e["kind"] == "customer")
    assert customer_entry["pseudonym"] == load_keys().current.pseudonym(victim)
    assert customer_entry["counts"] and customer_entry["erased_at"]
    assert {e["pseudonym"] for e in entries if e["kind"] == "response"} == {
        load_keys().current.pseudonym(r) for r in responses
    }

    # A rebuild from every landing file (which still hold the customer) does not bring them back.
    rebuild_working_warehouse(warehouse)
    rebuilt = run_pipeline(root)
    assert rebuilt.success, step_failure_messages(rebuilt)
    assert all_hits(root, needles) == {}
    assert query(published_db(root), state) == [(1,)]  # recorded again

    # Nor does a re-delivery of the customer's rows.
    for entity, rows in raw_rows.items():
        if rows:
            names = [c.name for c in entity_of(entity).columns]
            write_csv(root, entity, "2026-10-31_redelivery.csv", [dict(zip(names, r, strict=False)) for r in rows])
    write_csv(
        root,
        "survey_item_scores",
        "2026-10-31_redelivery.csv",
        [
            dict(zip(["response_id", "item_code", "expectation_score", "perception_score"], r, strict=True))
            for r in items
        ],
    )
    again = run_pipeline(root)
    assert again.success, step_failure_messages(again)
    assert all_hits(root, needles) == {}
    assert query(warehouse, "select count(*) from raw.load_manifest where source_file like '%redelivery%'")[0][0] >= 3


def test_forget_command_line(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "w" / "csat.duckdb"
    with connect(warehouse) as con:
        con.execute("insert into raw.customers (customer_id, email) values ('C1', 'a@x.org'), ('C2', 'b@x.org')")
    assert main(["forget", "--warehouse", str(warehouse), "--published", str(tmp_path / "p")]) == 2
    code = main(["forget", "C1", "--warehouse", str(warehouse), "--published", str(tmp_path / "p"), "--no-run"])
    assert code == 0
    out = capsys.readouterr().out
    assert "erased 1 customer(s)" in out and "landing files are not touched" in out
    assert query(warehouse, "select customer_id from raw.customers") == [("C2",)]


def _deliver(con, landing: Path, name: str) -> None:
    """The same rows of C1 in every delivery; C2's name names the delivery (so its bytes differ)."""
    from dagster_project.contract import CUSTOMERS, SURVEY_ITEM_SCORES, SURVEY_RESPONSES, TICKETS
    from dagster_project.ingestion.loader import ingest_files

    from deliveries import entity_folder, survey_response, ticket
    from deliveries import write_csv as write_rows

    people = [
        {
            "customer_id": c,
            "full_name": f"Name {c}" if c == "C1" else f"Name {c} {name}",
            "email": f"{c.lower()}@example.com",
            "phone": f"1380000{c}",
        }
        for c in ("C1", "C2")
    ]
    rows = {
        CUSTOMERS: people + [{"customer_id": "C1", "email": "c1@example.com", "signup_at": "bad"}],  # a reject
        SURVEY_RESPONSES: [survey_response("R1"), survey_response("R2", customer_id="C2", comment=name)],
        SURVEY_ITEM_SCORES: [
            {"response_id": r, "item_code": "TAN1", "expectation_score": "5", "perception_score": "6"}
            for r in ("R1", "R2")
        ]
        + [{"response_id": "R2", "item_code": "TAN2", "expectation_score": "5", "perception_score": name[6]}],
        TICKETS: [ticket("T1"), ticket("T2", customer_id="C2", description=name)],
    }
    for ent, entity_rows in rows.items():
        path = write_rows(entity_folder(landing, ent) / name, entity_rows, ent.column_names)
        ingest_files(con, ent, [(path, None)])


def test_a_redelivery_of_an_erased_customer_is_erased_again_at_ingestion(tmp_path, landing):
    warehouse = tmp_path / "w" / "csat.duckdb"
    with connect(warehouse) as con:
        _deliver(con, landing, "2025-01.csv")
    needles = ["C1", "c1@example.com", "1380000C1", "Name C1", "R1"]
    assert set(duckdb_hits(warehouse, needles)) == set(needles)  # the search finds them before
    report = forget(["C1"], warehouse=warehouse, published_dir=tmp_path / "nothing-published")
    assert report.counts["warehouse"] == {
        "raw.customer_pseudonyms": 1,
        "raw.customers": 1,
        "raw.customers_history": 1,  # the version its delivery recorded
        "raw.load_rejects": 1,
        "raw.survey_item_scores": 1,
        "raw.survey_responses": 1,
        "raw.tickets": 1,
    }
    assert duckdb_hits(warehouse, needles) == {}
    with connect(warehouse) as con:
        _deliver(con, landing, "2025-02.csv")  # the same rows again, under a new name
        loaded = con.execute("select count(*) from raw.load_manifest where source_file like '%2025-02%'").fetchone()
        assert loaded == (4,)
        # recorded for the next build: raw rows deleted without a load (dagster_project/build_state.py)
        erased = con.execute("select sum(rows_changed) from raw.privacy_changes where change = 'erasure applied again'")
        assert erased.fetchone()[0] > 0
    assert duckdb_hits(warehouse, needles) == {}
    assert duckdb_hits(warehouse, ["C2", "R2", "c2@example.com"]).keys() == {"C2", "R2", "c2@example.com"}


def test_an_erasure_completed_at_ingestion_reaches_the_marts_file(tmp_path, landing):
    """`csat forget` writes the register first, so that an erasure interrupted before the warehouse
    was erased is completed by the next ingestion: that completion erases the customer from the
    marts too, which live in the warehouse's marts file (settings.marts_path), not in raw."""
    warehouse = tmp_path / "w" / "csat.duckdb"
    with connect(warehouse) as con:
        _deliver(con, landing, "2025-01.csv")
        # marts as a build leaves them: rows by customer id, by response id, by customer version key
        con.execute(
            "create table marts.dim_customer as "
            "select customer_id, 'K-' || customer_id as customer_key from raw.customers"
        )
        con.execute(
            "create table marts.fct_survey_responses as select response_id, customer_id from raw.survey_responses"
        )
        con.execute("create table marts.customer_months as select customer_key from marts.dim_customer")
    key = load_keys().current
    append_register(  # what forget had written when it was interrupted
        settings.erasure_register_path(warehouse),
        [RegisterEntry("customer", key.pseudonym("C1"), key.fingerprint, now_utc())],
    )
    marts = settings.marts_path(warehouse)
    assert duckdb_hits(marts, ["C1", "R1", "K-C1"]).keys() == {"C1", "R1", "K-C1"}
    with connect(warehouse) as con:
        _deliver(con, landing, "2025-02.csv")
    assert duckdb_hits(marts, ["C1", "R1", "K-C1"]) == {}
    assert duckdb_hits(marts, ["C2", "R2", "K-C2"]).keys() == {"C2", "R2", "K-C2"}
