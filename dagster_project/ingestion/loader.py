"""Load delivered files into the `raw` schema: one transaction per file, rejects with reasons.

Guarantees, per file:
- incremental: a file whose checksum is already in `raw.load_manifest` for the entity is skipped,
  whatever its name, so delivering the same file twice changes nothing;
- latest delivery wins: rows replace earlier rows with the same key;
- atomic: rejects, rows and the manifest entry are written in one transaction, so a failure in the
  middle leaves the warehouse as it was before the file;
- nothing is dropped silently: delivered = loaded + rejected, each reject with its rule and reason.
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project.contract import Entity
from dagster_project.ingestion.files import ContractError, discover_files, fingerprint
from dagster_project.ingestion.readers import STAGE_TABLE, literal, quote, stage_delivery
from dagster_project.ingestion.validation import CHECKED_TABLE, check_delivery
from dagster_project.ingestion.warehouse import RAW_SCHEMA


class IngestionError(RuntimeError):
    """One or more files of an entity could not be loaded; the others were."""


@dataclass
class FileLoadResult:
    source_file: str
    sha256: str
    delivered: int = 0
    loaded: int = 0
    rejected: int = 0
    skipped: bool = False  # already ingested (same checksum)
    rejects_by_rule: dict[str, int] = field(default_factory=dict)


@dataclass
class EntityLoadReport:
    entity: str
    files: list[FileLoadResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def new_files(self) -> list[FileLoadResult]:
        return [f for f in self.files if not f.skipped]

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.new_files)

    @property
    def rejects_by_rule(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for f in self.new_files:
            counts.update(f.rejects_by_rule)
        return dict(counts)


def allowed_values_from_seeds(seeds_dir: Path) -> dict[str, dict[str, tuple[str, ...]]]:
    """Allowed values that live in seeds rather than in the contract: SERVQUAL item codes."""
    with open(seeds_dir / "survey_items.csv", newline="", encoding="utf-8") as f:
        codes = tuple(row["item_code"] for row in csv.DictReader(f))
    return {"survey_item_scores": {"item_code": codes}}


def already_loaded(con: duckdb.DuckDBPyConnection, entity: Entity, sha256: str) -> bool:
    return (
        con.execute(
            f"select count(*) from {RAW_SCHEMA}.load_manifest where entity = ? and file_sha256 = ?",
            [entity.name, sha256],
        ).fetchone()[0]
        > 0
    )


def load_file(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    path: Path,
    *,
    source_label: str | None = None,
    allowed: dict[str, tuple[str, ...]] | None = None,
) -> FileLoadResult:
    """Load one delivered file of `entity` in one transaction. Raises ContractError for a file
    that cannot be read as the entity's contract (nothing of it is loaded then)."""
    delivered = fingerprint(Path(path), source_label)
    result = FileLoadResult(source_file=delivered.source_label, sha256=delivered.sha256)
    if already_loaded(con, entity, delivered.sha256):
        result.skipped = True
        return result
    with tempfile.TemporaryDirectory(prefix="csat-ingest-") as workdir:
        try:
            # Staging and checking touch only temporary tables, so they run before the transaction
            # (rows inserted inside a transaction get provisional row ids, not file positions).
            staged = stage_delivery(con, entity, delivered, Path(workdir))
            check_delivery(con, entity, staged, allowed)
            _count(con, result)
            con.begin()
            try:
                _write_rejects(con, entity, delivered.source_label, delivered.sha256)
                _replace_rows(con, entity, delivered.source_label, delivered.sha256)
                _record_manifest(con, entity, delivered, result)
                con.commit()
            except BaseException:
                con.rollback()
                raise
        finally:
            for table in (STAGE_TABLE, CHECKED_TABLE):
                con.execute(f"drop table if exists {table}")
    return result


