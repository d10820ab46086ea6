"""Ingestion: one asset per source entity, landing files (or the CRM database) -> `raw.<entity>`."""

import tempfile
from pathlib import Path

import dagster as dg

from dagster_project.contract import ENTITIES, Entity
from dagster_project.deployment import load_deployment
from dagster_project.ingestion.files import short_label
from dagster_project.ingestion.loader import (
    EntityLoadReport,
    entity_rules,
    ingest_files,
    raise_for_errors,
    scan_delivered,
)
from dagster_project.ingestion.mapping import load_mappings
from dagster_project.resources import CrmDatabaseResource, LandingZoneResource, WarehouseResource

GROUP = "ingestion"


def raw_asset_key(entity: Entity) -> dg.AssetKey:
    return dg.AssetKey(["raw", entity.name])


def _file_table(report: EntityLoadReport) -> str:
    lines = [
        "| file | delivered | loaded | rejected | left out | status |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for f in report.files:
        status = "already ingested" if f.skipped else "loaded"
        counts = f"{f.delivered} | {f.loaded} | {f.rejected} | {f.left_out}"
        lines.append(f"| {short_label(f.source_file)} | {counts} | {status} |")
    lines += [f"| {e.split(':')[0]} | | | | | FAILED |" for e in report.errors]
    return "\n".join(lines)


def report_metadata(report: EntityLoadReport, raw_rows: int, delivery: str = "") -> dict[str, dg.MetadataValue]:
    return {
        "delivery": dg.MetadataValue.text(delivery),
        "files_loaded": dg.MetadataValue.int(len(report.new_files)),
        "files_skipped": dg.MetadataValue.int(len(report.files) - len(report.new_files)),
        "files_failed": dg.MetadataValue.int(len(report.errors)),
        "rows_delivered": dg.MetadataValue.int(report.total("delivered")),
        "rows_loaded": dg.MetadataValue.int(report.total("loaded")),
        "rows_rejected": dg.MetadataValue.int(report.total("rejected")),
        # rows the mapping's layout declares no records: rows describing the columns, a footer
        "rows_left_out": dg.MetadataValue.int(report.total("left_out")),
        "rejects_by_rule": dg.MetadataValue.json(report.rejects_by_rule),
        "dagster/row_count": dg.MetadataValue.int(raw_rows),
        "files": dg.MetadataValue.md(_file_table(report)),
        # Unknown folders and files, links not followed: what the landing folder holds but no entity took.
        "landing_warnings": dg.MetadataValue.json(report.warnings),
    }


def _crm_snapshot_files(entity: Entity, crm: CrmDatabaseResource, workdir: Path) -> list[tuple[Path, str]]:
    from dagster_project.ingestion.crm_database import snapshot_label, snapshot_table

    schema = crm.db_schema or None
    path = snapshot_table(crm.url, entity, workdir, schema=schema)
    return [(path, snapshot_label(crm.url, entity, schema=schema))]


def build_ingestion_asset(entity: Entity) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_asset_key(entity),
        group_name=GROUP,
        kinds={"duckdb"},
        description=(
            f"`{entity.qualified_name}` loaded from `<landing>/{entity.source}/{entity.name}/`"
            + (" or from the CRM database when CSAT_CRM_DATABASE_URL is set" if entity.source == "crm" else "")
            + ". Incremental by file checksum, latest delivery wins per key, bad rows in raw.load_rejects."
        ),
        metadata={"key": ", ".join(entity.key), "table": f"raw.{entity.name}"},
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        landing: LandingZoneResource,
        crm_database: CrmDatabaseResource,
    ) -> dg.MaterializeResult:
        deployment = load_deployment()
        rules = entity_rules(entity, deployment.seeds_dir, deployment.mappings_dir)
        if rules.mapping is not None:
            context.log.info(f"{entity.name}: export mapped with {rules.mapping.path}")
        with tempfile.TemporaryDirectory(prefix="csat-crm-") as workdir, warehouse.connect() as con:
            warnings: list[str] = []
            if entity.source == "crm" and crm_database.enabled:
                files = _crm_snapshot_files(entity, crm_database, Path(workdir))
            else:
                scan = scan_delivered(landing.root, entity, rules, load_mappings(deployment.mappings_dir))
                files, warnings = [(p, None) for p in scan.files], scan.warnings
            report = ingest_files(con, entity, files, rules=rules)
            report.warnings = warnings
            raw_rows = con.execute(f"select count(*) from raw.{entity.name}").fetchone()[0]
            delivered = con.execute(
                "select is_delivered from raw.entity_delivery where entity = ?", [entity.name]
            ).fetchone()[0]
        for warning in report.warnings:
            context.log.warning(f"landing folder: {warning}")
        declared = deployment.is_declared(entity.name)
        if delivered:
            delivery = "delivered" + ("" if declared else " (not declared in the deployment file)")
        elif declared:
            delivery = "not delivered: declared in the deployment file, but no file has ever been ingested"
            context.log.warning(f"{entity.name}: {delivery}")
        else:
            delivery = "not delivered (not declared in the deployment file)"
        for f in report.new_files:
            context.log.info(
                f"{f.source_file}: delivered {f.delivered}, loaded {f.loaded}, rejected {f.rejected} "
                f"{f.rejects_by_rule or ''}"
            )
        metadata = report_metadata(report, raw_rows, delivery)
        if report.errors:
            # The files that did load are committed: record what happened before failing the asset.
            context.log_event(dg.AssetObservation(asset_key=raw_asset_key(entity), metadata=metadata))
            raise_for_errors(report)
        return dg.MaterializeResult(metadata=metadata)

    return _ingest


ingestion_assets = [build_ingestion_asset(e) for e in ENTITIES]
