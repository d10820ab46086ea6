"""Publication mechanics: atomic swap of the published DuckDB file and Parquet files, readers of the
old copy never blocked, failed publications leave the previous copy untouched, and the gate refuses
to publish unless every blocking check passed on the current data."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.ingestion.warehouse import connect
from dagster_project.publication.assets import build_publish_asset
from dagster_project.publication.layout import PUBLICATION_TABLE, REPLACED_FILE
from dagster_project.publication.mart_changes import WORKING_MARTS
from dagster_project.publication.published_copy import (
    DATABASE_FILE,
    KEPT_COPY,
    PublicationError,
    parquet_source,
    publish_marts,
    read_publication,
)
from dagster_project.resources import PublishedWarehouseResource, WarehouseResource


def make_working(path: Path, value: int, stores: int = 3) -> None:
    with connect(path) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.kpi_monthly as select date '2026-01-01' as month_start_date, "
            f"'nps' as kpi, {value}.0 as value"
        )
        con.execute(f"create or replace table marts.dim_store as select 'S' || i as store_id from range({stores}) t(i)")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def working(tmp_path: Path) -> Path:
    path = tmp_path / "working.duckdb"
    make_working(path, 10)
    return path


def test_publishes_a_read_only_copy_with_parquet_and_publication_record(working, tmp_path):
    out = tmp_path / "published"
    report = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    assert report.row_counts == {"kpi_monthly": 1, "dim_store": 3}
    with duckdb.connect(str(out / DATABASE_FILE), read_only=True) as con:
        assert con.execute("select value from marts.kpi_monthly").fetchall() == [(10.0,)]
        assert con.execute(f"select count(*) from '{out / 'parquet' / 'dim_store.parquet'}'").fetchone()[0] == 3
        assert con.execute(f"select count(*) from '{out / 'parquet' / 'publication.parquet'}'").fetchone()[0] == 2
        # the record sits with the marts (the one schema BI users see) and names no server path
        tables = con.execute("select table_schema, table_name from information_schema.tables order by 1, 2").fetchall()
        assert ("marts", "publication") in tables and ("main", "publication") not in tables
        sources = {r[0] for r in con.execute("select source_warehouse from marts.publication").fetchall()}
        assert sources == {working.name} and "/" not in working.name
    [(published_at, run_id, mart, rows), _] = read_publication(out)
    assert (run_id, mart, rows) == ("run-1", "dim_store", 3) and published_at is not None
    assert not (os.stat(out / DATABASE_FILE).st_mode & 0o222), "the published file is read-only"
    assert sorted(p.name for p in out.iterdir()) == [DATABASE_FILE, "parquet"], "no temporary files left"


def test_a_reader_of_the_old_copy_is_never_blocked(working, tmp_path):
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    reader = duckdb.connect(str(out / DATABASE_FILE), read_only=True)
    assert reader.execute("select value from marts.kpi_monthly").fetchone()[0] == 10.0
    make_working(working, 20)
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")  # while the reader holds the file
    assert reader.execute("select value from marts.kpi_monthly").fetchone()[0] == 10.0
    # A new reader (another process, like a BI tool: DuckDB shares one instance per path within a
    # process) sees the new copy.
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('select value from marts.kpi_monthly').fetchone()[0])"
    )
    done = subprocess.run([sys.executable, "-c", code, str(out / DATABASE_FILE)], capture_output=True, text=True)
    assert done.stdout.strip() == "20.0", done.stderr
    reader.close()


def test_a_publication_starts_from_the_file_the_previous_one_replaced(working, tmp_path):
    """The swap keeps the file it replaces (a hard link: no bytes copied), and the next publication
    brings that file up to date instead of copying the published one (at volume the copy was most of
    a daily publication)."""
    out = tmp_path / "published"
    first = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    assert first.started_from == WORKING_MARTS and not (out / REPLACED_FILE).exists()
    first_file = os.stat(out / DATABASE_FILE).st_ino
    make_working(working, 20)
    second = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-2")
    assert second.started_from == "a copy of the published file"
    kept = os.stat(out / REPLACED_FILE)
    assert kept.st_ino == first_file and kept.st_nlink == 1 and not kept.st_mode & 0o222
    make_working(working, 30, stores=4)
    third = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-3")
    assert third.started_from == "the file the previous publication replaced"
    assert third.changes == {"kpi_monthly": "months replaced: 1 (-1 +1 rows)", "dim_store": "copied"}
    assert os.stat(out / DATABASE_FILE).st_ino == first_file, "the first file, brought up to date"
    assert not os.stat(out / DATABASE_FILE).st_mode & 0o222
    for mart in ("kpi_monthly", "dim_store"):
        assert published_rows(out, mart) == (working_rows(working, mart),) * 2, mart
    assert sorted(p.name for p in out.iterdir()) == [REPLACED_FILE, DATABASE_FILE, "parquet"]


def test_a_first_publication_starts_from_a_copy_of_the_marts_file(working, tmp_path):
    """dbt builds the marts into a file of their own (settings.marts_path): a first publication
    copies that file byte for byte instead of copying the marts table by table, drops what it holds
    beyond the marts published, and records their content as any publication does."""
    with connect(working) as con:
        con.execute("create table marts.not_published as select 1 as x")
        con.execute("create view marts.a_view as select 1 as x")
    out = tmp_path / "published"
    report = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    assert report.started_from == WORKING_MARTS
    assert report.changes == {"kpi_monthly": "copied", "dim_store": "copied"}
    for mart in ("kpi_monthly", "dim_store"):
        assert published_rows(out, mart) == (working_rows(working, mart),) * 2, mart
    with duckdb.connect(str(out / DATABASE_FILE), read_only=True) as con:
        relations = con.execute("select table_name from information_schema.tables order by 1").fetchall()
    assert relations == [("dim_store",), ("kpi_monthly",), ("mart_months",), ("publication",)]
    again = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-2")
    assert again.changes == {"kpi_monthly": "unchanged", "dim_store": "unchanged"}


def test_a_publication_with_nothing_new_keeps_the_published_copy_and_still_waits_for_the_gate(working, tmp_path):
    """Marts as published: nothing written, the report is the kept publication's, and the quality
    report is still waited for (a publication goes out with its report, or not at all)."""
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    make_working(working, 20)
    second = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-2")
    before = {p.relative_to(out): (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")}
    waited = []
    kept = publish_marts(
        working, out, marts=["kpi_monthly", "dim_store"], run_id="run-3", before_swap=lambda: waited.append(1)
    )
    assert waited == [1] and kept.started_from == KEPT_COPY
    assert (kept.run_id, kept.published_at) == ("run-2", second.published_at)
    assert {p.relative_to(out): (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")} == before

    def gate_fails() -> None:
        raise PublicationError("not published: the quality report could not be written")

    with pytest.raises(PublicationError, match="quality report"):
        publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-4", before_swap=gate_fails)
    # A published DuckDB file that holds less than the Parquet record says (a swap interrupted between
    # the Parquet files and the DuckDB file): not kept, brought up to date
    os.chmod(out / DATABASE_FILE, 0o600)
    os.replace(out / REPLACED_FILE, out / DATABASE_FILE)  # the first publication's file, value 10
    fixed = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-5")
    assert fixed.started_from != KEPT_COPY and fixed.run_id == "run-5"
    for mart in ("kpi_monthly", "dim_store"):
        assert published_rows(out, mart) == (working_rows(working, mart),) * 2, mart
    # The Parquet record gone (by hand): not kept, written again
    (out / "parquet" / f"{PUBLICATION_TABLE}.parquet").unlink()
    again = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-6")
    assert again.started_from != KEPT_COPY and (out / "parquet" / f"{PUBLICATION_TABLE}.parquet").is_file()


def test_marts_that_are_views_are_copied_as_rows(working, tmp_path):
    """Spark mode mounts its marts as views over Spark's Parquet files (spark/mount.py): a copy of
    the marts file would publish views of files outside the published folder, so the marts are
    copied table by table into an empty file."""
    with connect(working) as con:
        con.execute("create or replace table marts.store_rows as select 'S' || i as store_id from range(3) t(i)")
        con.execute("drop table marts.dim_store")
        con.execute("create view marts.dim_store as select * from marts.store_rows")
    out = tmp_path / "published"
    report = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    assert report.started_from == "an empty file"
    with duckdb.connect(str(out / DATABASE_FILE), read_only=True) as con:
        kinds = dict(con.execute("select table_name, table_type from information_schema.tables").fetchall())
    assert kinds["dim_store"] == "BASE TABLE" and "store_rows" not in kinds
    assert published_rows(out, "dim_store") == (working_rows(working, "dim_store"),) * 2


def test_a_mart_back_to_what_the_publication_before_the_last_held_is_reported_changed(working, tmp_path):
    """Changes are reported against what was published, not against the file the new one started
    from: a mart that went back to its content of two publications ago changed, and that file
    already holds it."""
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    make_working(working, 20)
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")
    make_working(working, 10)
    report = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-3")
    assert report.changes == {"kpi_monthly": "kept"} and report.marts_changed == 1
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2


def test_a_replaced_file_another_process_holds_is_not_written_into(working, tmp_path):
    """A BI tool that opened the published file before a swap still reads it: the next publication
    finds DuckDB's lock on it and copies the published file instead."""
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "q = 'select value from marts.kpi_monthly'; print(c.execute(q).fetchone()[0], flush=True); "
        "sys.stdin.readline(); print(c.execute(q).fetchone()[0])"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", code, str(out / DATABASE_FILE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == "10.0"
        make_working(working, 20)
        publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")  # keeps the reader's file
        make_working(working, 30)
        third = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-3")
        assert third.started_from.startswith("a copy of the published file (the file the previous publication ")
        assert "Could not set lock" in third.started_from
        assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "10.0", "the reader's file as it was"
    finally:
        reader.kill()
        reader.wait()


