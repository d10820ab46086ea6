"""The published copy: the read-only copy of the marts that BI tools read.

The marts (tables of the working warehouse's marts file, `settings.marts_path`, that have an
expectation suite) are copied into a new DuckDB file and one Parquet file per mart (a fact: a folder
of files by month, month_files.py), written next to the published copy under temporary names and
swapped in with `os.replace`. The new DuckDB file starts from an earlier published one (the file the
previous swap replaced, else a copy of the published file; the first publication, a byte copy of the
marts file) and takes only the marts and months that changed; Parquet files are rewritten only for
marts (and facts' months) that changed (mart_changes.py). So a failed publication never touches the
published copy, and a BI tool that holds the old file open read-only keeps reading it (the rename
swaps the directory entry; the old file lives on until closed; the pipeline never opens the
published file, and writes into a replaced one only when no other process holds it). Layout:
`dagster_project/publication/layout.py`.
"""

import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import duckdb

from dagster_project import settings
from dagster_project.contract import ENTITIES
from dagster_project.publication.layout import (
    DATABASE_FILE,
    FINGERPRINT_COLUMN,
    MART_SCHEMA,
    PARQUET_DIR,
    PUBLICATION,
    PUBLICATION_TABLE,
    READ_ONLY_MODE,
    REPLACED_FILE,
    TEMPORARY_NAME,
)
from dagster_project.publication.mart_changes import (
    Content,
    Months,
    changed_months,
    fingerprint_option,
    holds_months,
    mart_columns,
    open_previous_copy,
    parquet_fingerprint,
    published_months,
    read_content,
    read_month_record,
    recorded_fingerprints,
    replace_months,
    start_from_marts_file,
    write_month_record,
)
from dagster_project.publication.month_files import (
    MonthFilesPlan,
    is_month_folder,
    plan_month_files,
    published_by_month,
    remove_path,
    swap_in_month_files,
    write_month_files,
)
from dagster_project.run_lock import pid_alive
from dagster_project.sql_text import literal, quote

PERSONAL_COLUMNS = frozenset(c.name for e in ENTITIES for c in e.columns if c.personal)


def personal_columns(columns: Sequence[tuple[str, str]]) -> list[str]:
    """The columns of a mart (name, type) that hold personal data in clear: such a mart is refused."""
    return sorted(c for c, _ in columns if c.lower() in PERSONAL_COLUMNS)


def working_mart(mart: str) -> str:
    """The working warehouse's `mart`, as a publication's connection attaches it (`working`)."""
    return f"working.{MART_SCHEMA}.{quote(mart)}"


# What a publication did to a mart, against what was published before: unchanged, or how the new
# file took the change ("copied", "months replaced: ..." counted in the file it started from, or
# "kept": that file already held it, the publication before the last having had the same content).
UNCHANGED, COPIED, KEPT = "unchanged", "copied", "kept"
# What a publication that found every mart as published "started from": nothing, the copy was kept.
KEPT_COPY = "nothing: every mart was as published, so the published copy was kept as it is"


class PublicationError(RuntimeError):
    """The marts could not be published; the previously published copy is untouched."""


@dataclass
class PublicationReport:
    database_path: Path
    parquet_dir: Path
    published_at: datetime
    run_id: str
    row_counts: dict[str, int] = field(default_factory=dict)
    changes: dict[str, str] = field(default_factory=dict)  # mart: UNCHANGED, COPIED, KEPT or the months replaced
    started_from: str = ""  # what the new DuckDB file started from (mart_changes.open_previous_copy)
    fresh_copy_reason: str | None = None  # why the previous published copy was not brought up to date

    @property
    def marts_changed(self) -> int:
        return sum(change != UNCHANGED for change in self.changes.values())


