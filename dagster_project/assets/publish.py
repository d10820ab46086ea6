"""Publication: the read-only copy of the marts that BI tools read.

After every blocking check of the run passed, the marts (tables of the working warehouse's `marts`
schema that have an expectation suite) are copied into a new DuckDB file and one Parquet file per
mart, written next to the published copy under temporary names and swapped in with `os.replace`.
So a failed run never touches the published copy, and a BI tool that holds the old file open
read-only keeps reading it (the rename swaps the directory entry; the old file lives on until
closed; the pipeline never opens the published file, so there are no lock conflicts).

Layout (folder: env CSAT_PUBLISHED_DIR, default data/published):
    csat.duckdb                  schema `marts`: one table per mart + `marts.publication`
    parquet/<mart>.parquet       the same marts
    parquet/publication.parquet  when and from which Dagster run
"""

import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project import settings
from dagster_project.contract import ENTITIES
from dagster_project.quality import load_suites
from dagster_project.resources import WarehouseResource
from dagster_project.run_lock import pid_alive

GROUP = "publish"
PUBLISHED_DIR_ENV = "CSAT_PUBLISHED_DIR"
DEFAULT_PUBLISHED_DIR = "data/published"
DATABASE_FILE = "csat.duckdb"
PARQUET_DIR = "parquet"
MART_SCHEMA = "marts"
PUBLICATION_TABLE = "publication"
# The publication record sits with the marts (BI tools list one schema); it names the working
# warehouse by file name only: a server path means nothing to a BI user and says too much.
PUBLICATION = f"{MART_SCHEMA}.{PUBLICATION_TABLE}"
PERSONAL_COLUMNS = frozenset(c.name for e in ENTITIES for c in e.columns if c.personal)
READ_ONLY_MODE = 0o444  # published files: readable by BI tools, written only by the pipeline's renames
# Temporary names of a publication in progress: `.csat.duckdb.<run>-<pid>.tmp[.wal]`, `parquet/.tmp-<run>-<pid>/`.
_TEMPORARY = re.compile(r"^(?:\." + re.escape(DATABASE_FILE) + r"\.|\.tmp-).*-(\d+)(?:\.tmp(?:\.wal)?)?$")


class PublicationError(RuntimeError):
    """The marts could not be published; the previously published copy is untouched."""


class PublishedWarehouseResource(dg.ConfigurableResource):
    """The folder of the published copy (env CSAT_PUBLISHED_DIR, default data/published)."""

    path: str = DEFAULT_PUBLISHED_DIR

    @property
    def database_path(self) -> Path:
        return Path(self.path).resolve() / DATABASE_FILE

    @property
    def parquet_dir(self) -> Path:
        return Path(self.path).resolve() / PARQUET_DIR


def published_resource() -> PublishedWarehouseResource:
    """The resource to register under the key `published` (reads CSAT_PUBLISHED_DIR)."""
    return PublishedWarehouseResource(
        path=str(Path(os.environ.get(PUBLISHED_DIR_ENV, DEFAULT_PUBLISHED_DIR)).resolve())
    )