def test_a_replaced_file_that_is_still_the_published_one_is_not_written_into(working, tmp_path):
    """A publication killed between keeping the replaced file and the swap leaves both names on the
    published file: the next publication copies it rather than write into it."""
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    os.link(out / DATABASE_FILE, out / REPLACED_FILE)
    before = sha(out / DATABASE_FILE)
    with open(out / DATABASE_FILE, "rb") as published:  # the file itself, whatever its names become
        make_working(working, 20)
        report = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")
        assert report.started_from == "a copy of the published file"
        assert hashlib.sha256(published.read()).hexdigest() == before
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2


def test_working_warehouse_may_be_open_by_another_reader(working, tmp_path):
    with connect(working, read_only=True):
        publish_marts(working, tmp_path / "published", marts=["kpi_monthly"], run_id="run-1")


@pytest.mark.parametrize(
    "prepare, marts, message",
    [
        (lambda con: None, ["kpi_monthly", "no_such_mart"], "missing"),
        (
            lambda con: con.execute("create table marts.dim_customer as select 'a@b.c' as email"),
            ["kpi_monthly", "dim_customer"],
            "personal data",
        ),
    ],
)
def test_a_failed_publication_leaves_the_previous_copy_untouched(working, tmp_path, prepare, marts, message):
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    before = sha(out / DATABASE_FILE), sha(out / "parquet" / "kpi_monthly.parquet")
    make_working(working, 99)
    with connect(working) as con:
        prepare(con)
    with pytest.raises(PublicationError, match=message):
        publish_marts(working, out, marts=marts, run_id="run-2")
    assert (sha(out / DATABASE_FILE), sha(out / "parquet" / "kpi_monthly.parquet")) == before
    assert sorted(p.name for p in out.iterdir()) == [DATABASE_FILE, "parquet"]
    assert sorted(p.name for p in (out / "parquet").iterdir()) == ["kpi_monthly.parquet", "publication.parquet"]


