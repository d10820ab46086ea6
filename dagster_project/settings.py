"""Every setting of the project, read here and nowhere else.

A setting is an environment variable listed in `SETTINGS` (name, default, meaning); the README's
configuration table lists exactly these (tests/test_settings.py keeps the two in step). Each has a
typed accessor below that validates it; the rest of the package calls the accessors, never
`os.environ`. What a deployment declares (entities, reporting time zone, seeds and mappings folders)
is in the deployment file (`config/deployment.yml`, read by dagster_project/deployment.py); the
settings that override it say so. Nothing here writes the environment.

Relative paths are resolved against the current directory; the README's commands run from the
repository root, so the defaults land under `./data/`.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    name: str  # the environment variable
    default: str  # as documented in the README ("" = unset)
    meaning: str
    secret: bool = False  # reaches Dagster only as `dg.EnvVar(name)`, never as a value


DEFAULT_LANDING_DIR = "data/landing"
DEFAULT_WAREHOUSE_PATH = "data/warehouse/csat.duckdb"
DEFAULT_PUBLISHED_DIR = "data/published"
DEFAULT_QUALITY_DIR = "data/quality"
DEFAULT_REPORTS_DIR = "data/reports"
DEFAULT_PSEUDONYM_KEY_FILE = "data/privacy/pseudonym.key"
DEFAULT_DEPLOYMENT_CONFIG = "config/deployment.yml"
DEFAULT_POSTGRES_SCHEMA = "marts"
DEFAULT_DBT_TARGET_KEEP = 5
ENGINES = ("duckdb", "spark")  # where dbt builds the models; ingestion and the gate always use DuckDB
DEFAULT_SPARK_DRIVER_MEMORY = "2g"
# Ingestion plausibility and safety limits (README, "Ingestion"). Read on every load, so a test or an
# operator can change them without restarting anything.
DEFAULT_EARLIEST_TIMESTAMP = "2000-01-01T00:00:00Z"
DEFAULT_LATEST_TIMESTAMP = "2099-12-31T23:59:59Z"
DEFAULT_EARLIEST_DATE = "1900-01-01"
DEFAULT_FUTURE_SKEW_SECONDS = 300
DEFAULT_MAX_FIELD_BYTES = 1_048_576
DEFAULT_SUPERSET_PORT = 8088

CRM_DATABASE_URL_ENV = "CSAT_CRM_DATABASE_URL"
POSTGRES_URL_ENV = "CSAT_PUBLISH_POSTGRES_URL"

SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("CSAT_LANDING_DIR", DEFAULT_LANDING_DIR, "landing folder `<source>/<entity>/<file>`"),
        Setting("CSAT_WAREHOUSE_PATH", DEFAULT_WAREHOUSE_PATH, "the working DuckDB warehouse"),
        Setting("CSAT_PUBLISHED_DIR", DEFAULT_PUBLISHED_DIR, "the published read-only copy of the marts"),
        Setting("CSAT_QUALITY_DIR", DEFAULT_QUALITY_DIR, "Great Expectations' results and Data Docs"),
        Setting("CSAT_REPORTS_DIR", DEFAULT_REPORTS_DIR, "the rendered scorecard (`scorecard.html`)"),
        Setting("CSAT_DEPLOYMENT_CONFIG", DEFAULT_DEPLOYMENT_CONFIG, "the deployment file (default: the repo's)"),
        Setting("CSAT_REPORTING_TIME_ZONE", "", "overrides the deployment file's `reporting_time_zone`"),
        Setting("CSAT_SEEDS_DIR", "", "overrides the deployment file's `seeds_dir`"),
        Setting("CSAT_DUCKDB_MEMORY_LIMIT", "", "DuckDB's memory cap, e.g. `4GB` or `50%` (unset: 80% of RAM)"),
        Setting("CSAT_DBT_TARGET_KEEP", str(DEFAULT_DBT_TARGET_KEEP), "dbt's per-run target folders kept"),
        # Read by dbt's profile (dbt_project/profiles.yml), like the memory limit.
        Setting("CSAT_DBT_THREADS", "2", "models dbt builds at once"),
        Setting("CSAT_ENGINE", ENGINES[0], "engine dbt builds the models on: `duckdb` or `spark`"),
        Setting("CSAT_SPARK_DIR", "`<warehouse>.spark`", "Spark mode: raw Parquet export, Spark tables, metastore"),
        Setting("CSAT_SPARK_DRIVER_MEMORY", DEFAULT_SPARK_DRIVER_MEMORY, "Spark mode: the local driver's heap"),
        Setting(CRM_DATABASE_URL_ENV, "", "SQLAlchemy URL of the CRM database (unset: CRM files)", secret=True),
        Setting("CSAT_CRM_DATABASE_SCHEMA", "", "schema of the CRM tables (unset: the default search path)"),
        Setting(POSTGRES_URL_ENV, "", "PostgreSQL publication target (unset: off)", secret=True),
        Setting("CSAT_PUBLISH_POSTGRES_SCHEMA", DEFAULT_POSTGRES_SCHEMA, "schema the marts are published to"),
        Setting("CSAT_PUBLISH_POSTGRES_READERS", "", "PostgreSQL roles given read access, comma-separated"),
        Setting("CSAT_PSEUDONYM_KEY", "", "secret of the pseudonyms (HMAC-SHA256)", secret=True),
        Setting("CSAT_PSEUDONYM_KEY_FILE", DEFAULT_PSEUDONYM_KEY_FILE, "file holding that secret when unset"),
        Setting("CSAT_ERASURE_REGISTER", "`<warehouse>.erasures.jsonl`", "register of erased customers"),
        Setting("CSAT_PERSONAL_DATA_RETENTION_DAYS", "", "days after which clear personal columns in raw are nulled"),
        Setting("CSAT_EARLIEST_TIMESTAMP", DEFAULT_EARLIEST_TIMESTAMP, "earlier timestamps are `range` rejects"),
        Setting("CSAT_LATEST_TIMESTAMP", DEFAULT_LATEST_TIMESTAMP, "later timestamps and dates are `range` rejects"),
        Setting("CSAT_EARLIEST_DATE", DEFAULT_EARLIEST_DATE, "earlier dates are `range` rejects"),
        Setting("CSAT_FUTURE_SKEW_SECONDS", str(DEFAULT_FUTURE_SKEW_SECONDS), "clock skew allowed on past-only times"),
        Setting("CSAT_MAX_FIELD_BYTES", str(DEFAULT_MAX_FIELD_BYTES), "longer values are `size` rejects"),
        Setting("CSAT_LANDING_FOLLOW_SYMLINKS", "false", "follow symbolic links inside the landing folder"),
        Setting("CSAT_FILE_ENCODINGS", "", "`entity=encoding` pairs for text files that are not UTF-8"),
        Setting("CSAT_SUPERSET_HOME", ".superset", "Superset's state for scripts/superset.sh"),
        Setting("CSAT_SUPERSET_VENV_CACHE", "`$XDG_CACHE_HOME/csat-superset`", "Superset's virtual environments"),
        Setting("CSAT_SUPERSET_ADMIN_USER", "admin", "Superset's admin user"),
        Setting("CSAT_SUPERSET_ADMIN_PASSWORD", "", "Superset's admin password (unset: generated)", secret=True),
        Setting("CSAT_SUPERSET_PORT", str(DEFAULT_SUPERSET_PORT), "port of Superset on 127.0.0.1"),
    )
}


def _get(name: str) -> str | None:
    """The value of a setting (unset and empty are the same: None). Only the names in SETTINGS."""
    if name not in SETTINGS:
        raise KeyError(f"{name} is not a setting: add it to settings.SETTINGS and the README configuration table")
    return os.environ.get(name) or None


def is_set(name: str) -> bool:
    """Whether a setting has a value (for secrets: whether to hand Dagster a `dg.EnvVar` reference)."""
    return _get(name) is not None


def _path(name: str, default: str | Path) -> Path:
    return Path(_get(name) or default).resolve()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------- folders


def landing_dir() -> Path:
    return _path("CSAT_LANDING_DIR", DEFAULT_LANDING_DIR)


def warehouse_path() -> Path:
    return _path("CSAT_WAREHOUSE_PATH", DEFAULT_WAREHOUSE_PATH)


def published_dir() -> Path:
    """The published, read-only copy of the marts for BI tools."""
    return _path("CSAT_PUBLISHED_DIR", DEFAULT_PUBLISHED_DIR)


def quality_dir() -> Path:
    """Great Expectations' validation results and Data Docs."""
    return _path("CSAT_QUALITY_DIR", DEFAULT_QUALITY_DIR)


