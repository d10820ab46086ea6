"""Load delivered files into the `raw` schema, with rejects and reasons.

Guarantees, per delivery (a file; a file of a zip archive or a sheet of a workbook read by sheet:
ingestion/delivery_list.py):
- incremental: a delivery whose checksum is already in `raw.load_manifest` for the entity is
  skipped, whatever its name, so delivering the same file twice changes nothing;
- latest delivery wins: rows replace earlier rows with the same key, files taking effect in order
  (customers also keep every delivered version in raw.customers_history: ingestion/history.py);
- atomic: rejects, rows and manifest entries are written in one transaction, so a failure in the
  middle leaves the warehouse as it was before the file;
- nothing is dropped silently: delivered = loaded + rejected, each reject with its rule and reason;
  the rows a mapping declares no records of the entity (its layout rows, the rows outside its
  `where`) are counted apart (`left_out`).

Consecutive files with the same format and header are loaded as one batch (one scan, one
transaction): DuckDB is several times faster on one large scan than on many small ones. A batch
that fails is retried file by file, so the error names the file and the other files still load.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project import privacy, settings
from dagster_project.contract import ENTITIES, ENTITIES_BY_NAME, Entity, seed_rows, seed_values
from dagster_project.ingestion import file_selection
from dagster_project.ingestion.archives import is_archive
from dagster_project.ingestion.checksums import LandingChecksums
from dagster_project.ingestion.delivery_list import UNREADABLE, DeliveryList, describe
from dagster_project.ingestion.files import (
    JSON_FORMATS,
    WORKBOOK_FORMATS,
    ContractError,
    DeliveredFile,
    EntityScan,
    FileLayout,
    file_sha256,
    scan_entity,
)
from dagster_project.ingestion.history import record_versions
from dagster_project.ingestion.mapped_delivery import (
    MAPPED_TABLE,
    ColumnMatch,
    check_expressions,
    match_columns,
    stage_columns,
)
from dagster_project.ingestion.mapping import EntityMapping
from dagster_project.ingestion.readers import (
    FILES_TABLE,
    STAGE_TABLE,
    ReadableFile,
    drop_staged,
    json_member_lists,
    literal,
    prepare_file,
    quote,
    stage_batch,
)
from dagster_project.ingestion.revisions import record_revisions
from dagster_project.ingestion.validation import (
    CHECKED_TABLE,
    REPEATED_KEYS_TABLE,
    ItemScale,
    check_delivery,
    item_scale_checks,
)
from dagster_project.ingestion.warehouse import METADATA_COLUMNS, RAW_SCHEMA, refresh_entity_delivery


class IngestionError(RuntimeError):
    """One or more files of an entity could not be loaded; the others were."""


@dataclass
class FileLoadResult:
    source_file: str
    sha256: str
    delivered: int = 0
    loaded: int = 0
    rejected: int = 0
    left_out: int = 0  # rows the mapping declares no records of the entity (layout rows, rows outside `where`)
    skipped: bool = False  # already ingested (same checksum), or the same bytes earlier in this run
    rejects_by_rule: dict[str, int] = field(default_factory=dict)


@dataclass
class EntityLoadReport:
    entity: str
    files: list[FileLoadResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # landing entries not taken (files.scan_entity)

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


def _seed_rows(seeds_dir: Path, file_name: str) -> list[dict[str, str]] | None:
    """Rows of a seed CSV in the deployment's seeds dir, else in the repo's seeds; None if neither."""
    return seed_rows(file_name, seeds_dir)


def allowed_values_from_seeds(seeds_dir: Path) -> dict[str, dict[str, tuple[str, ...]]]:
    """Allowed values that live in seeds rather than in the contract: survey item codes, and the
    columns the contract marks with `seed` (channels, touchpoints, complaint categories).

    A seed file missing from `seeds_dir` is read from the repo's seeds; a column whose seed exists
    nowhere accepts the contract's defaults (contract.seed_values)."""
    rows = _seed_rows(seeds_dir, "survey_items.csv") or []
    allowed: dict[str, dict[str, tuple[str, ...]]] = {
        "survey_item_scores": {"item_code": tuple(row["item_code"] for row in rows)}
    }
    for entity in ENTITIES:
        for column in entity.columns:
            if column.seed is not None:
                allowed.setdefault(entity.name, {})[column.name] = seed_values(column.seed, seeds_dir)
    return allowed