def test_a_parquet_file_that_could_not_be_written_leaves_the_previous_copy_untouched(working, tmp_path, monkeypatch):
    """Parquet files are written on a second connection while the next marts are copied; a failed
    write there (here: the disk filled up writing dim_store's file) fails the publication as one
    on the main connection would, once the marts queued after it are done."""
    from dagster_project.publication import published_copy

    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    before = sha(out / DATABASE_FILE), sha(out / "parquet" / "dim_store.parquet")
    make_working(working, 99, stores=4)
    write_parquet = published_copy.write_parquet
    attempted = []

    def disk_full_for_dim_store(con, relation, path, fingerprint=None):
        attempted.append(path.name)
        if path.name == "dim_store.parquet":
            raise duckdb.IOException("No space left on device")
        write_parquet(con, relation, path, fingerprint)

    monkeypatch.setattr(published_copy, "write_parquet", disk_full_for_dim_store)
    with pytest.raises(duckdb.IOException, match="No space left"):
        publish_marts(working, out, marts=["dim_store", "kpi_monthly"], run_id="run-2")
    assert attempted == ["dim_store.parquet", "kpi_monthly.parquet"]
    assert (sha(out / DATABASE_FILE), sha(out / "parquet" / "dim_store.parquet")) == before
    assert sorted(p.name for p in out.iterdir()) == [DATABASE_FILE, "parquet"]
    assert sorted(p.name for p in (out / "parquet").iterdir()) == [
        "dim_store.parquet",
        "kpi_monthly.parquet",
        "publication.parquet",
    ]


def test_a_quality_report_that_could_not_be_written_leaves_the_previous_copy_untouched(working, tmp_path):
    """The checks' results are recorded in Great Expectations' worker process while the copy is
    written; the publication waits for them before it swaps its files in, and goes out with its
    report or not at all."""
    from dagster_project.publication.assets import quality_report_written
    from dagster_project.quality import validation

    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    before = sha(out / DATABASE_FILE), sha(out / "parquet" / "kpi_monthly.parquet")
    make_working(working, 99)
    not_a_folder = tmp_path / "quality"
    not_a_folder.write_text("a file where the quality folder should be\n")
    validation.build_data_docs(not_a_folder, run_name="run-2", suite_names=["raw.orders"], wait=False)
    with pytest.raises(PublicationError, match="could not record .*File exists"):
        publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2", before_swap=quality_report_written)
    assert (sha(out / DATABASE_FILE), sha(out / "parquet" / "kpi_monthly.parquet")) == before
    assert sorted(p.name for p in out.iterdir()) == [DATABASE_FILE, "parquet"]
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-3", before_swap=quality_report_written)
    assert sha(out / DATABASE_FILE) != before[0]  # the error was reported once; the next one goes out


# ------------------------------------------------------------------- publication by changed rows


def published_rows(out: Path, mart: str) -> tuple[list, list]:
    """A published mart's rows, sorted, from the DuckDB file and from its Parquet file."""
    with duckdb.connect(str(out / DATABASE_FILE), read_only=True) as con:
        table = sorted(con.execute(f"from marts.{mart}").fetchall(), key=repr)
        parquet = sorted(con.execute(f"from '{out / 'parquet' / mart}.parquet'").fetchall(), key=repr)
    return table, parquet


def working_rows(working: Path, mart: str) -> list:
    with connect(working, read_only=True) as con:
        return sorted(con.execute(f"from marts.{mart}").fetchall(), key=repr)


def set_kpis(working: Path, rows: str) -> None:
    """Replace the working kpi_monthly with `rows` (SQL values: month, kpi, value)."""
    with connect(working) as con:
        con.execute(
            "create or replace table marts.kpi_monthly as "
            f"select * from (values {rows}) t(month_start_date, kpi, value)"
        )


