"""`csat check`: ingestion's dry run, for onboarding a company's exports.

While a deployer writes mapping files and seeds, the question is "what would load, and what would
be rejected and why?", before a pipeline run changes the warehouse. The check loads the landing
folder's files with the deployment's mappings and seeds into a scratch warehouse in a temporary
folder, reports per entity and file what loaded and what was rejected (the first rejects' rows and
reasons), and deletes the scratch warehouse. The working warehouse, the published copy, the
erasure register and the pseudonymisation key are never read or written: what follows a load into
a kept warehouse (pseudonyms, erasures, retention) is left out, so the check needs no key, and a
customer erased before counts as loaded here (a real run removes it again).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dagster_project.contract import ENTITIES, Entity
from dagster_project.deployment import Deployment, load_deployment
from dagster_project.ingestion.file_selection import folder_of
from dagster_project.ingestion.files import EntityScan
from dagster_project.ingestion.loader import EntityLoadReport, EntityRules, entity_rules, ingest_files, scan_delivered
from dagster_project.ingestion.mapping import EntityMapping
from dagster_project.ingestion.warehouse import RAW_SCHEMA, connect
from dagster_project.sql_text import quote


@dataclass
class Reject:
    source_file: str
    row_number: int
    rule: str
    column: str | None
    reason: str


@dataclass
class EntityCheck:
    entity: Entity
    declared: bool
    mapping: Path | None
    report: EntityLoadReport
    columns_delivered: list[str] = field(default_factory=list)
    first_rejects: list[Reject] = field(default_factory=list)
    columns_unmapped: list[str] = field(default_factory=list)  # export columns only kept in `_extra`
    columns_empty: list[str] = field(default_factory=list)  # delivered contract columns NULL in every loaded row
    # rows of an immutable entity a later file delivered again with other values: the gate blocks on them
    rows_revised: int = 0

    @property
    def columns_missing(self) -> list[str]:
        """Contract columns no file of this check carried (KPIs over them would be NULL)."""
        return [c for c in self.entity.column_names if c not in self.columns_delivered]


def check_landing(landing: Path, entity_names: list[str] | None = None, *, first_rejects: int = 5) -> list[EntityCheck]:
    """Load `landing` (or the named entities of it) into a scratch warehouse and report the result;
    entities with no file are reported when the deployment declares them."""
    deployment = load_deployment()
    entities = [e for e in ENTITIES if not entity_names or e.name in entity_names]
    checks = []
    rules = {e.name: entity_rules(e, deployment.seeds_dir, deployment.mappings_dir) for e in ENTITIES}
    mappings = {name: r.mapping for name, r in rules.items()}
    with tempfile.TemporaryDirectory(prefix="csat-check-") as scratch:
        con = connect(Path(scratch) / "check.duckdb")
        try:
            for entity in entities:
                scan = scan_delivered(landing, entity, rules[entity.name], mappings)
                if not scan.files and not (entity_names or deployment.is_declared(entity.name)):
                    continue
                checks.append(_check_entity(con, entity, scan, deployment, rules, first_rejects))
        finally:
            con.close()
    return checks


def _check_entity(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    scan: EntityScan,
    deployment: Deployment,
    every_rules: dict[str, EntityRules],
    first_rejects: int,
) -> EntityCheck:
    rules = every_rules[entity.name]
    report = ingest_files(con, entity, [(p, None) for p in scan.files], rules=rules, privacy_steps=False)
    report.warnings = scan.warnings
    delivered = con.execute("select column_name from raw.delivered_columns where entity = ?", [entity.name]).fetchall()
    rejects = con.execute(
        "select source_file, row_number, rule, column_name, reason from raw.load_rejects"
        " where entity = ? order by source_file, row_number limit ?",
        [entity.name, first_rejects],
    ).fetchall()
    return EntityCheck(
        entity,
        declared=deployment.is_declared(entity.name),
        mapping=rules.mapping.path if rules.mapping else None,
        report=report,
        columns_delivered=[c for (c,) in delivered],
        first_rejects=[Reject(*row) for row in rejects],
        columns_unmapped=_unmapped_columns(con, entity, _reading_the_same_files(entity, every_rules)),
        columns_empty=_empty_columns(con, entity, [c for (c,) in delivered]),
        rows_revised=con.execute(
            "select coalesce(sum(rows_revised), 0) from raw.revised_rows where entity = ?", [entity.name]
        ).fetchone()[0],
    )


def _empty_columns(con: duckdb.DuckDBPyConnection, entity: Entity, delivered: list[str]) -> list[str]:
    """The contract columns the files carried that are NULL in every loaded row: a mapped name or a
    nested path (`via.Channel` where the JSON writes `channel`) that finds nothing, a value map that
    maps every value to nothing. An optional column loads so without a reject, so the check says it."""
    columns = [c for c in entity.column_names if c in delivered]
    if not columns:
        return []
    counts = ", ".join(f"count({quote(c)})" for c in columns)
    row = con.execute(f"select count(*), {counts} from {RAW_SCHEMA}.{entity.name}").fetchone()
    return [c for c, n in zip(columns, row[1:], strict=True) if row[0] and not n]


def _reading_the_same_files(entity: Entity, every_rules: dict[str, EntityRules]) -> list[EntityMapping]:
    """The entity's mapping and those of the entities reading the same files (`files_of`): a wide
    survey export's item columns are the item scores' even where the responses load it. Entities
    sharing a folder with patterns of their own (`files`) that differ read different files."""
    mappings = {name: rules.mapping for name, rules in every_rules.items()}
    mine = mappings[entity.name]

    def same_files(other: EntityMapping) -> bool:
        patterns = (mine.files if mine else (), other.files)
        return folder_of(other.entity, other) == folder_of(entity.name, mine) and (
            not all(patterns) or patterns[0] == patterns[1]
        )

    return [m for m in mappings.values() if m is not None and same_files(m)]


def _unmapped_columns(con: duckdb.DuckDBPyConnection, entity: Entity, mappings: list[EntityMapping]) -> list[str]:
    """The export's columns that feed no contract column, in the loaded rows: kept in `_extra`, where
    no KPI reads them. The column a deployer forgot to map (a segment, a travel class) shows here.
    `mappings`: the entity's, and those of the entities reading the same files."""
    kept = con.execute(
        f"select distinct unnest(json_keys(_extra)) from {RAW_SCHEMA}.{entity.name} where _extra is not null"
    ).fetchall()
    used = {
        export.strip().lower()
        for mapping in mappings
        for export in [
            *mapping.columns.values(),
            *(c for item in mapping.items.values() for c in item.values()),
            *(c for inputs in mapping.key_from.values() for c in inputs),
            *(mapping.pivot.columns.values() if mapping.pivot else ()),  # a pivoted answer's original
        ]
    }
    # A column whose original text is kept beside its converted value is mapped; an expression's
    # inputs feed a contract column too, and a `where`'s choose the rows (named in their SQL as a
    # whole word, quoted or not).
    sql = [e for mapping in mappings for e in [*mapping.expressions.values(), mapping.where] if e]
    expressions = " ".join(sql).lower()

    def in_expression(name: str) -> bool:
        return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", expressions) is not None

    return sorted(
        name for (name,) in kept if name.strip().lower() not in used and not in_expression(name.strip().lower())
    )


