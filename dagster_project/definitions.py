"""The one Dagster `Definitions` of the project (`dagster dev -m dagster_project.definitions`)."""

from __future__ import annotations

import os

import dagster as dg
from dagster_dbt import DbtCliResource

from dagster_project import settings
from dagster_project.assets.ingestion import ingestion_assets
from dagster_project.assets.publish import PublishedWarehouseResource, publish_assets, published_resource
from dagster_project.assets.quality import QualityResource, quality_checks, quality_resource
from dagster_project.assets.reporting import ReportsResource, reporting_assets, reports_resource
from dagster_project.assets.warehouse import dbt_executable, dbt_project, warehouse_models
from dagster_project.publishing_postgres import postgres_publication_resource, postgres_publish_assets
from dagster_project.resources import CrmDatabaseResource, LandingZoneResource, WarehouseResource
from dagster_project.sensors import build_automation

PIPELINE_JOB = "csat_pipeline"


def _secret_env(name: str) -> str | dg.EnvVar:
    """A secret setting as a reference to its environment variable (Dagster resolves it when a run
    starts; snapshots and the UI show only the name), or "" when the variable is unset (feature off)."""
    return dg.EnvVar(name) if os.environ.get(name) else ""


def build_definitions(
    *,
    landing_dir: str | None = None,
    warehouse_path: str | None = None,
    crm_database_url: str | None = None,
    crm_database_schema: str | None = None,
    published_dir: str | None = None,
    quality_dir: str | None = None,
    reports_dir: str | None = None,
) -> dg.Definitions:
    """Arguments override the environment (CSAT_LANDING_DIR, CSAT_WAREHOUSE_PATH, CSAT_CRM_DATABASE_URL,
    CSAT_CRM_DATABASE_SCHEMA, CSAT_PUBLISHED_DIR, CSAT_QUALITY_DIR, CSAT_REPORTS_DIR; PostgreSQL publication:
    CSAT_PUBLISH_POSTGRES_URL, CSAT_PUBLISH_POSTGRES_SCHEMA, CSAT_PUBLISH_POSTGRES_READERS).

    Database URLs from the environment reach Dagster as `EnvVar` references, so the passwords in them
    never appear in the repository snapshot or the UI; `crm_database_url` given here (tests) is plain."""
    pipeline = dg.define_asset_job(
        PIPELINE_JOB, selection=dg.AssetSelection.all(), description="Landing files to marts."
    )
    sensors, schedules = build_automation(pipeline)
    return dg.Definitions(
        assets=[*ingestion_assets, warehouse_models, *publish_assets, *postgres_publish_assets, *reporting_assets],
        asset_checks=quality_checks,
        jobs=[pipeline],
        sensors=sensors,
        schedules=schedules,
        resources={
            "warehouse": WarehouseResource(path=str(warehouse_path or settings.warehouse_path())),
            "landing": LandingZoneResource(path=str(landing_dir or settings.landing_dir())),
            "quality": QualityResource(path=quality_dir) if quality_dir else quality_resource(),
            "published": PublishedWarehouseResource(path=published_dir) if published_dir else published_resource(),
            "reports": ReportsResource(path=reports_dir) if reports_dir else reports_resource(),
            "postgres_publication": postgres_publication_resource(),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
            "crm_database": CrmDatabaseResource(
                url=crm_database_url or _secret_env(settings.CRM_DATABASE_URL_ENV),
                db_schema=crm_database_schema or settings.crm_database_schema() or "",
            ),
        },
        # One process runs a job's steps one after another: DuckDB allows a single writer per file.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
