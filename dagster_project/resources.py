"""Every Dagster resource of the project, and `build_resources`, the one place they get their values.

| key | resource | setting |
|---|---|---|
| `warehouse` | WarehouseResource | CSAT_WAREHOUSE_PATH, CSAT_ENGINE, CSAT_SPARK_DIR, CSAT_SPARK_DRIVER_MEMORY |
| `landing` | LandingZoneResource | CSAT_LANDING_DIR |
| `crm_database` | CrmDatabaseResource | CSAT_CRM_DATABASE_URL (secret), CSAT_CRM_DATABASE_SCHEMA |
| `quality` | QualityResource | CSAT_QUALITY_DIR |
| `published` | PublishedWarehouseResource | CSAT_PUBLISHED_DIR |
| `reports` | ReportsResource | CSAT_REPORTS_DIR |
| `postgres_publication` | PostgresPublicationResource | CSAT_PUBLISH_POSTGRES_URL (secret), _SCHEMA, _READERS |
| `dbt` | DbtResource (dagster-dbt's DbtCliResource) | (the repo's dbt project; the run's paths go to dbt as vars) |

Values come from `dagster_project.settings`. Secrets reach Dagster as `dg.EnvVar` references
(resolved when a run starts; snapshots and the UI show the variable's name only). Folders are plain
resolved paths: not secret, and the UI showing where a run reads and writes is what an operator needs.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from dagster_project import run_lock, settings
from dagster_project.ingestion.warehouse import connect
from dagster_project.publication.layout import DATABASE_FILE, PARQUET_DIR
from dagster_project.quality.validation import data_docs_dir, data_docs_index
from dagster_project.scorecard import SCORECARD_FILE


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (CSAT_WAREHOUSE_PATH) and the engine dbt builds on (CSAT_ENGINE).

    A run holds the warehouse's run lock (`dagster_project.run_lock`) from its first step to its
    last, so a second run (from the UI or `csat run`) stops with "another run is in progress".
    In Spark mode (`engine="spark"`) dbt builds on Spark in `spark_dir` (dagster_project/spark/).
    """

    path: str
    engine: str = settings.ENGINES[0]
    spark_dir: str = ""
    spark_driver_memory: str = settings.DEFAULT_SPARK_DRIVER_MEMORY

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        note = run_lock.acquire(self.path, purpose=f"dagster run {context.run.run_id if context.run else ''}".strip())
        if note and context.log:
            context.log.warning(note)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        run_lock.release(self.path)

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return connect(self.path, read_only=read_only)


class LandingZoneResource(dg.ConfigurableResource):
    """The landing folder `<path>/<source>/<entity>/<file>` (CSAT_LANDING_DIR)."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


class CrmDatabaseResource(dg.ConfigurableResource):
    """Optional CRM database (CSAT_CRM_DATABASE_URL, a SQLAlchemy URL). Empty: the CRM entities are
    read from landing files like the other sources. The URL holds a password: `build_resources` gives
    it as `dg.EnvVar("CSAT_CRM_DATABASE_URL")` so the UI shows the name, not the value."""

    url: str = ""
    db_schema: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.url)


class QualityResource(dg.ConfigurableResource):
    """Where the quality gate keeps Great Expectations' state and Data Docs (CSAT_QUALITY_DIR):
    `<path>/gx/` (validation results) and `<path>/data_docs/index.html`."""

    path: str = settings.DEFAULT_QUALITY_DIR

    @property
    def data_docs_dir(self) -> Path:
        return data_docs_dir(self.path)

    @property
    def data_docs_index(self) -> Path:
        return data_docs_index(self.path)


class PublishedWarehouseResource(dg.ConfigurableResource):
    """The folder of the published copy (CSAT_PUBLISHED_DIR): `csat.duckdb` and `parquet/`."""

    path: str = settings.DEFAULT_PUBLISHED_DIR

    @property
    def database_path(self) -> Path:
        return Path(self.path).resolve() / DATABASE_FILE

    @property
    def parquet_dir(self) -> Path:
        return Path(self.path).resolve() / PARQUET_DIR


class ReportsResource(dg.ConfigurableResource):
    """The folder reports are written to (CSAT_REPORTS_DIR)."""

    path: str = settings.DEFAULT_REPORTS_DIR

    @property
    def scorecard_path(self) -> Path:
        return Path(self.path).resolve() / SCORECARD_FILE


class PostgresPublicationResource(dg.ConfigurableResource):
    """The PostgreSQL publication target. Empty url (CSAT_PUBLISH_POSTGRES_URL unset): switched off.
    The URL holds a password: `build_resources` gives it as `dg.EnvVar`, so Dagster's snapshots and UI
    show the variable's name, never its value."""

    url: str = ""
    db_schema: str = settings.DEFAULT_POSTGRES_SCHEMA
    readers: str = ""  # comma-separated roles that get read access

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    @property
    def reader_roles(self) -> list[str]:
        return [r.strip() for r in self.readers.split(",") if r.strip()]