def report_lines(
    checks: list[EntityCheck], landing: Path, *, files_shown: int = 10, columns_shown: int = 15
) -> list[str]:
    """The check as text: per entity, its mapping and totals, the files with rejects (each file when
    there are few), the first rejects, the contract columns never delivered, the export's columns
    mapped to nothing, files not loaded and landing warnings; then the totals."""
    lines = []
    for check in checks:
        report = check.report
        mapped = f"mapping {_shown(check.mapping, landing)}" if check.mapping else "no mapping: the contract's names"
        lines.append(f"{check.entity.qualified_name} ({mapped})")
        if not report.files and not report.errors:
            lines.append("  no file" + (" (declared in the deployment file)" if check.declared else ""))
            continue
        if len(report.files) > 1:
            lines.append(f"  {_counts(report.files)}")
        listed = [f for f in report.files if f.rejected] if len(report.files) > files_shown else report.files
        for f in listed[:files_shown]:
            lines.append(f"{'    ' if len(report.files) > 1 else '  '}{_shown(f.source_file, landing)}: {_counts([f])}")
        if len(listed) > files_shown:
            lines.append(f"    ... {len(listed) - files_shown} more files with rejects")
        for r in check.first_rejects:
            lines.append(f"    {_shown(r.source_file, landing)} row {r.row_number}: {_reason(r, check.entity)}")
        if report.files and check.columns_missing:
            lines.append(f"  contract columns never delivered: {', '.join(check.columns_missing)}")
        if check.columns_empty:
            lines.append(f"  contract columns empty in every loaded row: {', '.join(check.columns_empty)}")
        if check.columns_unmapped:
            shown = ", ".join(check.columns_unmapped[:columns_shown])
            more = (
                f" and {len(check.columns_unmapped) - columns_shown} more"
                if len(check.columns_unmapped) > columns_shown
                else ""
            )
            lines.append(f"  export columns mapped to nothing (kept in _extra): {shown}{more}")
        lines += [f"  NOT LOADED: {error}" for error in report.errors]
        if check.rows_revised:
            lines.append(
                f"  CHANGED BY A LATER FILE: {check.rows_revised:,} rows delivered again with other values; answers "
                "are immutable, so a run's `redeliveries` check blocks publication on them (raw.revised_rows)"
            )
        lines += [f"  landing folder: {warning}" for warning in report.warnings]
    files = [f for c in checks for f in c.report.files]
    errors = sum(len(c.report.errors) for c in checks)
    lines.append(
        f"== {len(checks)} entities: {_counts(files)}"
        + (f"; {errors} file(s) NOT LOADED" if errors else "")
        + " (a dry run: the warehouse was not touched)"
    )
    return lines


