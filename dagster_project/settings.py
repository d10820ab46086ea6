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


def pseudonym_key() -> str | None:
    """CSAT_PSEUDONYM_KEY: the secret of the pseudonyms (HMAC-SHA256) of e-mails, phones and erased ids.
    Read only by dagster_project.privacy.keys; never logged."""
    return os.environ.get("CSAT_PSEUDONYM_KEY") or None


def pseudonym_key_file() -> Path:
    """CSAT_PSEUDONYM_KEY_FILE: a file holding that secret (first line; retired keys on later lines), used
    when CSAT_PSEUDONYM_KEY is unset. `csat generate` creates it (owner-only) when no key is configured."""
    return Path(os.environ.get("CSAT_PSEUDONYM_KEY_FILE", "data/privacy/pseudonym.key")).resolve()


def erasure_register_path(warehouse: Path | None = None) -> Path:
    """CSAT_ERASURE_REGISTER: the register of erased customers (pseudonymised ids) that ingestion and
    `--rebuild` apply. Default: next to the warehouse, `<warehouse>.erasures.jsonl`."""
    configured = os.environ.get("CSAT_ERASURE_REGISTER")
    if configured:
        return Path(configured).resolve()
    warehouse = Path(warehouse) if warehouse is not None else warehouse_path()
    return warehouse.with_name(f"{warehouse.name}.erasures.jsonl")


def personal_data_retention_days() -> int | None:
    """CSAT_PERSONAL_DATA_RETENTION_DAYS: clear-text personal columns in `raw` (names, e-mails, phones,
    birth dates, and the same in raw.load_rejects) are set to NULL this many days after loading;
    unset keeps them."""
    value = os.environ.get("CSAT_PERSONAL_DATA_RETENTION_DAYS")
    if not value:
        return None
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"CSAT_PERSONAL_DATA_RETENTION_DAYS must be a whole number of days, not {value!r}") from None
    if days < 0:
        raise ValueError(f"CSAT_PERSONAL_DATA_RETENTION_DAYS must not be negative, not {days}")
    return days


def published_dir() -> Path:
    """The published, read-only copy of the marts for BI tools."""
    return Path(os.environ.get("CSAT_PUBLISHED_DIR", "data/published")).resolve()


def quality_dir() -> Path:
    """Great Expectations' validation results and Data Docs."""
    return Path(os.environ.get("CSAT_QUALITY_DIR", "data/quality")).resolve()
