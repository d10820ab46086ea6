"""Database passwords never reach Dagster's repository snapshot, its event log or an error message
(issue 13, finding 13): the URLs come in as `EnvVar` references, and every error that names a URL or
repeats a driver's message is scrubbed, for malformed URLs too."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from dagster_project.contract import CUSTOMERS
from dagster_project.definitions import PIPELINE_JOB, build_definitions
from dagster_project.ingestion.crm_database import CrmDatabaseError, redact_url, snapshot_table
from dagster_project.publication import postgres as pgp
from dagster_project.publication.assets import published_postgres
from dagster_project.redaction import scrub
from dagster_project.resources import CrmDatabaseResource, PostgresPublicationResource, PublishedWarehouseResource

CRM_PASSWORD = "Crm-Pa55word"
PG_PASSWORD = "Bi-Pa55word"
CRM_URL = f"postgresql+psycopg://crm:{CRM_PASSWORD}@127.0.0.1:1/crm"
PG_URL = f"postgresql://bi_loader:{PG_PASSWORD}@127.0.0.1:1/analytics"
# URLs no parser accepts: an unencoded @ or / in the password, a bad port, no scheme, a bad %-escape.
MALFORMED_CRM = [
    f"postgresql+psycopg://crm:{CRM_PASSWORD}@x@127.0.0.1:5x4/crm",
    f"postgresql+psycopg://crm:{CRM_PASSWORD}/@[::1/crm",
    f"crm:{CRM_PASSWORD}@db/crm",
]
MALFORMED_PG = [
    f"bi_loader:{PG_PASSWORD}@db/analytics",
    f"postgresql://bi_loader:{PG_PASSWORD}%zz@127.0.0.1:1/analytics",
    f"postgresql://bi_loader:{PG_PASSWORD}@127.0.0.1:5x4/analytics",
]


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("CSAT_CRM_DATABASE_URL", CRM_URL)
    monkeypatch.setenv(pgp.URL_ENV, PG_URL)


def snapshot_text(defs: dg.Definitions) -> str:
    """What the Dagster UI is served: the serialised repository snapshot (resources' config included)."""
    return serialize_value(RepositorySnap.from_def(defs.get_repository_def()))


def test_repository_snapshot_names_the_variables_not_the_passwords(secret_env, landing, warehouse_path):
    text = snapshot_text(build_definitions(landing_dir=str(landing), warehouse_path=str(warehouse_path)))
    assert "crm_database" in text and "postgres_publication" in text
    assert "CSAT_CRM_DATABASE_URL" in text and pgp.URL_ENV in text
    for secret in (CRM_PASSWORD, PG_PASSWORD, CRM_URL, PG_URL):
        assert secret not in text


def test_the_runs_resolve_the_urls_from_the_environment(secret_env, landing, warehouse_path):
    seen = {}

    @dg.asset
    def probe(crm_database: CrmDatabaseResource, postgres_publication: PostgresPublicationResource) -> None:
        seen.update(crm=crm_database.url, pg=postgres_publication.url)

    defs = build_definitions(landing_dir=str(landing), warehouse_path=str(warehouse_path))
    resources = {k: defs.resources[k] for k in ("crm_database", "postgres_publication")}
    assert dg.materialize([probe], resources=resources).success
    assert seen == {"crm": CRM_URL, "pg": PG_URL}


@pytest.mark.parametrize("url", MALFORMED_CRM + [CRM_URL])
def test_crm_errors_never_show_the_password(url, tmp_path):
    with pytest.raises(CrmDatabaseError) as caught:
        snapshot_table(url, CUSTOMERS, tmp_path)
    error = caught.value
    assert CRM_PASSWORD not in str(error) and "***" in str(error)
    assert error.__cause__ is None and error.__suppress_context__  # the driver's original is not chained


@pytest.mark.parametrize("url", MALFORMED_PG + [PG_URL])
def test_postgres_publication_errors_never_show_the_password(url, tmp_path):
    database = tmp_path / "csat.duckdb"
    duckdb.connect(str(database)).close()
    with pytest.raises(pgp.PostgresPublicationError) as caught:
        pgp.publish_to_postgres(database, url)
    error = caught.value
    assert PG_PASSWORD not in str(error) and "***" in str(error)
    assert error.__cause__ is None and error.__suppress_context__


def test_failed_runs_keep_the_passwords_out_of_dagster_events(monkeypatch, landing, warehouse_path, tmp_path):
    """The event log is what the UI shows of a failed run: step errors with their causes and logs."""
    monkeypatch.setenv("CSAT_CRM_DATABASE_URL", MALFORMED_CRM[0])
    monkeypatch.setenv(pgp.URL_ENV, MALFORMED_PG[0])
    defs = build_definitions(landing_dir=str(landing), warehouse_path=str(warehouse_path))
    crm = defs.resolve_job_def(PIPELINE_JOB).execute_in_process(
        asset_selection=[dg.AssetKey(["raw", "customers"])], raise_on_error=False
    )
    published = tmp_path / "published"
    published.mkdir()
    duckdb.connect(str(published / "csat.duckdb")).close()
    pg = dg.materialize(
        [published_postgres],
        resources={
            "published": PublishedWarehouseResource(path=str(published)),
            "postgres_publication": defs.resources["postgres_publication"],
        },
        raise_on_error=False,
    )
    for result in (crm, pg):
        assert not result.success
        text = serialize_value(result.all_events)
        assert "***" in text
        assert CRM_PASSWORD not in text and PG_PASSWORD not in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@ss@db/crm", "postgresql://u:***@db/crm"),
        ("postgresql://u:s3cr/et@db:54x2/crm", "postgresql://u:***@db:54x2/crm"),
        ("u:secret@db/analytics", "u:***@db/analytics"),
        ("host=db user=u password=hunter22 dbname=x", "host=db user=u password=*** dbname=x"),
        ("postgresql://db/x?email=a@b.example", "postgresql://db/x?email=a@b.example"),
    ],
)
def test_redact_url_masks_passwords_no_parser_accepts(url, expected):
    assert redact_url(url) == expected


def test_scrub_masks_the_password_in_any_form():
    url = "postgresql://u:p%40ss word@db/x"
    message = 'could not connect: "p%40ss word", "p@ss word", p%2540ss%20word and postgresql://u:p%40ss word@db/x'
    assert scrub(message, url) == 'could not connect: "***", "***", *** and postgresql://u:***@db/x'


def test_readme_documents_the_secret_handling():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "EnvVar" in readme


def test_no_usage_statistics_leave_the_pipeline():
    """dbt and Dagster send no usage events from a run (SECURITY.md, "Outside calls"): dbt's default
    posts them while the build runs, and a dropped connection holds a build's thread up to 5 s."""
    import yaml

    root = Path(__file__).parent.parent
    project = yaml.safe_load((root / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["flags"]["send_anonymous_usage_stats"] is False
    instance = yaml.safe_load((root / "dagster_home" / "dagster.yaml").read_text(encoding="utf-8"))
    assert instance["telemetry"]["enabled"] is False