def item_scales_from_seeds(seeds_dir: Path) -> dict[str, ItemScale]:
    """Each survey item's answer scale from survey_items.csv (scale_min, scale_max, na_code); a
    catalogue without these columns is the SERVQUAL default, 1..7 without a "not applicable" code."""
    scales = {}
    for row in _seed_rows(seeds_dir, "survey_items.csv") or []:
        code = row["item_code"]
        try:
            na = (row.get("na_code") or "").strip()
            scales[code] = ItemScale(
                int(row.get("scale_min") or 1), int(row.get("scale_max") or 7), int(na) if na else None
            )
        except ValueError as error:
            raise ContractError(
                f"survey_items.csv: item {code}: scale_min, scale_max and na_code must be integers: {error}"
            ) from None
    return scales


@dataclass(frozen=True)
class EntityRules:
    """What a deployment adds to the contract for one entity: seed values, item scales, mapping."""

    allowed: dict[str, tuple[str, ...]] | None = None
    item_scales: dict[str, ItemScale] | None = None
    mapping: EntityMapping | None = None

    def extra_checks(self):
        return item_scale_checks(self.item_scales) if self.item_scales else []


def entity_rules(entity: Entity, seeds_dir: Path, mappings_dir: Path | None = None) -> EntityRules:
    """The rules of `entity` in a deployment (seeds from `seeds_dir`, mapping from `mappings_dir`)."""
    from dagster_project.ingestion.mapping import load_mapping

    return EntityRules(
        allowed=allowed_values_from_seeds(seeds_dir).get(entity.name),
        item_scales=item_scales_from_seeds(seeds_dir) if entity.name == "survey_item_scores" else None,
        mapping=load_mapping(mappings_dir, entity),
    )


def loaded_checksums(con: duckdb.DuckDBPyConnection, entity: Entity) -> set[str]:
    """The checksums of the files of `entity` loaded before (one query, not one per file)."""
    rows = con.execute(f"select distinct file_sha256 from {RAW_SCHEMA}.load_manifest where entity = ?", [entity.name])
    return {sha256 for (sha256,) in rows.fetchall()}


# Bounds one batch's temporary tables (about 3x the text in memory); Parquet is compressed ~8x.
BATCH_MAX_BYTES = {
    "csv": 256_000_000,
    "jsonl": 256_000_000,
    "json": 256_000_000,
    "parquet": 32_000_000,
    # A workbook's CSV copy is several times the workbook.
    **dict.fromkeys(WORKBOOK_FORMATS, 32_000_000),
}


def _rules(entity: Entity, allowed: dict[str, tuple[str, ...]] | None, rules: EntityRules | None) -> EntityRules:
    """`rules` as given, else the deployment's seeds (values, item scales); `allowed` overrides values."""
    if rules is None:
        from dagster_project.deployment import load_deployment

        rules = entity_rules(entity, load_deployment().seeds_dir)  # no mapping unless one is given
    if allowed is not None:
        rules = dataclasses.replace(rules, allowed=allowed)
    return rules


def load_file(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    path: Path,
    *,
    source_label: str | None = None,
    allowed: dict[str, tuple[str, ...]] | None = None,
    rules: EntityRules | None = None,
) -> FileLoadResult:
    """Load one delivered file of `entity`. Raises ContractError for a file that cannot be read as
    the entity's contract (nothing of it is loaded then)."""
    report = EntityLoadReport(entity=entity.name)
    with tempfile.TemporaryDirectory(prefix="csat-ingest-") as workdir:
        rules = _rules(entity, allowed, rules)
        _ingest(con, entity, [(Path(path), source_label)], rules, Path(workdir), report, raise_errors=True)
    refresh_entity_delivery(con)
    return report.files[0]


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[tuple[Path, str | None]],
    *,
    allowed: dict[str, tuple[str, ...]] | None = None,
    rules: EntityRules | None = None,
    privacy_steps: bool = True,
) -> EntityLoadReport:
    """Load files in order; a file that fails is reported and the others still load.

    `privacy_steps=False` leaves out what follows a load into a warehouse that is kept (pseudonyms,
    the erasure register, retention): for a scratch warehouse that is deleted (`csat check`)."""
    report = EntityLoadReport(entity=entity.name)
    with tempfile.TemporaryDirectory(prefix="csat-ingest-") as workdir:
        rules = _rules(entity, allowed, rules)
        _ingest(con, entity, files, rules, Path(workdir), report, raise_errors=False, privacy_steps=privacy_steps)
    refresh_entity_delivery(con)
    return report


