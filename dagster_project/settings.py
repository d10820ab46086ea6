"""Where things live, from environment variables with working defaults.

Relative paths are resolved against the current directory; the README's commands run from the
repository root, so the defaults land under `./data/`.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_LANDING_DIR = "data/landing"
DEFAULT_WAREHOUSE_PATH = "data/warehouse/csat.duckdb"


def landing_dir() -> Path:
    return Path(os.environ.get("CSAT_LANDING_DIR", DEFAULT_LANDING_DIR)).resolve()


def warehouse_path() -> Path:
    return Path(os.environ.get("CSAT_WAREHOUSE_PATH", DEFAULT_WAREHOUSE_PATH)).resolve()


def duckdb_config() -> dict[str, str]:
    """Settings of the pipeline's DuckDB connections: CSAT_DUCKDB_MEMORY_LIMIT (e.g. `4GB`, `50%`) caps
    memory; unset leaves DuckDB's default (80% of RAM). dbt gets the same from its profile."""
    limit = os.environ.get("CSAT_DUCKDB_MEMORY_LIMIT")
    return {"memory_limit": limit} if limit else {}


CRM_DATABASE_URL_ENV = "CSAT_CRM_DATABASE_URL"


def crm_database_url() -> str | None:
    """SQLAlchemy URL of the CRM database; unset means the CRM comes as files like the other sources.
    It holds a password: Dagster gets it as `EnvVar(CRM_DATABASE_URL_ENV)` (definitions.py), never the value."""
    return os.environ.get(CRM_DATABASE_URL_ENV) or None


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def crm_database_schema() -> str | None:
    """Schema of the CRM tables in that database; unset means the connection's default search path."""
    return os.environ.get("CSAT_CRM_DATABASE_SCHEMA") or None


def published_dir() -> Path:
    """The published, read-only copy of the marts for BI tools."""
    return Path(os.environ.get("CSAT_PUBLISHED_DIR", "data/published")).resolve()


def quality_dir() -> Path:
    """Great Expectations' validation results and Data Docs."""
    return Path(os.environ.get("CSAT_QUALITY_DIR", "data/quality")).resolve()


def dbt_target_keep() -> int:
    """How many of dbt's per-run target folders (`dbt_project/target/<op>-<run>-<id>/`, 13-22 MB each)
    to keep for debugging (CSAT_DBT_TARGET_KEEP, default 5); older ones are removed after each dbt build."""
    value = os.environ.get("CSAT_DBT_TARGET_KEEP", "5")
    try:
        keep = int(value)
    except ValueError:
        raise ValueError(f"CSAT_DBT_TARGET_KEEP must be a whole number, not {value!r}") from None
    if keep < 0:
        raise ValueError(f"CSAT_DBT_TARGET_KEEP must be 0 or more, not {keep}")
    return keep


DEFAULT_DEPLOYMENT_CONFIG = "config/deployment.yml"


def deployment_config_path() -> Path:
    """The deployment file (delivered entities, reporting time zone, seeds and mappings folders);
    CSAT_DEPLOYMENT_CONFIG, default the repo's config/deployment.yml."""
    value = os.environ.get("CSAT_DEPLOYMENT_CONFIG")
    return Path(value).resolve() if value else repo_root() / DEFAULT_DEPLOYMENT_CONFIG


def reporting_time_zone_override() -> str | None:
    """CSAT_REPORTING_TIME_ZONE overrides the deployment file's `reporting_time_zone`."""
    return os.environ.get("CSAT_REPORTING_TIME_ZONE") or None


def seeds_dir_override() -> Path | None:
    """CSAT_SEEDS_DIR overrides the deployment file's `seeds_dir` (the seeds a user edits)."""
    value = os.environ.get("CSAT_SEEDS_DIR")
    return Path(value).resolve() if value else None