def test_a_publication_takes_only_the_marts_and_months_that_changed(working, tmp_path):
    out = tmp_path / "published"
    set_kpis(working, "(date '2026-01-01', 'nps', 10.0), (date '2026-02-01', 'nps', 11.0), (null, 'nps', 9.0)")
    first = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    assert first.changes == {"kpi_monthly": "copied", "dim_store": "copied"}
    store_file = os.stat(out / "parquet" / "dim_store.parquet")
    # February changed and has one row more, a March is new, January and the month-less row as they were
    set_kpis(
        working,
        "(date '2026-01-01', 'nps', 10.0), (date '2026-02-01', 'nps', 12.0), (date '2026-02-01', 'csat', 80.0), "
        "(date '2026-03-01', 'nps', 13.0), (null, 'nps', 9.0)",
    )
    second = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-2")
    assert second.changes == {"kpi_monthly": "months replaced: 2 (-1 +3 rows)", "dim_store": "unchanged"}
    assert second.row_counts == {"kpi_monthly": 5, "dim_store": 3}
    for mart in ("kpi_monthly", "dim_store"):
        assert published_rows(out, mart) == (working_rows(working, mart),) * 2, mart
    assert os.stat(out / "parquet" / "dim_store.parquet").st_ino == store_file.st_ino, "not rewritten"
    assert [r[1:] for r in read_publication(out)] == [("run-2", "dim_store", 3), ("run-2", "kpi_monthly", 5)]
    # February's second row, March and the month-less row gone. From the third publication on, the
    # new copy starts from the file the previous swap replaced: here the first publication's
    # (February 11.0 and the month-less row replaced)...
    set_kpis(working, "(date '2026-01-01', 'nps', 10.0), (date '2026-02-01', 'nps', 12.0)")
    third = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-3")
    assert third.started_from == "the file the previous publication replaced"
    assert third.changes == {"kpi_monthly": "months replaced: 2 (-2 +1 rows)", "dim_store": "unchanged"}
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2
    # Nothing changed since: the published copy is kept as it is, the third's (nothing written; the
    # file the third replaced, the second's, stays behind for the next change to bring up to date)
    published_file = os.stat(out / "csat.duckdb")
    kept = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-4")
    assert kept.started_from == KEPT_COPY and kept.run_id == "run-3" and kept.marts_changed == 0
    assert kept.changes == {"kpi_monthly": "unchanged", "dim_store": "unchanged"}
    assert kept.row_counts == {"kpi_monthly": 2, "dim_store": 3}
    assert os.stat(out / "csat.duckdb").st_ino == published_file.st_ino
    assert [r[1] for r in read_publication(out)] == ["run-3", "run-3"]
    # A Parquet file gone (by hand): not kept. The new copy starts from the second's file, which still
    # holds February's second row, March and the month-less row: replaced too, yet the mart is
    # unchanged against what was published (the report's measure)
    (out / "parquet" / "dim_store.parquet").unlink()
    fourth = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-4")
    assert fourth.started_from == "the file the previous publication replaced"
    assert fourth.changes == {"kpi_monthly": "unchanged", "dim_store": "unchanged"}
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2
    assert published_rows(out, "dim_store") == (working_rows(working, "dim_store"),) * 2
    set_kpis(working, "(date '2026-01-01', 'nps', 10.0), (date '2026-02-01', 'nps', 12.0), (null, 'nps', 1.0)")
    fifth = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-5")  # the NULL month alone
    assert fifth.changes == {"kpi_monthly": "months replaced: 1 (-0 +1 rows)"}
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2


def test_duplicate_rows_are_published_as_many_times_as_they_are_in_the_mart(working, tmp_path):
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    set_kpis(working, "(date '2026-01-01', 'nps', 10.0), (date '2026-01-01', 'nps', 10.0)")
    report = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")
    assert report.changes == {"kpi_monthly": "months replaced: 1 (-1 +2 rows)"}
    assert published_rows(out, "kpi_monthly") == ([(date(2026, 1, 1), "nps", 10.0)] * 2,) * 2


def month_record(out: Path) -> list:
    """The publication's record of each month's content, and the same computed from the copy."""
    with duckdb.connect(str(out / DATABASE_FILE), read_only=True) as con:
        recorded = con.execute("from publication_state.mart_months order by all").fetchall()
        computed = con.execute(
            "select 'kpi_monthly', month_start_date, count(*), sum(hash(r)) from marts.kpi_monthly r "
            "group by all order by all"
        ).fetchall()
    return recorded, computed


def spy_on_reads(monkeypatch) -> list[str]:
    """The relations whose content the publication reads (a list the calls fill)."""
    from dagster_project.publication import mart_changes, published_copy

    relations: list[str] = []
    real = mart_changes.read_content

    def read_content(con, relation, columns):
        relations.append(relation)
        return real(con, relation, columns)

    monkeypatch.setattr(mart_changes, "read_content", read_content)
    monkeypatch.setattr(published_copy, "read_content", read_content)
    return relations