# A file's header is read against no columns: matching it with the contract (optional columns,
# the mapping's renames and constants) is `mapped_delivery.match_columns`' job.
def _header_only(entity: Entity) -> Entity:
    return dataclasses.replace(entity, columns=())


_Ready = tuple[ReadableFile, ColumnMatch]


def _ingest(
    con,
    entity,
    files,
    rules: EntityRules,
    workdir: Path,
    report: EntityLoadReport,
    *,
    raise_errors: bool,
    privacy_steps: bool = True,
) -> None:
    declared_encoding = settings.declared_encodings().get(entity.name)
    # How to read the entity's files, as its mapping declares (a plain export without one).
    layout = rules.mapping.layout if rules.mapping else FileLayout()
    loaded = loaded_checksums(con, entity)
    checksums = LandingChecksums.read(con, entity.name)
    reader = file_selection.Reader.of(entity.name, rules.mapping)
    deliveries = DeliveryList(loaded, layout, declared_encoding, workdir, raise_errors, reader)
    for path, label in files:
        try:
            # A file loaded before is known by its checksum alone: its encoding is not read again
            # (the whole file, every run: 0.5-0.8 s of a 1M-response landing folder), nor its bytes
            # when it has not changed since a run read them (a landing file: ingestion/checksums.py).
            sha256 = file_sha256(path) if label is not None else checksums.sha256(path)
        except UNREADABLE as error:
            deliveries.unreadable(error, label or str(path))
            continue
        deliveries.add(path, label, sha256)
    report.files += [FileLoadResult(shown, sha256, skipped=True) for shown, sha256 in deliveries.skipped]
    to_read = deliveries.to_read
    checksums.record(con)
    json_files = [
        (item[2], item[1]) for item in to_read if isinstance(item, tuple) and item[1].file_format in JSON_FORMATS
    ]
    json_members = json_member_lists(con, json_files)
    ready: list[_Ready] = []
    for item in to_read:
        if isinstance(item, str):
            report.errors.append(item)
            continue
        shown, delivered, readable_at = item
        try:
            readable, _ = prepare_file(con, _header_only(entity), delivered, readable_at, json_members.get(readable_at))
            label, names = delivered.source_label, list(readable.names)
            match = match_columns(entity, label, names, rules.mapping, file_format=delivered.file_format)
            if rules.mapping is not None:
                check_expressions(con, delivered.source_label, match, rules.mapping)
            ready.append((readable, match))
        except (ContractError, duckdb.Error, UnicodeDecodeError, OSError, EOFError) as error:
            if raise_errors:
                raise
            report.errors.append(describe(error, shown))
    for batch in _batches(ready):
        try:
            report.files.extend(_load_batch(con, entity, batch, rules))
        except (duckdb.Error, UnicodeDecodeError) as error:
            if raise_errors or len(batch) == 1:
                if raise_errors:
                    raise
                report.errors.append(describe(error, batch[0][0].delivered.source_label))
                continue
            for one in batch:  # find the file that breaks the batch; load the others
                try:
                    report.files.extend(_load_batch(con, entity, [one], rules))
                except (duckdb.Error, UnicodeDecodeError) as single_error:
                    report.errors.append(describe(single_error, one[0].delivered.source_label))
    # Pseudonyms of new customer rows, the erasure register, retention: see dagster_project/privacy.
    if privacy_steps:
        privacy.after_load(con, entity)


def _batches(ready: list[_Ready]) -> list[list[_Ready]]:
    """Consecutive files with the same format, dialect and header, up to BATCH_MAX_BYTES of that format."""
    batches: list[list[_Ready]] = []
    size = 0
    for item in ready:
        file = item[0]
        last = batches[-1][-1][0] if batches else None
        same = last is not None and _layout(last) == _layout(file)
        if same and size + file.delivered.size <= BATCH_MAX_BYTES[file.delivered.file_format]:
            batches[-1].append(item)
            size += file.delivered.size
        else:
            batches.append([item])
            size = file.delivered.size
    return batches