def reports_dir() -> Path:
    """The reports folder: the scorecard is `<reports>/scorecard.html`."""
    return _path("CSAT_REPORTS_DIR", DEFAULT_REPORTS_DIR)


def deployment_config_path() -> Path:
    """The deployment file (delivered entities, reporting time zone, seeds and mappings folders);
    CSAT_DEPLOYMENT_CONFIG, default the repo's config/deployment.yml."""
    value = _get("CSAT_DEPLOYMENT_CONFIG")
    return Path(value).resolve() if value else repo_root() / DEFAULT_DEPLOYMENT_CONFIG


def reporting_time_zone_override() -> str | None:
    """CSAT_REPORTING_TIME_ZONE overrides the deployment file's `reporting_time_zone`."""
    return _get("CSAT_REPORTING_TIME_ZONE")


def seeds_dir_override() -> Path | None:
    """CSAT_SEEDS_DIR overrides the deployment file's `seeds_dir` (the seeds a user edits)."""
    value = _get("CSAT_SEEDS_DIR")
    return Path(value).resolve() if value else None


# ------------------------------------------------------------------------------------- DuckDB and dbt


def duckdb_config() -> dict[str, str]:
    """Settings of the pipeline's DuckDB connections: CSAT_DUCKDB_MEMORY_LIMIT (e.g. `4GB`, `50%`) caps
    memory; unset leaves DuckDB's default (80% of RAM). dbt gets the same from its profile."""
    limit = _get("CSAT_DUCKDB_MEMORY_LIMIT")
    return {"memory_limit": limit} if limit else {}