def test_the_next_publication_compares_with_the_record_of_months_not_the_copy(working, tmp_path, monkeypatch):
    """Each mart by month has its content by month recorded in the published file, so the next
    publication finds the changed months without reading the previous copy's mart again."""
    out = tmp_path / "published"
    set_kpis(working, "(date '2026-01-01', 'nps', 10.0), (date '2026-02-01', 'nps', 11.0), (null, 'nps', 9.0)")
    publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    recorded, computed = month_record(out)
    assert recorded == computed and len(recorded) == 3  # dim_store has no month: not recorded
    reads = spy_on_reads(monkeypatch)
    set_kpis(working, "(date '2026-01-01', 'nps', 10.0), (date '2026-02-01', 'nps', 12.0), (null, 'nps', 9.0)")
    report = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-2")
    assert report.changes == {"kpi_monthly": "months replaced: 1 (-1 +1 rows)", "dim_store": "unchanged"}
    assert all(r.startswith("working.") for r in reads), reads
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2
    recorded, computed = month_record(out)
    assert recorded == computed


def test_a_record_of_months_that_does_not_add_up_to_the_fingerprint_is_not_used(working, tmp_path, monkeypatch):
    """A record out of step with the copy's fingerprint (here: edited) is passed over: the copy's
    mart is read, and the publication still gives the working content."""
    out = tmp_path / "published"
    set_kpis(working, "(date '2026-01-01', 'nps', 10.0), (date '2026-02-01', 'nps', 11.0)")
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    (out / DATABASE_FILE).chmod(0o644)
    with duckdb.connect(str(out / DATABASE_FILE)) as con:  # January recorded as if it had changed
        con.execute("update publication_state.mart_months set row_count = 2 where month_start_date = '2026-01-01'")
    reads = spy_on_reads(monkeypatch)
    set_kpis(working, "(date '2026-01-01', 'nps', 10.0), (date '2026-02-01', 'nps', 12.0)")
    report = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")
    assert report.changes == {"kpi_monthly": "months replaced: 1 (-1 +1 rows)"}  # February only
    assert 'marts."kpi_monthly"' in reads
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2
    recorded, computed = month_record(out)
    assert recorded == computed


def test_a_mart_whose_months_are_not_dates_is_published_by_month_without_a_record(working, tmp_path):
    """The record holds months as dates (the marts' grain); a mart with other months is still
    compared month by month, from the copy."""
    out = tmp_path / "published"
    set_kpis(working, "('2026-01', 'nps', 10.0), ('2026-02', 'nps', 11.0)")
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    assert month_record(out)[0] == []
    set_kpis(working, "('2026-01', 'nps', 10.0), ('2026-02', 'nps', 12.0)")
    report = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")
    assert report.changes == {"kpi_monthly": "months replaced: 1 (-1 +1 rows)"}
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2


def test_a_mart_whose_months_cannot_be_matched_is_copied(working, tmp_path, monkeypatch):
    """A column more cannot be compared month by month; and should replacing the changed months not
    give the working mart's content (here: a replacement that does nothing), the mart is copied."""
    from dagster_project.publication import published_copy

    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    with connect(working) as con:
        con.execute("alter table marts.kpi_monthly add column target double")
    report = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")
    assert report.changes == {"kpi_monthly": "copied"}
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2
    monkeypatch.setattr(published_copy, "replace_months", lambda *args: (0, 0))
    with connect(working) as con:
        con.execute("update marts.kpi_monthly set target = 50")
    report = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-3")
    assert report.changes == {"kpi_monthly": "copied"}
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2


def test_a_parquet_file_is_rewritten_when_it_does_not_hold_what_the_record_says(working, tmp_path):
    """An interrupted publication swaps its Parquet files in before its database file: the next one
    finds a Parquet file that does not match the published table, and writes it again."""
    out = tmp_path / "published"
    publish_marts(working, out, marts=["dim_store"], run_id="run-1")
    stray = out / "parquet" / "dim_store.parquet"
    stray.chmod(0o644)
    with duckdb.connect() as con:
        con.execute(f"copy (select 'S9' as store_id) to '{stray}' (format parquet)")
    report = publish_marts(working, out, marts=["dim_store"], run_id="run-2")
    assert report.changes == {"dim_store": "unchanged"}  # the database file held it already
    assert published_rows(out, "dim_store") == (working_rows(working, "dim_store"),) * 2


# ------------------------------------------------------------------- the facts' Parquet files by month


def set_orders(working: Path, months: dict[str | None, int]) -> None:
    """Replace the working fct_orders: `months` maps a month ('2025-03-01', None: no month) to the
    value of its two rows."""
    rows = ", ".join(
        f"({'cast(null as date)' if m is None else f'date {m!r}'}, 'O{m}-{i}', {v})"
        for m, v in months.items()
        for i in range(2)
    )
    with connect(working) as con:
        con.execute(
            "create or replace table marts.fct_orders as "
            f"select * from (values {rows}) t(month_start_date, order_id, amount)"
        )


def month_files(out: Path, fact: str) -> dict[str, int]:
    """A fact's published Parquet files by month: `<month folder>/<file>` -> inode."""
    folder = out / "parquet" / fact
    return {p.relative_to(folder).as_posix(): p.stat().st_ino for p in sorted(folder.glob("*/*"))}


def parquet_rows(out: Path, mart: str) -> list:
    with duckdb.connect() as con:
        return sorted(con.execute(f"from {parquet_source(out, mart)}").fetchall(), key=repr)


