"""Dagster resources: where the landing files, the warehouse and the CRM database are."""

from pathlib import Path

import dagster as dg
import duckdb

from dagster_project import run_lock
from dagster_project.ingestion.warehouse import connect


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (env CSAT_WAREHOUSE_PATH, default data/warehouse/csat.duckdb).

    A run holds the warehouse's run lock (`dagster_project.run_lock`) from its first step to its
    last, so a second run (from the UI or `csat run`) stops with "another run is in progress".
    """

    path: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        note = run_lock.acquire(self.path, purpose=f"dagster run {context.run.run_id if context.run else ''}".strip())
        if note and context.log:
            context.log.warning(note)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        run_lock.release(self.path)

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        return connect(self.path, read_only=read_only)


class LandingZoneResource(dg.ConfigurableResource):
    """The landing folder `<path>/<source>/<entity>/<file>` (env CSAT_LANDING_DIR, default data/landing)."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


class CrmDatabaseResource(dg.ConfigurableResource):
    """Optional CRM database (env CSAT_CRM_DATABASE_URL, a SQLAlchemy URL). Empty: the CRM entities
    are read from landing files like the other sources. The URL holds a password: configure it as
    `dg.EnvVar("CSAT_CRM_DATABASE_URL")` (definitions.py does) so the UI shows the name, not the value."""

    url: str = ""
    db_schema: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.url)