def dbt_target_keep() -> int:
    """How many of dbt's per-run target folders (`dbt_project/target/<op>-<run>-<id>/`, 3-7 MB each on DuckDB)
    to keep for debugging (CSAT_DBT_TARGET_KEEP, default 5); older ones are removed after each dbt build."""
    return _int_setting("CSAT_DBT_TARGET_KEEP", DEFAULT_DBT_TARGET_KEEP, minimum=0)


def engine() -> str:
    """The engine dbt builds the models on (CSAT_ENGINE): `duckdb` (default, the warehouse file) or
    `spark` (dbt-spark; README "Running on Spark"). Ingestion, the quality gate and publication run on
    DuckDB either way; in Spark mode they read Spark's tables through their Parquet files."""
    value = (_get("CSAT_ENGINE") or ENGINES[0]).strip().lower()
    if value not in ENGINES:
        raise ValueError(f"CSAT_ENGINE={value!r}: expected one of {', '.join(ENGINES)}")
    return value


# The catalog the working warehouse's marts file is attached as (dbt_project/profiles.yml: `attach`).
MARTS_CATALOG = "csat_marts"


def marts_path(warehouse: str | Path) -> Path:
    """The working warehouse's marts file, `<warehouse file>.marts` beside it. dbt builds the marts
    there rather than in the warehouse (dbt_project/profiles.yml derives the same name), so that a
    first publication starts from a byte copy of it instead of copying every mart table by table
    (DECISIONLOG.md, "The marts in a file of their own")."""
    return Path(f"{Path(warehouse).resolve()}.marts")


def spark_dir(warehouse: Path) -> Path:
    """Spark mode's folder (CSAT_SPARK_DIR, default `<warehouse file>.spark` beside the warehouse):
    the raw layer exported as Parquet, Spark's tables and its metastore."""
    value = _get("CSAT_SPARK_DIR")
    return Path(value).resolve() if value else Path(warehouse).resolve().with_suffix(".spark")


def spark_driver_memory() -> str:
    """Heap of the local Spark driver in session mode (CSAT_SPARK_DRIVER_MEMORY, JVM size like `2g`)."""
    value = (_get("CSAT_SPARK_DRIVER_MEMORY") or DEFAULT_SPARK_DRIVER_MEMORY).strip()
    if not value[:-1].isdigit() or value[-1].lower() not in "kmgt":
        raise ValueError(f"CSAT_SPARK_DRIVER_MEMORY={value!r}: expected a JVM size such as 2g or 1536m")
    return value


# ------------------------------------------------------------------------------- databases (secrets)


def crm_database_url() -> str | None:
    """SQLAlchemy URL of the CRM database; unset means the CRM comes as files like the other sources.
    It holds a password: Dagster gets it as `EnvVar(CRM_DATABASE_URL_ENV)` (resources.py), never the value."""
    return _get(CRM_DATABASE_URL_ENV)


def crm_database_schema() -> str | None:
    """Schema of the CRM tables in that database; unset means the connection's default search path."""
    return _get("CSAT_CRM_DATABASE_SCHEMA")