def _layout(file: ReadableFile) -> tuple:
    delivered = file.delivered
    return (
        delivered.file_format,
        delivered.delimiter,
        delivered.lines_above_header,
        delivered.records_below_header,
        delivered.records_at_end,
        file.names,
    )


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    batch: list[_Ready],
    rules: EntityRules,
) -> list[FileLoadResult]:
    files = [f for f, _ in batch]
    match = batch[0][1]  # one header per batch, so one match
    try:
        # Staging and checking touch only temporary tables, so they run before the transaction
        # (rows inserted inside a transaction get provisional row ids, not file positions).
        stage_batch(con, files)
        staged = stage_columns(con, entity, match, rules.mapping)
        layout = files[0].delivered  # one layout per batch
        layout_rows = bool(layout.records_below_header or layout.records_at_end)
        check_delivery(con, entity, staged, rules.allowed, rules.extra_checks(), layout_rows=layout_rows)
        results = _count(con, [f.delivered for f in files])
        con.begin()
        try:
            if any(result.rejected for result in results):  # the staged rows are read again for them
                _write_rejects(con, entity, list(match.names))
            _replace_rows(con, entity)
            if entity.name == "customers":  # every delivered version, for dim_customer's history
                record_versions(con, CHECKED_TABLE, FILES_TABLE)
            for file, result in zip(files, results, strict=True):
                _record_manifest(con, entity, file.delivered, result)
            _record_delivered_columns(con, entity, match.delivered)
            con.commit()
        except BaseException:
            con.rollback()
            raise
    finally:
        drop_staged(con)
        for table in (CHECKED_TABLE, REPEATED_KEYS_TABLE, MAPPED_TABLE):
            con.execute(f"drop table if exists {table}")
    return results


def _record_delivered_columns(con: duckdb.DuckDBPyConnection, entity: Entity, columns: list[str]) -> None:
    """Contract columns this entity's files have carried (after mapping): a KPI over a column never
    delivered is NULL with a reason, not 0."""
    con.executemany(
        f"""
        insert into {RAW_SCHEMA}.delivered_columns
        select ?, ? where not exists (
            select 1 from {RAW_SCHEMA}.delivered_columns where entity = ? and column_name = ?
        )
        """,
        [(entity.name, c, entity.name, c) for c in columns],
    )


def _write_rejects(con: duckdb.DuckDBPyConnection, entity: Entity, delivered_columns: list[str]) -> None:
    """Rejects keep the row as delivered: the export's columns and values, before any mapping."""
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
            b.source_label,
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
            b.file_sha256,
            cast(current_timestamp as timestamp)
        from {CHECKED_TABLE} as c
        inner join {STAGE_TABLE} as d on c._file_index = d._file_index and c._row_number = d._row_number
        inner join {FILES_TABLE} as b on b.file_index = c._file_index
        where not c._keep and not c._left_out
        """
    )


def _replace_rows(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Kept rows replace raw rows with the same key; within a batch the latest file wins. The rows of
    an immutable entity replaced with other values are recorded first (ingestion/revisions.py)."""
    table = f"{RAW_SCHEMA}.{entity.name}"
    keys = ", ".join(quote(k) for k in entity.key)
    stored, repeated = _has_rows(con, table), _has_rows(con, REPEATED_KEYS_TABLE)
    record_revisions(con, entity, stored=stored, repeated=repeated)
    # An empty raw table (a first load) has nothing to replace, and the delete's distinct keys are a
    # full aggregate over the batch.
    if stored:
        matches = " and ".join(f"{table}.{quote(k)} = k.{quote(k)}" for k in entity.key)
        con.execute(
            f"delete from {table} using (select distinct {keys} from {CHECKED_TABLE} where _keep) as k where {matches}"
        )
    columns = ", ".join(f"c.{quote(c)}" for c in entity.column_names)
    # By name: a raw table created by an older contract has its newer columns at the end.
    target = ", ".join([*(quote(c) for c in entity.column_names), *METADATA_COLUMNS])
    # A key kept in two files of the batch: the latest file's row wins. A file's own duplicates were
    # settled when it was checked, so (file, key) is unique among kept rows, and a row of a key that
    # several rows carry (`_repeated_keys`, with its latest file) is kept from that file alone (a
    # window over the batch would sort it: twice the insert's cost). Those keys were listed before a
    # file's own duplicates were settled, which keeps one row of each (file, key): the latest file is
    # the same. Most batches repeat no key, and then the join is skipped too.
    latest_file = ""
    if repeated:
        key_match = " and ".join(f"c.{quote(k)} = repeated.{quote(k)}" for k in entity.key)
        latest_file = f"""
            left join {REPEATED_KEYS_TABLE} as repeated on {key_match}
            where repeated._latest_file_index is null or c._file_index = repeated._latest_file_index
        """
    con.execute(
        f"""
        insert into {table} ({target})
        select {columns}, c._extra, b.source_label, c._row_number, b.file_sha256,
            cast(current_timestamp as timestamp)
        from (select * from {CHECKED_TABLE} where _keep) as c
        inner join {FILES_TABLE} as b on b.file_index = c._file_index
        {latest_file}
        """
    )