def publish_marts(
    warehouse_path: str | Path,
    published_dir: str | Path,
    *,
    marts: Sequence[str],
    run_id: str,
    published_at: datetime | None = None,
    before_swap: Callable[[], None] | None = None,
) -> PublicationReport:
    """Copy `marts` (tables of the working warehouse's marts file) into the published folder.

    Everything is written under temporary names first; only when all of it is complete (and
    `before_swap`, if given, returned) are the files swapped in (Parquet files first, the DuckDB
    file last). Raises PublicationError, leaving the published copy as it was, when a mart is
    missing or has a personal-data column; an error of `before_swap` leaves it as it was too.

    When the published copy already holds every mart as the working warehouse has it, it is kept
    as it is (`kept_publication`): nothing is written, and the report is that publication's.
    """
    published_dir = Path(published_dir).resolve()
    parquet_dir = published_dir / PARQUET_DIR
    parquet_dir.mkdir(parents=True, exist_ok=True)
    published_at = published_at or datetime.now(UTC).replace(tzinfo=None)
    remove_stale_temporaries(published_dir)
    marts_file = settings.marts_path(warehouse_path)
    kept, contents = kept_publication(marts_file, published_dir, marts)
    if kept is not None:
        if before_swap is not None:
            before_swap()  # the same gate as a swap: a publication goes out with its report
        return kept
    tag = f"{run_id[:8]}-{os.getpid()}"
    tmp_db = published_dir / f".{DATABASE_FILE}.{tag}.tmp"
    replaced = published_dir / REPLACED_FILE
    tmp_parquet = parquet_dir / f".tmp-{tag}"
    for stale in (tmp_db, Path(f"{tmp_db}.wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(tmp_parquet, ignore_errors=True)
    tmp_parquet.mkdir()
    report = PublicationReport(
        database_path=published_dir / DATABASE_FILE, parquet_dir=parquet_dir, published_at=published_at, run_id=run_id
    )
    try:
        first_from = marts_file if start_from_marts_file(marts_file, marts) else None
        start = open_previous_copy(report.database_path, tmp_db, settings.duckdb_config(), replaced, first_from)
        con, previous = start.con, start.fingerprints
        report.started_from, report.fresh_copy_reason = start.started_from, start.fresh_reason
        try:
            con.execute("set TimeZone = 'UTC'")
            # Marts have no row order; keeping it would buffer every copied table (memory at 10M).
            con.execute("set preserve_insertion_order = false")
            con.execute(f"attach {literal(str(marts_file))} as working (read_only)")
            existing = {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_catalog = 'working' and table_schema = ?",
                    [MART_SCHEMA],
                ).fetchall()
            }
            missing = [m for m in marts if m not in existing]
            if missing:
                raise PublicationError(f"marts missing from the working warehouse: {', '.join(missing)}")
            recorded = read_month_record(con) if previous else {}
            # What is published now, from its Parquet record (the pipeline does not open the
            # published DuckDB file): a report of changes against it, whatever file this one started from.
            published = recorded_fingerprints(con, parquet_dir / f"{PUBLICATION_TABLE}.parquet")
            con.execute(f"create schema if not exists {MART_SCHEMA}")
            # marts no longer published, the old record, and (in a copy of the working marts) what
            # the working marts' file holds beyond the published marts
            for table, kind in _relations(con).items():
                if table not in marts:
                    con.execute(f"drop {kind} {MART_SCHEMA}.{quote(table)}")
            # Each mart's Parquet file is written on a second connection while the next marts are
            # copied: one statement at a time left part of the second core idle (DECISIONLOG.md,
            # "Ingestion's statements, and the publication's two connections").
            parquet_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-parquet")
            parquet_con = con.cursor()
            try:
                written = [
                    _publish_mart(
                        con,
                        parquet_con,
                        parquet_writer,
                        mart,
                        tmp_parquet,
                        previous.get(mart),
                        recorded.get(mart),
                        copied_already=start.holds_working_marts,
                        content=contents.get(mart),
                    )
                    for mart in marts
                ]
            except BaseException:
                parquet_writer.shutdown(cancel_futures=True)  # waits for the write under way
                raise
            parquet_writer.shutdown()
            contents, removed = {}, _no_longer_published(parquet_dir, marts)
            for mart, (content, change, parquet_written, no_longer) in zip(marts, written, strict=True):
                removed += no_longer
                if parquet_written is not None:
                    parquet_written.result()  # raises if the mart's Parquet file could not be written
                if published.get(mart) == content.fingerprint:
                    change = UNCHANGED
                elif change == UNCHANGED:
                    change = KEPT
                report.row_counts[mart], report.changes[mart], contents[mart] = content.rows, change, content
            parquet_con.close()
            write_month_record(con, contents)
            con.execute(
                f"""
                create table {PUBLICATION} (
                    published_at timestamp not null,
                    dagster_run_id varchar not null,
                    mart varchar not null,
                    row_count bigint not null,
                    source_warehouse varchar not null,
                    {FINGERPRINT_COLUMN} varchar not null
                )
                """
            )
            con.executemany(
                f"insert into {PUBLICATION} values (?, ?, ?, ?, ?, ?)",
                [
                    [published_at, run_id, m, n, Path(warehouse_path).name, contents[m].fingerprint]
                    for m, n in report.row_counts.items()
                ],
            )
            write_parquet(con, PUBLICATION, tmp_parquet / f"{PUBLICATION_TABLE}.parquet")
            con.execute("detach working")
            con.execute("checkpoint")
        finally:
            con.close()
        if before_swap is not None:
            before_swap()
        # Swap in: each rename is atomic; readers of the old files keep them until they close.
        for part in sorted(tmp_parquet.iterdir()):
            if part.is_dir():  # a fact's months
                swap_in_month_files(part, parquet_dir / part.name)
                continue
            os.chmod(part, READ_ONLY_MODE)
            os.replace(part, parquet_dir / part.name)
        for path in removed:
            remove_path(path)
        os.chmod(tmp_db, READ_ONLY_MODE)
        _keep_as_replaced(report.database_path, replaced)
        os.replace(tmp_db, report.database_path)
    finally:
        for stale in (tmp_db, Path(f"{tmp_db}.wal")):
            stale.unlink(missing_ok=True)
        shutil.rmtree(tmp_parquet, ignore_errors=True)
    return report


def _keep_as_replaced(published: Path, replaced: Path) -> None:
    """Keep the published file, about to be replaced, under the name `replaced` (a hard link: no
    bytes copied), for the next publication to start from (mart_changes.open_previous_copy). Readers
    that hold it open keep reading it as it is: the next publication does not write into a file
    another process holds. On a file system without hard links there is none, and the next
    publication copies the published file."""
    replaced.unlink(missing_ok=True)
    if published.is_file():
        try:
            os.link(published, replaced)
        except OSError:
            pass


def kept_publication(
    marts_file: Path, published_dir: Path, marts: Sequence[str]
) -> tuple[PublicationReport | None, dict[str, Content]]:
    """The published copy, kept as it is, when a publication would write nothing new into it: the
    published DuckDB file and the Parquet record both name exactly `marts` with the fingerprints of
    the working marts, and every Parquet file says it holds its mart's (a fact's: its month's)
    content, with nothing to remove. Then the report is that publication's (its time and run), each
    mart UNCHANGED. Else None, with the contents read so far, which the publication reuses.

    A run with nothing new spent most of its publication bringing the file the swap before last
    replaced up to date (5.3 s of a 1M run's 15.4 s); that file now waits for the next change, which
    brings it up to date in the same pass as the change. Reads the working marts once (the
    fingerprints every publication reads) and the published file's record, read-only."""
    contents: dict[str, Content] = {}
    database, parquet_dir = published_dir / DATABASE_FILE, published_dir / PARQUET_DIR
    if not database.is_file() or not marts_file.is_file():
        return None, contents
    try:
        with duckdb.connect(str(database), read_only=True) as published:
            record = published.execute(
                f"select mart, {FINGERPRINT_COLUMN}, row_count, published_at, dagster_run_id from {PUBLICATION}"
            ).fetchall()
    except duckdb.Error:  # another storage version, a damaged file, one written before fingerprints
        return None, contents
    fingerprints = {mart: fingerprint for mart, fingerprint, *_ in record}
    with duckdb.connect(config=settings.duckdb_config()) as con:
        if (
            fingerprints != recorded_fingerprints(con, parquet_dir / f"{PUBLICATION_TABLE}.parquet")
            or set(fingerprints) != set(marts)
            or _no_longer_published(parquet_dir, marts)
        ):
            return None, contents
        con.execute(f"attach {literal(str(marts_file))} as working (read_only)")
        for mart in marts:
            columns = mart_columns(con, "working", mart)
            if not columns or personal_columns(columns):
                return None, contents  # the publication says why it refuses the mart
            content = contents[mart] = read_content(con, working_mart(mart), columns)
            if (
                content.fingerprint != fingerprints[mart]
                or not plan_parquet(con, parquet_dir, mart, content, columns).holds
            ):
                return None, contents
    publications = {(at, run) for *_, at, run in record}
    if len(publications) != 1:  # a record no publication writes
        return None, contents
    [(published_at, run_id)] = publications
    report = PublicationReport(database, parquet_dir, published_at, run_id, started_from=KEPT_COPY)
    for mart, _, rows, *_ in record:
        report.row_counts[mart], report.changes[mart] = rows, UNCHANGED
    return report, contents


class ParquetPlan(NamedTuple):
    """What the published Parquet of a mart needs to hold a content: a fact's month files to write
    (`months`, None: the mart is one file), whether its one file is to be written, and the files or
    folders to remove once the new ones are in (months a fact no longer has; the other layout's)."""

    months: MonthFilesPlan | None
    write_file: bool
    no_longer: list[Path]

    @property
    def holds(self) -> bool:
        """The published Parquet already holds the content, with nothing to remove."""
        return (
            not self.write_file
            and not (self.months and self.months.months)
            and not any(p.exists() for p in self.no_longer)
        )


def plan_parquet(
    con: duckdb.DuckDBPyConnection, parquet_dir: Path, mart: str, content: Content, columns
) -> ParquetPlan:
    """The published Parquet of `mart` against `content`: its file, or a fact's month files, each
    naming the content it holds (the one home of that rule, for a publication and a kept one)."""
    file, folder = parquet_dir / f"{mart}.parquet", parquet_dir / mart
    if published_by_month(mart, content):
        plan = plan_month_files(con, folder, content, columns)
        return ParquetPlan(plan, False, [*plan.stale, file])
    return ParquetPlan(None, parquet_fingerprint(con, file) != content.fingerprint, [folder])


def _relations(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The tables and views in the new copy's `marts` schema (those of the file it started from):
    name -> "table" or "view"."""
    return {
        name: "view" if kind == "VIEW" else "table"
        for name, kind in con.execute(
            "select table_name, table_type from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ?",
            [MART_SCHEMA],
        ).fetchall()
    }


def _no_longer_published(parquet_dir: Path, marts: Sequence[str]) -> list[Path]:
    """The published Parquet files and fact folders of marts this publication no longer has (a mart
    dropped or renamed by an upgrade): left in place, a BI dataset over one of them would go on
    showing its last numbers as if current. Removed after the swap, as the DuckDB copy drops their
    tables. Only what a publication writes is touched: `<mart>.parquet` files, and folders holding
    nothing but month folders; hidden names (a publication's temporaries) are not."""
    keep = {*marts, PUBLICATION_TABLE}
    stale = []
    for path in sorted(parquet_dir.iterdir()):
        if path.name.startswith(".") or path.is_symlink():
            continue
        if path.is_file() and path.suffix == ".parquet" and path.stem not in keep:
            stale.append(path)
        elif path.is_dir() and path.name not in keep and all(is_month_folder(p) for p in path.iterdir()):
            stale.append(path)
    return stale


def _publish_mart(
    con: duckdb.DuckDBPyConnection,
    parquet_con: duckdb.DuckDBPyConnection,
    parquet_writer: ThreadPoolExecutor,
    mart: str,
    tmp_parquet: Path,
    previous_fingerprint: str | None,
    recorded_months: Months | None,
    copied_already: bool = False,
    content: Content | None = None,
) -> tuple[Content, str, Future | None, list[Path]]:
    """Bring one mart of the new DuckDB file up to date with the working warehouse (the previous
    copy's mart had `previous_fingerprint`, and `recorded_months` by month, None: not recorded), and
    queue its Parquet file (a fact: its changed months) on the writer unless the published one
    already holds the same rows: its content, what changed, the Parquet write's future (None: none
    needed), and the published Parquet files or folders to remove once the new ones are in (months
    a fact no longer has; the other layout's file or folder). A mart with a personal-data column is
    refused before anything of it is written. `copied_already`: the new file started as a copy of
    the working marts (mart_changes.StartingCopy.holds_working_marts), which holds the mart as it is.
    `content`: the working mart's, read already (kept_publication), else read here."""
    columns = mart_columns(con, "working", mart)
    personal = personal_columns(columns)
    if personal:
        raise PublicationError(f"mart {mart} has personal data in clear ({', '.join(personal)}): not published")
    source, target = working_mart(mart), f"{MART_SCHEMA}.{quote(mart)}"
    content = content or read_content(con, source, columns)
    parquet_written = None
    # the temporary folder sits beside the published files
    month_files, write_file, no_longer = plan_parquet(con, tmp_parquet.parent, mart, content, columns)
    if month_files and month_files.months:
        parquet_written = parquet_writer.submit(write_month_files, parquet_con, source, tmp_parquet / mart, month_files)
    elif write_file:
        parquet_written = parquet_writer.submit(
            write_parquet, parquet_con, source, tmp_parquet / f"{mart}.parquet", content.fingerprint
        )
    if previous_fingerprint == content.fingerprint:
        return content, UNCHANGED, parquet_written, no_longer
    if copied_already:  # the new file is a byte copy of the working marts
        return content, COPIED, parquet_written, no_longer
    if previous_fingerprint and content.months is not None and mart_columns(con, None, mart) == columns:
        published = published_months(con, target, columns, recorded_months, previous_fingerprint)
        months = changed_months(published, content)
        deleted, inserted = replace_months(con, target, source, months)
        if holds_months(con, target, content, months):
            change = f"months replaced: {len(months)} (-{deleted} +{inserted} rows)"
            return content, change, parquet_written, no_longer
    con.execute(f"create or replace table {target} as select * from {source}")
    return content, COPIED, parquet_written, no_longer


def write_parquet(con: duckdb.DuckDBPyConnection, relation: str, path: Path, fingerprint: str | None = None) -> None:
    """Write `relation` to the Parquet file `path`, with its content fingerprint in the file's
    key-value metadata: every published Parquet file comes from here but the facts' files by month
    (month_files.py)."""
    metadata = f", {fingerprint_option(fingerprint)}" if fingerprint else ""
    con.execute(f"copy {relation} to {literal(str(path))} (format parquet{metadata})")


def remove_stale_temporaries(published_dir: str | Path) -> list[Path]:
    """Remove what an interrupted publication (killed process) left: its temporary DuckDB file and
    Parquet folder. A publication still running (its process is alive) keeps its files."""
    published_dir = Path(published_dir)
    removed = []
    for folder in (published_dir, published_dir / PARQUET_DIR):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = TEMPORARY_NAME.match(path.name)
            if not match or (int(match.group(1)) != os.getpid() and pid_alive(int(match.group(1)))):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def parquet_source(published_dir: str | Path, mart: str) -> str:
    """SQL reading a published mart's Parquet: its file, or a fact's files by month."""
    parquet_dir = Path(published_dir) / PARQUET_DIR
    if (parquet_dir / mart).is_dir():
        return f"read_parquet({literal(str(parquet_dir / mart / '*' / '*.parquet'))})"
    return f"read_parquet({literal(str(parquet_dir / f'{mart}.parquet'))})"


def read_publication(published_dir: str | Path) -> list[tuple]:
    """(published_at, dagster_run_id, mart, row_count) of the published copy, opened read-only."""
    with duckdb.connect(str(Path(published_dir) / DATABASE_FILE), read_only=True) as con:
        return con.execute(
            f"select published_at, dagster_run_id, mart, row_count from {PUBLICATION} order by mart"
        ).fetchall()


def locations_message(published_dir: str | Path, quality_dir: str | Path) -> str:
    """What the README's main command prints at the end: where BI tools and people should look."""
    from dagster_project.quality import data_docs_index

    published_dir = Path(published_dir).resolve()
    lines = [
        f"Published warehouse (open read-only): {published_dir / DATABASE_FILE}",
        f"Published Parquet files:              {published_dir / PARQUET_DIR}/<mart>.parquet "
        "(facts: <fact>/<month folder>/*.parquet)",
        f"Great Expectations Data Docs:         {data_docs_index(quality_dir)}",
    ]
    if (published_dir / DATABASE_FILE).exists():
        rows = read_publication(published_dir)
        if rows:
            lines.append(f"Last publication: {rows[0][0].isoformat()}Z by Dagster run {rows[0][1]}")
    else:
        lines.append("Nothing published yet (no run has passed the quality gate).")
    return "\n".join(lines)