@dataclass
class PublicationReport:
    database_path: Path
    parquet_dir: Path
    published_at: datetime
    run_id: str
    row_counts: dict[str, int] = field(default_factory=dict)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish_marts(
    warehouse_path: str | Path,
    published_dir: str | Path,
    *,
    marts: Sequence[str],
    run_id: str,
    published_at: datetime | None = None,
) -> PublicationReport:
    """Copy `marts` (tables of the working warehouse's `marts` schema) into the published folder.

    Everything is written under temporary names first; only when all of it is complete are the
    files swapped in (Parquet files first, the DuckDB file last). Raises PublicationError, leaving
    the published copy as it was, when a mart is missing or has a personal-data column.
    """
    published_dir = Path(published_dir).resolve()
    parquet_dir = published_dir / PARQUET_DIR
    parquet_dir.mkdir(parents=True, exist_ok=True)
    published_at = published_at or datetime.now(UTC).replace(tzinfo=None)
    remove_stale_temporaries(published_dir)
    tag = f"{run_id[:8]}-{os.getpid()}"
    tmp_db = published_dir / f".{DATABASE_FILE}.{tag}.tmp"
    tmp_parquet = parquet_dir / f".tmp-{tag}"
    for stale in (tmp_db, Path(f"{tmp_db}.wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(tmp_parquet, ignore_errors=True)
    tmp_parquet.mkdir()
    report = PublicationReport(
        database_path=published_dir / DATABASE_FILE, parquet_dir=parquet_dir, published_at=published_at, run_id=run_id
    )
    try:
        con = duckdb.connect(str(tmp_db), config=settings.duckdb_config())
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute(f"attach {_literal(str(Path(warehouse_path).resolve()))} as working (read_only)")
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
            con.execute(f"create schema {MART_SCHEMA}")
            for mart in marts:
                columns = [
                    r[0]
                    for r in con.execute(
                        "select column_name from information_schema.columns "
                        "where table_catalog = 'working' and table_schema = ? and table_name = ?",
                        [MART_SCHEMA, mart],
                    ).fetchall()
                ]
                personal = sorted(c for c in columns if c.lower() in PERSONAL_COLUMNS)
                if personal:
                    raise PublicationError(
                        f"mart {mart} has personal data in clear ({', '.join(personal)}): not published"
                    )
                target = f"{MART_SCHEMA}.{_quote(mart)}"
                con.execute(f"create table {target} as select * from working.{MART_SCHEMA}.{_quote(mart)}")
                report.row_counts[mart] = con.execute(f"select count(*) from {target}").fetchone()[0]
                con.execute(f"copy {target} to {_literal(str(tmp_parquet / f'{mart}.parquet'))} (format parquet)")
            con.execute(
                f"""
                create table {PUBLICATION} (
                    published_at timestamp not null,
                    dagster_run_id varchar not null,
                    mart varchar not null,
                    row_count bigint not null,
                    source_warehouse varchar not null
                )
                """
            )
            con.executemany(
                f"insert into {PUBLICATION} values (?, ?, ?, ?, ?)",
                [[published_at, run_id, m, n, Path(warehouse_path).name] for m, n in report.row_counts.items()],
            )
            con.execute(
                f"copy {PUBLICATION} to {_literal(str(tmp_parquet / f'{PUBLICATION_TABLE}.parquet'))} (format parquet)"
            )
            con.execute("detach working")
            con.execute("checkpoint")
        finally:
            con.close()
        # Swap in: each rename is atomic; readers of the old files keep them until they close.
        for part in sorted(tmp_parquet.iterdir()):
            os.chmod(part, READ_ONLY_MODE)
            os.replace(part, parquet_dir / part.name)
        os.chmod(tmp_db, READ_ONLY_MODE)
        os.replace(tmp_db, report.database_path)
    finally:
        for stale in (tmp_db, Path(f"{tmp_db}.wal")):
            stale.unlink(missing_ok=True)
        shutil.rmtree(tmp_parquet, ignore_errors=True)
    return report


def remove_stale_temporaries(published_dir: str | Path) -> list[Path]:
    """Remove what an interrupted publication (killed process) left: its temporary DuckDB file and
    Parquet folder. A publication still running (its process is alive) keeps its files."""
    published_dir = Path(published_dir)
    removed = []
    for folder in (published_dir, published_dir / PARQUET_DIR):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = _TEMPORARY.match(path.name)
            if not match or (int(match.group(1)) != os.getpid() and pid_alive(int(match.group(1)))):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


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
        f"Published Parquet files:              {published_dir / PARQUET_DIR}/<mart>.parquet",
        f"Great Expectations Data Docs:         {data_docs_index(quality_dir)}",
    ]
    if (published_dir / DATABASE_FILE).exists():
        rows = read_publication(published_dir)
        if rows:
            lines.append(f"Last publication: {rows[0][0].isoformat()}Z by Dagster run {rows[0][1]}")
    else:
        lines.append("Nothing published yet (no run has passed the quality gate).")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ the gate


def unmet_checks(instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]) -> list[str]:
    """Blocking checks whose latest evaluation did not pass (warnings are fine) or is older than
    the latest materialization of its asset: publication must wait for them."""
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    check_keys = list(check_keys)
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    problems = []
    for key in check_keys:
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        record = records.get(key)
        if record is None or record.event is None or record.status == AssetCheckExecutionRecordStatus.PLANNED:
            problems.append(f"{name} has not run")
            continue
        evaluation = record.event.dagster_event.event_specific_data if record.event.dagster_event else None
        if record.status != AssetCheckExecutionRecordStatus.SUCCEEDED:
            severity = getattr(evaluation, "severity", None)
            if not (record.status == AssetCheckExecutionRecordStatus.FAILED and severity == dg.AssetCheckSeverity.WARN):
                problems.append(f"{name} failed ({record.status.value})")
                continue
        materialization = instance.get_latest_materialization_event(key.asset_key)
        if materialization is not None and materialization.timestamp > record.event.timestamp:
            problems.append(f"{name} has not run since {key.asset_key.to_user_string()} was last materialized")
    return problems