def _has_rows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute(f"select exists (select 1 from {table})").fetchone()[0]


def _count(con: duckdb.DuckDBPyConnection, delivered: list[DeliveredFile]) -> list[FileLoadResult]:
    totals = {
        index: (total, kept, left_out)
        for index, total, kept, left_out in con.execute(
            f"""
            select _file_index, count(*) filter (where not _left_out), count(*) filter (where _keep),
                count(*) filter (where _left_out)
            from {CHECKED_TABLE} group by all
            """
        ).fetchall()
    }
    rules: dict[int, dict[str, int]] = {}
    for index, rule, count in con.execute(
        f"""
        select _file_index,
            case when len(_violations) > 0 then split_part(_violations[1], '|', 1) else 'duplicate' end,
            count(*)
        from {CHECKED_TABLE} where not _keep and not _left_out group by all
        """
    ).fetchall():
        rules.setdefault(index, {})[rule] = count
    results = []
    for index, file in enumerate(delivered):
        total, kept, left_out = totals.get(index, (0, 0, 0))
        results.append(
            FileLoadResult(
                source_file=file.source_label,
                sha256=file.sha256,
                delivered=total,
                loaded=kept,
                rejected=total - kept,
                left_out=left_out,
                rejects_by_rule=dict(sorted(rules.get(index, {}).items())),
            )
        )
    return results


def _record_manifest(
    con: duckdb.DuckDBPyConnection, entity: Entity, delivered: DeliveredFile, result: FileLoadResult
) -> None:
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.load_manifest (
            entity, source_file, file_sha256, file_format, file_encoding, file_bytes,
            rows_delivered, rows_loaded, rows_rejected, rows_left_out, loaded_at
        )
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, cast(current_timestamp as timestamp))
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
            result.left_out,
        ],
    )


def ingest_landing_entity(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    landing_dir: Path,
    *,
    allowed: dict[str, tuple[str, ...]] | None = None,
    rules: EntityRules | None = None,
    mappings: Mapping[str, EntityMapping | None] | None = None,
) -> EntityLoadReport:
    """Load the entity's files in the landing folder not loaded before; `mappings`: every entity's,
    as `scan_delivered` takes them."""
    rules = _rules(entity, allowed, rules)
    scan = scan_delivered(Path(landing_dir), entity, rules, mappings)
    report = ingest_files(con, entity, [(p, None) for p in scan.files], rules=rules)
    report.warnings = scan.warnings
    return report


def scan_delivered(
    landing_dir: Path, entity: Entity, rules: EntityRules, mappings: Mapping[str, EntityMapping | None] | None = None
) -> EntityScan:
    """The entity's files in the landing folder: its own folder's, or the folder's of the entity its
    mapping reads the files of (`files_of`); those whose names its `files` patterns match, and the
    zip archives, whose files are chosen as they are unpacked (`DeliveryList`). `mappings`: every
    entity's of the deployment, which tell what in the folder is another entity's; the folder's own
    entity names in its warnings what no reader takes (ingestion/file_selection.py)."""
    mapping = rules.mapping
    files_of = mapping.files_of if mapping else None
    scan = scan_entity(landing_dir, entity, files_of=ENTITIES_BY_NAME[files_of] if files_of else None)
    if files_of is None:
        folder_readers = file_selection.readers(entity.name, {**(mappings or {}), entity.name: mapping})
        scan.warnings += file_selection.not_taken(scan.files, folder_readers, Path(landing_dir))
    reader = file_selection.Reader.of(entity.name, mapping)
    scan.files = [path for path in scan.files if is_archive(path) or reader.takes(path.name)]
    return scan


def raise_for_errors(report: EntityLoadReport) -> None:
    if report.errors:
        raise IngestionError(
            f"{len(report.errors)} file(s) of {report.entity} were not loaded:\n- " + "\n- ".join(report.errors)
        )