def secret(name: str) -> str | dg.EnvVar:
    """A secret setting as a reference to its environment variable (Dagster resolves it when a run
    starts), or "" when the variable is unset (the feature is off)."""
    return dg.EnvVar(name) if settings.is_set(name) else ""


def postgres_publication_resource() -> PostgresPublicationResource:
    """The `postgres_publication` resource from the CSAT_PUBLISH_POSTGRES_* settings."""
    return PostgresPublicationResource(
        url=secret(settings.POSTGRES_URL_ENV),
        db_schema=settings.postgres_publication_schema(),
        readers=settings.postgres_publication_readers(),
    )


def warehouse_resource(
    path: str | Path | None = None, engine: str | None = None, spark_dir: str | Path | None = None
) -> WarehouseResource:
    """The `warehouse` resource from the settings; arguments override them (`csat run --engine`, tests)."""
    warehouse = Path(path).resolve() if path else settings.warehouse_path()
    engine = engine or settings.engine()
    if engine not in settings.ENGINES:
        raise ValueError(f"engine {engine!r}: expected one of {', '.join(settings.ENGINES)}")
    return WarehouseResource(
        path=str(warehouse),
        engine=engine,
        spark_dir=str(Path(spark_dir).resolve() if spark_dir else settings.spark_dir(warehouse)),
        spark_driver_memory=settings.spark_driver_memory(),
    )


def build_resources(
    *,
    landing_dir: str | Path | None = None,
    warehouse_path: str | Path | None = None,
    crm_database_url: str | None = None,
    crm_database_schema: str | None = None,
    published_dir: str | Path | None = None,
    quality_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    engine: str | None = None,
    spark_dir: str | Path | None = None,
) -> dict[str, dg.ConfigurableResource]:
    """Every resource of the pipeline; arguments override the settings (`csat run --warehouse`, tests).
    `crm_database_url` given here is plain (tests); from the settings it is an `EnvVar` reference."""
    from dagster_project.assets.warehouse import DBT_PROJECT_DIR, DbtResource, dbt_executable

    def folder(value: str | Path | None, default: Path) -> str:
        return str(Path(value).resolve() if value else default)

    return {
        "warehouse": warehouse_resource(warehouse_path, engine, spark_dir),
        "landing": LandingZoneResource(path=folder(landing_dir, settings.landing_dir())),
        "quality": QualityResource(path=folder(quality_dir, settings.quality_dir())),
        "published": PublishedWarehouseResource(path=folder(published_dir, settings.published_dir())),
        "reports": ReportsResource(path=folder(reports_dir, settings.reports_dir())),
        "postgres_publication": postgres_publication_resource(),
        # The project folder only (no file read): dbt's own paths come per invocation, as vars.
        "dbt": DbtResource(
            project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
        ),
        "crm_database": CrmDatabaseResource(
            url=crm_database_url or secret(settings.CRM_DATABASE_URL_ENV),
            db_schema=crm_database_schema or settings.crm_database_schema() or "",
        ),
    }