def _counts(files: list) -> str:
    delivered, loaded = sum(f.delivered for f in files), sum(f.loaded for f in files)
    rules: dict[str, int] = {}
    for f in files:
        for rule, n in f.rejects_by_rule.items():
            rules[rule] = rules.get(rule, 0) + n
    rejected = sum(rules.values())
    why = f", {rejected:,} rejected ({', '.join(f'{r} {n:,}' for r, n in sorted(rules.items()))})" if rejected else ""
    files_text = f"{len(files)} files, " if len(files) != 1 else ""
    left_out = sum(f.left_out for f in files)
    layout = f"; {left_out:,} rows left out as the mapping declares (its layout rows, its `where`)" if left_out else ""
    return f"{files_text}{delivered:,} rows, {loaded:,} load{why}{layout}"


def _reason(reject: Reject, entity: Entity) -> str:
    """A reject's reason, without personal data: the value of a personal column, and a malformed
    line of an entity that has personal columns, stay in the rejects of a real run (SECURITY.md),
    not in a terminal's scrollback."""
    personal = {c.name for c in entity.columns if c.personal}
    if reject.column in personal and ": " in reject.reason:
        return reject.reason.rsplit(": ", 1)[0] + ": (value not shown: personal data)"
    if personal and " | line: " in reject.reason:
        return reject.reason.split(" | line: ")[0] + " | line: (not shown: this entity holds personal data)"
    return reject.reason


def _shown(path: str | Path, landing: Path) -> str:
    try:
        return Path(path).resolve().relative_to(landing.resolve()).as_posix()
    except ValueError:
        return str(path)