def postgres_publication_url() -> str | None:
    """CSAT_PUBLISH_POSTGRES_URL: the PostgreSQL publication target; unset switches it off. It holds a
    password: Dagster gets it as `EnvVar(POSTGRES_URL_ENV)` (resources.py), never the value."""
    return _get(POSTGRES_URL_ENV)


def postgres_publication_schema() -> str:
    """CSAT_PUBLISH_POSTGRES_SCHEMA: the schema the marts are published to (replaced atomically)."""
    return _get("CSAT_PUBLISH_POSTGRES_SCHEMA") or DEFAULT_POSTGRES_SCHEMA


def postgres_publication_readers() -> str:
    """CSAT_PUBLISH_POSTGRES_READERS: PostgreSQL roles that get read access, comma-separated."""
    return _get("CSAT_PUBLISH_POSTGRES_READERS") or ""


# ------------------------------------------------------------------------------------------- privacy


def pseudonym_key() -> str | None:
    """CSAT_PSEUDONYM_KEY: the secret of the pseudonyms (HMAC-SHA256) of e-mails, phones and erased ids.
    Read only by dagster_project.privacy.keys; never logged."""
    return _get("CSAT_PSEUDONYM_KEY")


def pseudonym_key_file() -> Path:
    """CSAT_PSEUDONYM_KEY_FILE: a file holding that secret (first line; retired keys on later lines), used
    when CSAT_PSEUDONYM_KEY is unset. `csat generate` creates it (owner-only) when no key is configured."""
    return _path("CSAT_PSEUDONYM_KEY_FILE", DEFAULT_PSEUDONYM_KEY_FILE)


def erasure_register_path(warehouse: Path | None = None) -> Path:
    """CSAT_ERASURE_REGISTER: the register of erased customers (pseudonymised ids) that ingestion and
    `--rebuild` apply. Default: next to the warehouse, `<warehouse>.erasures.jsonl`."""
    configured = _get("CSAT_ERASURE_REGISTER")
    if configured:
        return Path(configured).resolve()
    warehouse = Path(warehouse) if warehouse is not None else warehouse_path()
    return warehouse.with_name(f"{warehouse.name}.erasures.jsonl")


def personal_data_retention_days() -> int | None:
    """CSAT_PERSONAL_DATA_RETENTION_DAYS: clear-text personal columns in `raw` (names, e-mails, phones,
    birth dates, and the same in raw.load_rejects) are set to NULL this many days after loading;
    unset keeps them."""
    if not is_set("CSAT_PERSONAL_DATA_RETENTION_DAYS"):
        return None
    return _int_setting("CSAT_PERSONAL_DATA_RETENTION_DAYS", 0, minimum=0)


# ------------------------------------------------------------------------------------------ ingestion


def _datetime_setting(name: str, default: str) -> datetime:
    text = _get(name) or default
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}={text!r} is not an ISO 8601 date or timestamp (e.g. {default})") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _int_setting(name: str, default: int, minimum: int) -> int:
    text = _get(name) or str(default)
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
    return (_get("CSAT_LANDING_FOLLOW_SYMLINKS") or "false").strip().lower() in ("1", "true", "yes")


def declared_encodings() -> dict[str, str]:
    """CSAT_FILE_ENCODINGS: `entity=encoding` pairs, comma-separated (e.g. `customers=latin-1`): the
    encoding of that entity's text files that are not UTF-8 (instead of guessing GB18030)."""
    text = _get("CSAT_FILE_ENCODINGS") or ""
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


# ------------------------------------------------------------------------------------------- Superset


def superset_home() -> Path:
    """Superset's own state for scripts/superset.sh (metadata database, secret key, admin password): git-ignored."""
    return _path("CSAT_SUPERSET_HOME", ".superset")


def superset_venv_cache() -> Path:
    """Where the Superset virtual environment is built, one per lock-file hash (outside the repository)."""
    # XDG_CACHE_HOME is the desktop standard's cache folder, read as the default only (not a setting).
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "csat-superset"
    return _path("CSAT_SUPERSET_VENV_CACHE", default)


def superset_admin() -> tuple[str, str | None]:
    """Superset admin user and password from the environment; no password: one is generated and kept in
    the Superset home (printed once)."""
    return _get("CSAT_SUPERSET_ADMIN_USER") or "admin", _get("CSAT_SUPERSET_ADMIN_PASSWORD")


def superset_port() -> int:
    """Port of Superset on 127.0.0.1 for scripts/superset.sh."""
    return _int_setting("CSAT_SUPERSET_PORT", DEFAULT_SUPERSET_PORT, minimum=1)
