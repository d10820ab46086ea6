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


def crm_database_url() -> str | None:
    """SQLAlchemy URL of the CRM database; unset means the CRM comes as files like the other sources."""
    return os.environ.get("CSAT_CRM_DATABASE_URL") or None


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


def superset_home() -> Path:
    """Superset's own state for scripts/superset.sh (metadata database, secret key, admin password): git-ignored."""
    return Path(os.environ.get("CSAT_SUPERSET_HOME", ".superset")).resolve()


def superset_venv_cache() -> Path:
    """Where the Superset virtual environment is built, one per lock-file hash (outside the repository)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "csat-superset"
    return Path(os.environ.get("CSAT_SUPERSET_VENV_CACHE", default)).resolve()


def superset_admin() -> tuple[str, str | None]:
    """Superset admin user and password from the environment; no password: one is generated and kept in
    the Superset home (printed once)."""
    return os.environ.get("CSAT_SUPERSET_ADMIN_USER", "admin"), os.environ.get("CSAT_SUPERSET_ADMIN_PASSWORD") or None


def superset_port() -> int:
    """Port of Superset on 127.0.0.1 for scripts/superset.sh."""
    return int(os.environ.get("CSAT_SUPERSET_PORT", "8088"))
