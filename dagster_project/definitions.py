"""The one Dagster code location of the project (`dagster dev -m dagster_project.definitions`).

Importing this module builds nothing: `defs` is a `@dg.definitions` function that Dagster calls when
it loads the code location; the dbt manifest, the expectation suites and the settings are read then.
`build_definitions(...)` builds the same with explicit values (`csat run`, tests).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

PIPELINE_JOB = "csat_pipeline"


def build_definitions(
    *,
    landing_dir: str | Path | None = None,
    warehouse_path: str | Path | None = None,
    crm_database_url: str | None = None,
    crm_database_schema: str | None = None,
    published_dir: str | Path | None = None,
    quality_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    engine: str | None = None,
) -> dg.Definitions:
    """The pipeline's assets, checks, job, automation and resources. Arguments override the settings
    (`dagster_project/settings.py`; resources: `dagster_project/resources.py`)."""
    from dagster_project.assets.ingestion import ingestion_assets
    from dagster_project.assets.key_drivers import build_key_driver_assets
    from dagster_project.assets.quality import default_quality_checks
    from dagster_project.assets.reporting import reporting_assets
    from dagster_project.assets.warehouse import build_warehouse_assets
    from dagster_project.publication.assets import build_publish_assets, published_postgres
    from dagster_project.resources import build_resources
    from dagster_project.sensors import build_automation

    pipeline = dg.define_asset_job(
        PIPELINE_JOB, selection=dg.AssetSelection.all(), description="Landing files to marts."
    )
    sensors, schedules = build_automation(pipeline)
    return dg.Definitions(
        assets=[
            *ingestion_assets,
            build_warehouse_assets(),
            *build_key_driver_assets(),
            *build_publish_assets(),
            published_postgres,
            *reporting_assets,
        ],
        asset_checks=list(default_quality_checks()),
        jobs=[pipeline],
        sensors=sensors,
        schedules=schedules,
        resources=build_resources(
            landing_dir=landing_dir,
            warehouse_path=warehouse_path,
            crm_database_url=crm_database_url,
            crm_database_schema=crm_database_schema,
            published_dir=published_dir,
            quality_dir=quality_dir,
            reports_dir=reports_dir,
            engine=engine,
        ),
        # One process runs a job's steps one after another: DuckDB allows a single writer per file.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `dagster dev` / `dagster-webserver` load: the pipeline configured by the settings."""
    return build_definitions()