def test_a_fact_is_published_as_parquet_files_by_month(working, tmp_path):
    out = tmp_path / "published"
    (out / "parquet").mkdir(parents=True)
    (out / "parquet" / "fct_orders.parquet").write_bytes(b"a file of an earlier version's layout")
    set_orders(working, {"2025-01-01": 1, "2025-02-01": 2, None: 3})
    publish_marts(working, out, marts=["fct_orders", "dim_store"], run_id="run-1")
    assert set(month_files(out, "fct_orders")) == {
        "month_start_date=2025-01-01/data_0.parquet",
        "month_start_date=2025-02-01/data_0.parquet",
        "month_start_date=__HIVE_DEFAULT_PARTITION__/data_0.parquet",
    }
    assert not (out / "parquet" / "fct_orders.parquet").exists(), "the earlier layout's file is removed"
    assert (out / "parquet" / "dim_store.parquet").is_file()  # a mart that is not a fact: one file
    assert parquet_rows(out, "fct_orders") == working_rows(working, "fct_orders")
    with duckdb.connect() as con:  # the Hive layout reads as the mart, month column typed, NULL month NULL
        glob = out / "parquet" / "fct_orders" / "*" / "*.parquet"
        assert con.execute(f"describe select * from '{glob}'").fetchall()[0][:2] == ("month_start_date", "DATE")
        assert con.execute(f"select count(*) from '{glob}' where month_start_date is null").fetchone() == (2,)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in (out / "parquet" / "fct_orders").glob("*/*"))


def test_pandas_reads_a_facts_folder_as_the_analysts_guide_says(working, tmp_path):
    """pyarrow's default reading of a folder infers the Hive month as text and refuses the files'
    own DATE column of the same name; docs/analysts.md gives the call that reads the files' column."""
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    out = tmp_path / "published"
    set_orders(working, {"2025-01-01": 1, "2025-02-01": 2, None: 3})
    publish_marts(working, out, marts=["fct_orders"], run_id="run-1")
    frame = pandas.read_parquet(out / "parquet" / "fct_orders", partitioning=None)
    rows = sorted(frame.itertuples(index=False, name=None), key=repr)
    assert [(None if pandas.isna(m) else m, o, v) for m, o, v in rows] == working_rows(working, "fct_orders")
    assert {type(m) for m in frame["month_start_date"].dropna()} == {date}
    with pytest.raises(Exception, match="month_start_date"):  # what the guide warns against
        pandas.read_parquet(out / "parquet" / "fct_orders")


def test_a_fact_without_rows_is_one_empty_file_until_it_has_months(working, tmp_path):
    out = tmp_path / "published"
    set_orders(working, {"2025-01-01": 1})
    with connect(working) as con:
        con.execute("delete from marts.fct_orders")
    publish_marts(working, out, marts=["fct_orders"], run_id="run-1")
    assert not (out / "parquet" / "fct_orders").exists()
    with duckdb.connect() as con:  # the columns are there for a BI dataset
        assert con.execute(f"select count(*) from {parquet_source(out, 'fct_orders')}").fetchone() == (0,)
        assert len(con.execute(f"describe select * from {parquet_source(out, 'fct_orders')}").fetchall()) == 3
    set_orders(working, {"2025-01-01": 1})
    publish_marts(working, out, marts=["fct_orders"], run_id="run-2")
    assert not (out / "parquet" / "fct_orders.parquet").exists()
    assert parquet_rows(out, "fct_orders") == working_rows(working, "fct_orders")


def test_a_fact_whose_rows_all_lack_a_month_is_one_file_with_its_month_typed(working, tmp_path):
    """A folder holding only the NULL month's files would read back with the month as text."""
    out = tmp_path / "published"
    set_orders(working, {None: 1})
    publish_marts(working, out, marts=["fct_orders"], run_id="run-1")
    assert not (out / "parquet" / "fct_orders").exists()
    with duckdb.connect() as con:
        described = con.execute(f"describe select * from {parquet_source(out, 'fct_orders')}").fetchall()
    assert described[0][:2] == ("month_start_date", "DATE")
    assert parquet_rows(out, "fct_orders") == working_rows(working, "fct_orders")
    set_orders(working, {None: 1, "2025-01-01": 2})  # a month arrives: the folder layout
    publish_marts(working, out, marts=["fct_orders"], run_id="run-2")
    assert not (out / "parquet" / "fct_orders.parquet").exists()
    assert parquet_rows(out, "fct_orders") == working_rows(working, "fct_orders")


def test_a_publication_rewrites_only_the_months_of_a_fact_that_changed(working, tmp_path):
    out = tmp_path / "published"
    months = {f"2025-{m:02d}-01": m for m in range(1, 13)}
    set_orders(working, months)
    publish_marts(working, out, marts=["fct_orders"], run_id="run-1")  # 12 months: one partitioned write
    before = month_files(out, "fct_orders")
    # January is gone, March changed, January 2026 is new: 2 of 12 months written, one by one
    months = {**{m: v for m, v in months.items() if m != "2025-01-01"}, "2025-03-01": 30, "2026-01-01": 13}
    set_orders(working, months)
    publish_marts(working, out, marts=["fct_orders"], run_id="run-2")
    after = month_files(out, "fct_orders")
    rewritten = {f.split("/")[0].removeprefix("month_start_date=") for f in after if before.get(f) != after[f]}
    assert rewritten == {"2025-03-01", "2026-01-01"}
    assert "month_start_date=2025-01-01/data_0.parquet" not in after
    assert not (out / "parquet" / "fct_orders" / "month_start_date=2025-01-01").exists()
    assert parquet_rows(out, "fct_orders") == working_rows(working, "fct_orders")
    publish_marts(working, out, marts=["fct_orders"], run_id="run-3")
    assert month_files(out, "fct_orders") == after, "nothing changed: nothing written"