def _write_rejects(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    source_label: str,
    sha256: str,
) -> None:
    delivered_columns = [
        r[0] for r in con.execute(f"describe {STAGE_TABLE}").fetchall() if r[0] not in ("_row_number", "_malformed")
    ]
    raw_values = (
        "json_object(" + ", ".join(f"{literal(n)}, d.{quote(n)}" for n in delivered_columns) + ")"
        if delivered_columns
        else "cast(null as json)"
    )
    key = ",".join(entity.key)
    first = "c._violations[1]"
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.load_rejects
        select
            {literal(entity.name)},
            {literal(source_label)},
            c._row_number,
            case when len(c._violations) > 0 then split_part({first}, '|', 1) else 'duplicate' end,
            case when len(c._violations) > 0 then nullif(split_part({first}, '|', 2), '')
                else {literal(key)} end,
            case when len(c._violations) > 0
                then array_to_string(
                    list_transform(c._violations, lambda v: split_part(v, '|', 1) || ': '
                        || substr(v, length(split_part(v, '|', 1)) + length(split_part(v, '|', 2)) + 3)),
                    '; ')
                else {literal(f"duplicate: another row of this delivery has the same {key} and was kept")}
            end,
            {raw_values},
            {literal(sha256)},
            cast(current_timestamp as timestamp)
        from {CHECKED_TABLE} as c
        inner join {STAGE_TABLE} as d on c._row_number = d._row_number
        where not c._keep
        """
    )


def _replace_rows(con: duckdb.DuckDBPyConnection, entity: Entity, source_label: str, sha256: str) -> None:
    table = f"{RAW_SCHEMA}.{entity.name}"
    matches = " and ".join(f"{table}.{quote(k)} = k.{quote(k)}" for k in entity.key)
    keys = ", ".join(quote(k) for k in entity.key)
    con.execute(f"delete from {table} using (select {keys} from {CHECKED_TABLE} where _keep) as k where {matches}")
    columns = ", ".join(quote(c) for c in entity.column_names)
    con.execute(
        f"""
        insert into {table}
        select {columns}, _extra, {literal(source_label)}, _row_number, {literal(sha256)},
            cast(current_timestamp as timestamp)
        from {CHECKED_TABLE}
        where _keep
        """
    )


def _count(con: duckdb.DuckDBPyConnection, result: FileLoadResult) -> None:
    result.delivered, result.loaded = con.execute(
        f"select count(*), count(*) filter (where _keep) from {CHECKED_TABLE}"
    ).fetchone()
    result.rejected = result.delivered - result.loaded
    rows = con.execute(
        f"""
        select case when len(_violations) > 0 then split_part(_violations[1], '|', 1) else 'duplicate' end,
            count(*)
        from {CHECKED_TABLE} where not _keep group by all
        """
    ).fetchall()
    result.rejects_by_rule = dict(sorted(rows))


def _record_manifest(con: duckdb.DuckDBPyConnection, entity: Entity, delivered, result: FileLoadResult) -> None:
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.load_manifest
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, cast(current_timestamp as timestamp))
        """,
        [
            entity.name,
            delivered.source_label,
            delivered.sha256,
            delivered.file_format,
            delivered.encoding,
            delivered.size,
            result.delivered,
            result.loaded,
            result.rejected,
        ],
    )


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[tuple[Path, str | None]],
    *,
    allowed: dict[str, tuple[str, ...]] | None = None,
) -> EntityLoadReport:
    """Load files in order; a file that fails is reported and the next one still loads."""
    report = EntityLoadReport(entity=entity.name)
    for path, label in files:
        try:
            report.files.append(load_file(con, entity, path, source_label=label, allowed=allowed))
        except ContractError as error:
            report.errors.append(str(error))
        except (duckdb.Error, UnicodeDecodeError) as error:
            report.errors.append(f"{label or path}: could not be loaded: {error}")
    return report


def ingest_landing_entity(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    landing_dir: Path,
    *,
    allowed: dict[str, tuple[str, ...]] | None = None,
) -> EntityLoadReport:
    files = [(p, None) for p in discover_files(Path(landing_dir), entity)]
    return ingest_files(con, entity, files, allowed=allowed)


def raise_for_errors(report: EntityLoadReport) -> None:
    if report.errors:
        raise IngestionError(
            f"{len(report.errors)} file(s) of {report.entity} were not loaded:\n- " + "\n- ".join(report.errors)
        )
