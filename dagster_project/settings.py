"""Where things live, from environment variables with working defaults.

Relative paths are resolved against the current directory; the README's commands run from the
repository root, so the defaults land under `./data/`.
"""

from __future__ import annotations

import codecs
import os
from datetime import UTC, datetime
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
    if not os.environ.get("CSAT_PERSONAL_DATA_RETENTION_DAYS"):
        return None
    return _int_setting("CSAT_PERSONAL_DATA_RETENTION_DAYS", 0, minimum=0)


def published_dir() -> Path:
    """The published, read-only copy of the marts for BI tools."""
    return Path(os.environ.get("CSAT_PUBLISHED_DIR", "data/published")).resolve()


def quality_dir() -> Path:
    """Great Expectations' validation results and Data Docs."""
    return Path(os.environ.get("CSAT_QUALITY_DIR", "data/quality")).resolve()


def dbt_target_keep() -> int:
    """How many of dbt's per-run target folders (`dbt_project/target/<op>-<run>-<id>/`, 13-22 MB each)
    to keep for debugging (CSAT_DBT_TARGET_KEEP, default 5); older ones are removed after each dbt build."""
    return _int_setting("CSAT_DBT_TARGET_KEEP", 5, minimum=0)


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


# Ingestion plausibility and safety limits (README, "Ingestion"). Read on every load, so a test or an
# operator can change them without restarting anything.
DEFAULT_EARLIEST_TIMESTAMP = "2000-01-01T00:00:00Z"
DEFAULT_LATEST_TIMESTAMP = "2099-12-31T23:59:59Z"
DEFAULT_EARLIEST_DATE = "1900-01-01"
DEFAULT_FUTURE_SKEW_SECONDS = 300
DEFAULT_MAX_FIELD_BYTES = 1_048_576


def _datetime_setting(name: str, default: str) -> datetime:
    text = os.environ.get(name) or default
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}={text!r} is not an ISO 8601 date or timestamp (e.g. {default})") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _int_setting(name: str, default: int, minimum: int) -> int:
    text = os.environ.get(name) or str(default)
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a whole number") from None
    if value < minimum:
        raise ValueError(f"{name}={value} is below {minimum}")
    return value


def earliest_timestamp() -> datetime:
    """CSAT_EARLIEST_TIMESTAMP: contract timestamps before it are `range` rejects (UTC; naive = UTC)."""
    return _datetime_setting("CSAT_EARLIEST_TIMESTAMP", DEFAULT_EARLIEST_TIMESTAMP)


def latest_timestamp() -> datetime:
    """CSAT_LATEST_TIMESTAMP: contract timestamps and dates after it are `range` rejects; it bounds the
    columns that may lie in the future (a scheduled subscription end). Keep the span from the earliest
    timestamp within dbt's `csat_max_days` (100 years)."""
    return _datetime_setting("CSAT_LATEST_TIMESTAMP", DEFAULT_LATEST_TIMESTAMP)


def earliest_date() -> datetime:
    """CSAT_EARLIEST_DATE: contract dates (birth, hire, store opening) before it are `range` rejects."""
    return _datetime_setting("CSAT_EARLIEST_DATE", DEFAULT_EARLIEST_DATE)


def future_skew_seconds() -> int:
    """CSAT_FUTURE_SKEW_SECONDS: how far after the load time a past-only timestamp may lie before it is
    a `future` reject (the source system's clock may run ahead of ours)."""
    return _int_setting("CSAT_FUTURE_SKEW_SECONDS", DEFAULT_FUTURE_SKEW_SECONDS, 0)


def max_field_bytes() -> int:
    """CSAT_MAX_FIELD_BYTES: a delivered value longer than this (in UTF-8 bytes) is a `size` reject."""
    return _int_setting("CSAT_MAX_FIELD_BYTES", DEFAULT_MAX_FIELD_BYTES, 1)


def follow_landing_symlinks() -> bool:
    """CSAT_LANDING_FOLLOW_SYMLINKS: follow symbolic links in the landing folder (never to a target
    outside it). Off by default: a link is reported and skipped."""
    return (os.environ.get("CSAT_LANDING_FOLLOW_SYMLINKS") or "false").strip().lower() in ("1", "true", "yes")


def declared_encodings() -> dict[str, str]:
    """CSAT_FILE_ENCODINGS: `entity=encoding` pairs, comma-separated (e.g. `customers=latin-1`): the
    encoding of that entity's text files that are not UTF-8 (instead of guessing GB18030)."""
    text = os.environ.get("CSAT_FILE_ENCODINGS") or ""
    declared = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        entity_name, sep, encoding = pair.partition("=")
        if not sep or not entity_name.strip() or not encoding.strip():
            raise ValueError(f"CSAT_FILE_ENCODINGS: {pair!r} is not entity=encoding")
        try:
            codec = codecs.lookup(encoding.strip()).name
        except LookupError:
            raise ValueError(f"CSAT_FILE_ENCODINGS: unknown encoding {encoding.strip()!r}") from None
        declared[entity_name.strip()] = codec
    return declared


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
    return _int_setting("CSAT_SUPERSET_PORT", 8088, minimum=1)