# How a fact's published month folder can stop holding its content between two publications
SPOILED_MONTHS = {
    "a month the fact does not have": lambda march: shutil.copytree(
        march, march.with_name("month_start_date=2025-07-01")
    ),
    "a month's file gone": lambda march: (march / "data_0.parquet").unlink(),
    "a month's file copied beside itself": lambda march: shutil.copy(
        march / "data_0.parquet", march / "data_1.parquet"
    ),
}


@pytest.mark.parametrize("spoil", SPOILED_MONTHS.values(), ids=SPOILED_MONTHS)
def test_a_facts_month_folder_that_does_not_hold_its_content_is_not_kept(working, tmp_path, spoil):
    """A run with nothing new keeps a fact's month files only if each month's files hold its content
    and nothing else is left in the folder: otherwise the publication mends the folder (a month's
    file copied beside itself names the right fingerprint, and a reader would count it twice)."""
    out = tmp_path / "published"
    folder = out / "parquet" / "fct_orders"
    set_orders(working, {f"2025-{m:02d}-01": m for m in range(1, 7)})
    publish_marts(working, out, marts=["fct_orders"], run_id="run-1")
    assert publish_marts(working, out, marts=["fct_orders"], run_id="run-2").started_from == KEPT_COPY
    published = month_files(out, "fct_orders")
    for path in (folder, *folder.glob("*")):
        path.chmod(0o755)
    spoil(folder / "month_start_date=2025-03-01")
    mended = publish_marts(working, out, marts=["fct_orders"], run_id="run-3")
    assert mended.started_from != KEPT_COPY and mended.run_id == "run-3"
    assert set(month_files(out, "fct_orders")) == set(published)
    assert parquet_rows(out, "fct_orders") == working_rows(working, "fct_orders")
    kept = publish_marts(working, out, marts=["fct_orders"], run_id="run-4")
    assert kept.started_from == KEPT_COPY and kept.run_id == "run-3"