def build_publish_asset(
    mart_keys: dict[str, dg.AssetKey], check_keys: Sequence[dg.AssetCheckKey]
) -> dg.AssetsDefinition:
    """The publication asset: depends on every mart; publishes them when every check in
    `check_keys` (the quality gate, raw and marts) passed on the current data."""
    marts = sorted(mart_keys)

    @dg.asset(
        key=dg.AssetKey(["published_warehouse"]),
        group_name=GROUP,
        deps=[mart_keys[m] for m in marts],
        kinds={"duckdb", "parquet"},
        description=(
            "Read-only copy of the marts for BI tools: `<published>/csat.duckdb` (schema `marts`, table "
            "`publication`) and `<published>/parquet/<mart>.parquet`, swapped in atomically only after every "
            "blocking quality check passed."
        ),
    )
    def published_warehouse(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, published: PublishedWarehouseResource
    ) -> dg.MaterializeResult:
        problems = unmet_checks(context.instance, check_keys)
        if problems:
            raise PublicationError(
                "not published: the quality gate has not passed on the current data:\n- " + "\n- ".join(problems)
            )
        report = publish_marts(warehouse.path, published.path, marts=marts, run_id=context.run.run_id)
        context.log.info(f"Published warehouse: {report.database_path} (Parquet: {report.parquet_dir})")
        table = ["| mart | rows |", "|---|---:|"] + [f"| {m} | {n} |" for m, n in report.row_counts.items()]
        return dg.MaterializeResult(
            metadata={
                "published_database": dg.MetadataValue.path(str(report.database_path)),
                "parquet_dir": dg.MetadataValue.path(str(report.parquet_dir)),
                "published_at": dg.MetadataValue.text(report.published_at.isoformat() + "Z"),
                "marts": dg.MetadataValue.md("\n".join(table)),
                "dagster/row_count": dg.MetadataValue.int(sum(report.row_counts.values())),
            }
        )

    return published_warehouse


def build_publish_assets(checks: Sequence[dg.AssetChecksDefinition] | None = None) -> list[dg.AssetsDefinition]:
    """The publication asset over every mart that has an expectation suite, gated by `checks`
    (default: `dagster_project.assets.quality.quality_checks`)."""
    from dagster_project.assets import quality

    checks = quality.quality_checks if checks is None else checks
    model_keys = quality.dbt_model_keys()
    mart_suites = [s for s in load_suites() if not s.is_raw]
    mart_keys = {s.asset[-1]: quality.suite_asset_key(s, model_keys) for s in mart_suites}
    return [build_publish_asset(mart_keys, quality.quality_check_keys(checks))]


publish_assets: list[dg.AssetsDefinition] = build_publish_assets()