def test_the_parquet_of_a_mart_no_longer_published_is_removed(working, tmp_path):
    """A mart dropped or renamed by an upgrade: its Parquet file or fact folder goes with its table,
    or a BI dataset over it would go on showing its last numbers as current."""
    out, parquet = tmp_path / "published", tmp_path / "published" / "parquet"
    set_orders(working, {"2025-01-01": 1, "2025-02-01": 2})
    publish_marts(working, out, marts=["fct_orders", "dim_store", "kpi_monthly"], run_id="run-1")
    assert (parquet / "fct_orders").is_dir() and (parquet / "dim_store.parquet").is_file()
    (parquet / "notes").mkdir()  # not a publication's: left alone
    (parquet / "notes" / "readme.txt").write_text("kept")
    (parquet / "notes.csv").write_text("kept")
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")
    assert sorted(p.name for p in parquet.iterdir()) == [
        "kpi_monthly.parquet",
        "notes",
        "notes.csv",
        "publication.parquet",
    ]
    with duckdb.connect(str(out / DATABASE_FILE), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    assert tables == {"kpi_monthly", "publication"}


def test_a_month_file_that_does_not_say_what_it_holds_is_written_again(working, tmp_path):
    """A month's file without its fingerprint (rewritten by `csat forget`, or by hand), or beside a
    stray file, is written again and the stray removed; the other months stay."""
    out = tmp_path / "published"
    set_orders(working, {f"2025-{m:02d}-01": m for m in range(1, 13)})
    publish_marts(working, out, marts=["fct_orders"], run_id="run-1")
    folder = out / "parquet" / "fct_orders"
    march, may = folder / "month_start_date=2025-03-01", folder / "month_start_date=2025-05-01"
    for path in (march / "data_0.parquet", *folder.glob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    with duckdb.connect() as con:
        con.execute(f"copy (from '{march / 'data_0.parquet'}') to '{march / 'data_0.parquet'}.new' (format parquet)")
        (march / "data_0.parquet.new").replace(march / "data_0.parquet")
        con.execute(
            f"copy (select * from '{may / 'data_0.parquet'}' limit 0) to '{may / 'data_1.parquet'}' (format parquet)"
        )
    before = month_files(out, "fct_orders")
    publish_marts(working, out, marts=["fct_orders"], run_id="run-2")
    after = month_files(out, "fct_orders")
    assert {f for f in after if before.get(f) != after[f]} == {
        "month_start_date=2025-03-01/data_0.parquet",
        "month_start_date=2025-05-01/data_0.parquet",
    }
    assert "month_start_date=2025-05-01/data_1.parquet" not in after
    assert parquet_rows(out, "fct_orders") == working_rows(working, "fct_orders")


def test_a_publication_starts_afresh_from_a_copy_without_fingerprints(working, tmp_path):
    """A copy published before fingerprints were recorded cannot be compared: every mart is copied,
    and a mart no longer published leaves the database file."""
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    (out / DATABASE_FILE).chmod(0o644)
    with duckdb.connect(str(out / DATABASE_FILE)) as con:
        con.execute("alter table marts.publication drop column content_fingerprint")
    make_working(working, 20)
    report = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-2")
    assert report.changes == {"kpi_monthly": "copied", "dim_store": "unchanged"}
    assert report.started_from == "an empty file"
    assert "no content fingerprints" in report.fresh_copy_reason
    report = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-3")
    assert report.changes == {"kpi_monthly": "unchanged"} and report.fresh_copy_reason is None
    with duckdb.connect(str(out / DATABASE_FILE), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
    assert tables == [("kpi_monthly",), ("publication",)]


def test_a_damaged_previous_copy_is_not_reused(working, tmp_path):
    out = tmp_path / "published"
    publish_marts(working, out, marts=["kpi_monthly"], run_id="run-1")
    (out / DATABASE_FILE).chmod(0o644)
    (out / DATABASE_FILE).write_bytes(b"not a DuckDB file" * 1000)
    make_working(working, 20)
    report = publish_marts(working, out, marts=["kpi_monthly"], run_id="run-2")
    assert report.changes == {"kpi_monthly": "copied"} and report.started_from == "an empty file"
    assert report.fresh_copy_reason.startswith("previous published copy not reused: it cannot be read")
    assert published_rows(out, "kpi_monthly") == (working_rows(working, "kpi_monthly"),) * 2


def test_a_copy_mostly_free_space_is_not_reused(working, tmp_path):
    """Rows deleted by publications leave free blocks in the file; once they are more than half of
    it, the next publication writes a fresh file (here a mart that shrank from 500,000 rows to 3)."""
    out = tmp_path / "published"
    with connect(working) as con:
        con.execute("create or replace table marts.dim_store as select 'S' || i as store_id from range(500000) t(i)")
    publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-1")
    big = (out / DATABASE_FILE).stat().st_size
    make_working(working, 10)
    report = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-2")
    assert report.changes == {"kpi_monthly": "unchanged", "dim_store": "copied"}
    assert (out / DATABASE_FILE).stat().st_size >= big / 2  # the copy kept the freed blocks
    # the third (a change: with none, the published copy is kept) starts from the first's file (the one
    # the second replaced), and shrinks it too
    make_working(working, 15)
    report = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-3")
    assert report.started_from == "the file the previous publication replaced"
    make_working(working, 20)
    report = publish_marts(working, out, marts=["kpi_monthly", "dim_store"], run_id="run-4")
    assert report.changes == {"kpi_monthly": "copied", "dim_store": "unchanged"}  # written afresh
    assert "more than half of it is free space" in report.fresh_copy_reason
    assert report.started_from.startswith("an empty file (the file the previous publication replaced not reused")
    assert (out / DATABASE_FILE).stat().st_size < big / 2
    assert published_rows(out, "dim_store") == (working_rows(working, "dim_store"),) * 2


# ------------------------------------------------------------------------------------------ the gate


def gated_definitions(working: Path, out: Path, state: dict) -> list:
    key = dg.AssetKey(["kpi_monthly"])

    @dg.asset(key=key)
    def kpi_monthly() -> None:
        make_working(working, state["value"])

    @dg.asset_check(asset=key, name="great_expectations", blocking=True)
    def nps_in_range() -> dg.AssetCheckResult:
        ok = -100 <= state["value"] <= 100
        return dg.AssetCheckResult(passed=ok, severity=dg.AssetCheckSeverity.ERROR, description=f"nps {state['value']}")

    publish = build_publish_asset({"kpi_monthly": key}, list(nps_in_range.check_keys))
    return [kpi_monthly, nps_in_range, publish]


def test_publication_waits_for_every_blocking_check(tmp_path):
    working, out = tmp_path / "working.duckdb", tmp_path / "published"
    state = {"value": 30}
    defs = gated_definitions(working, out, state)
    instance = dg.DagsterInstance.ephemeral()
    resources = {
        "warehouse": WarehouseResource(path=str(working)),
        "published": PublishedWarehouseResource(path=str(out)),
    }

    def run(selection=None):
        return dg.materialize(defs, resources=resources, instance=instance, selection=selection, raise_on_error=False)

    assert run().success
    assert read_publication(out)[0][2] == "kpi_monthly"
    first = sha(out / DATABASE_FILE)

    state["value"] = 150  # bad numbers: the blocking check fails and publication is skipped
    result = run()
    assert not result.success
    assert not any(
        e.asset_key == dg.AssetKey(["published_warehouse"]) for e in result.get_asset_materialization_events()
    )
    assert sha(out / DATABASE_FILE) == first

    # Publishing on its own is refused too: the last check on the current marts failed.
    result = run(selection=dg.AssetSelection.assets("published_warehouse"))
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "quality gate has not passed" in str(failure.step_failure_data.error.to_string())
    assert sha(out / DATABASE_FILE) == first

    # Marts rebuilt without their check: not published either.
    state["value"] = 40
    assert run(selection=dg.AssetSelection.assets("kpi_monthly").without_checks()).success
    result = run(selection=dg.AssetSelection.assets("published_warehouse"))
    assert not result.success and sha(out / DATABASE_FILE) == first

    assert run().success
    with duckdb.connect(str(out / DATABASE_FILE), read_only=True) as con:
        assert con.execute("select value from marts.kpi_monthly").fetchone()[0] == 40.0
