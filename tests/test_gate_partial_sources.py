"""The quality gate on a deployment that delivers only some sources (issue 10, point 1).

Ingestion and the raw checks run with Dagster on landing folders holding only surveys, only a
complaints register (mapped, anonymous), or only CRM + subscriptions: no check blocks, the checks of
entities that were not delivered say so in their metadata. Mart suites drop their "at least one row"
expectations when their sources were not delivered, and still block on anything else.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from csat_sample_data import generate_sample_data
from dagster_project.assets.ingestion import ingestion_assets
from dagster_project.assets.quality import CHECK_NAME, QualityResource, build_quality_checks
from dagster_project.contract import ENTITIES
from dagster_project.quality import load_suites, parse_suite, validate_suite
from dagster_project.quality.delivery import plan_suite
from dagster_project.resources import CrmDatabaseResource, LandingZoneResource, WarehouseResource

pytestmark = pytest.mark.pipeline

FIXTURES = Path(__file__).parent / "fixtures_deployment"
RAW_CHECKS = build_quality_checks([s for s in load_suites() if s.is_raw])
SHAPES = {
    "surveys": {"survey_responses", "survey_item_scores"},
    "complaints_register": {"tickets"},
    "crm_and_subscriptions": {"customers", "orders", "stores", "employees", "subscriptions"},
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("sample") / "landing"
    generate_sample_data(landing, seed=3, responses=300, months=3)
    return landing


def partial_landing(sample: Path, root: Path, shape: str) -> Path:
    landing = root / "landing"
    if shape == "complaints_register":
        folder = landing / "complaints" / "tickets"
        folder.mkdir(parents=True)
        shutil.copy(FIXTURES / "complaints_register.csv", folder / "2024-04-03_register.csv")
        return landing
    for entity in ENTITIES:
        if entity.name in SHAPES[shape]:
            shutil.copytree(sample / entity.source / entity.name, landing / entity.source / entity.name)
    return landing


def deployment_file(root: Path, shape: str, *, declare: str) -> Path:
    """A deployment declaring every entity (`all`, the default) or only the delivered ones."""
    lines = []
    if declare == "delivered":
        lines.append("entities: [" + ", ".join(sorted(SHAPES[shape])) + "]")
    if shape == "complaints_register":
        mappings = root / "mappings"
        mappings.mkdir()
        shutil.copy(FIXTURES / "tickets_mapping.yml", mappings / "tickets.yml")
        lines += [f"mappings_dir: {mappings}", f"seeds_dir: {FIXTURES / 'seeds'}"]
    path = root / "deployment.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_ingestion_and_raw_checks(root: Path, landing: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ingestion_assets, *RAW_CHECKS],
        resources={
            "warehouse": WarehouseResource(path=str(root / "warehouse" / "csat.duckdb")),
            "landing": LandingZoneResource(path=str(landing)),
            "crm_database": CrmDatabaseResource(),
            "quality": QualityResource(path=str(root / "quality")),
        },
        raise_on_error=False,
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME}


# Each shape once, both ways of declaring (the repo default `all`, or only what is delivered).
@pytest.mark.parametrize(
    ("shape", "declare"),
    [
        ("surveys", "all"),
        ("surveys", "delivered"),
        ("complaints_register", "all"),
        ("crm_and_subscriptions", "delivered"),
    ],
)
def test_partial_delivery_passes_the_raw_gate(sample, tmp_path, monkeypatch, shape, declare):
    landing = partial_landing(sample, tmp_path, shape)
    monkeypatch.setenv("CSAT_DEPLOYMENT_CONFIG", str(deployment_file(tmp_path, shape, declare=declare)))

    result = run_ingestion_and_raw_checks(tmp_path, landing)

    assert result.success
    got = evaluations(result)
    assert set(got) == {e.name for e in ENTITIES}
    blocking = [k for k, e in got.items() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    assert blocking == [], {k: got[k].description for k in blocking}
    for name, evaluation in got.items():
        status = evaluation.metadata["delivery_status"].value
        if name in SHAPES[shape]:
            assert evaluation.passed and status == "delivered", (name, evaluation.description)
            assert evaluation.metadata["expectations"].value > 0
        else:
            assert status == "not delivered", name
            reason = evaluation.metadata["delivery_reason"].value
            assert "skipped" in reason and name in reason
            # Declared but never delivered: a visible warning; not declared: a plain pass.
            assert evaluation.passed == (declare == "delivered"), name
            assert evaluation.severity == dg.AssetCheckSeverity.WARN
            assert ("is declared in the deployment file" in reason) == (declare == "all")
    with duckdb.connect(str(tmp_path / "warehouse" / "csat.duckdb"), read_only=True) as con:
        delivered = {r[0] for r in con.execute("select entity from raw.entity_delivery where is_delivered").fetchall()}
        rejects = con.execute("select count(*) from raw.load_rejects").fetchone()[0]
    assert delivered == SHAPES[shape]
    assert rejects == 0


def test_a_delivered_entity_still_blocks_on_bad_data(sample, tmp_path, monkeypatch):
    landing = partial_landing(sample, tmp_path, "complaints_register")
    monkeypatch.setenv("CSAT_DEPLOYMENT_CONFIG", str(deployment_file(tmp_path, "complaints_register", declare="all")))
    run_ingestion_and_raw_checks(tmp_path, landing)
    with duckdb.connect(str(tmp_path / "warehouse" / "csat.duckdb")) as con:
        con.execute("insert into raw.tickets (ticket_id, opened_at) values ('8411001', timestamp '2024-03-01')")
    result = run_ingestion_and_raw_checks(tmp_path, landing)
    tickets = evaluations(result)["tickets"]
    assert not tickets.passed and tickets.severity == dg.AssetCheckSeverity.ERROR
    assert "ticket_id" in tickets.description and "unique" in tickets.description


# ------------------------------------------------------------------------------------ mart suites

MART_SUITE = {
    "suite": "marts.fct_example",
    "asset": "fct_example",
    "batches": [
        {
            "name": "rows",
            "table": "marts.fct_example",
            "expectations": [
                {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "severity": "error"},
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "hours", "min_value": 0},
                    "severity": "error",
                },
            ],
        }
    ],
}
SOURCES = {"fct_example": frozenset({"tickets"})}


@pytest.fixture
def mart_wh(tmp_path, monkeypatch):
    from dagster_project.ingestion.warehouse import connect

    monkeypatch.delenv("CSAT_DEPLOYMENT_CONFIG", raising=False)
    con = connect(tmp_path / "wh.duckdb")
    con.execute("create schema if not exists marts")
    con.execute("create table marts.fct_example (hours double)")
    yield con
    con.close()


def test_an_empty_mart_passes_when_its_sources_were_not_delivered(mart_wh, tmp_path):
    suite = parse_suite(MART_SUITE)
    plan = plan_suite(mart_wh, suite, SOURCES)
    assert plan.status == "partial sources" and plan.not_delivered == ("tickets",)
    assert plan.skipped_expectations == ("rows: expect_table_row_count_to_be_between (min_value 1)",)
    outcome = validate_suite(mart_wh, plan.suite, quality_dir=tmp_path / "q", build_docs=False)
    assert outcome.passed and len(outcome.outcomes) == 1
    # ... and still fails on bad values.
    mart_wh.execute("insert into marts.fct_example values (-1)")
    assert validate_suite(mart_wh, plan.suite, quality_dir=tmp_path / "q", build_docs=False).errors


def test_an_empty_mart_blocks_when_its_sources_were_delivered(mart_wh, tmp_path):
    mart_wh.execute("insert into raw.tickets (ticket_id, opened_at) values ('T1', timestamp '2025-01-01')")
    suite = parse_suite(MART_SUITE)
    plan = plan_suite(mart_wh, suite, SOURCES)
    assert plan.status == "delivered" and plan.suite == suite
    outcome = validate_suite(mart_wh, plan.suite, quality_dir=tmp_path / "q", build_docs=False)
    assert [o.expectation for o in outcome.errors] == ["expect_table_row_count_to_be_between"]


def test_an_absent_mart_of_sources_not_delivered_is_skipped(mart_wh):
    mart_wh.execute("drop table marts.fct_example")
    plan = plan_suite(mart_wh, parse_suite(MART_SUITE), SOURCES)
    assert plan.suite is None and plan.status == "not delivered" and "does not exist" in plan.reason


def test_mart_sources_come_from_the_dbt_manifest():
    from dagster_project.quality.delivery import model_sources

    sources = model_sources()
    assert sources, "no dbt manifest: run `dbt parse` first"
    assert "tickets" in sources["fct_complaints"]
    assert {"survey_responses", "tickets", "subscriptions"} <= sources["kpi_monthly"]


# ------------------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("shape", ["surveys", "crm_and_subscriptions"])
def test_partial_delivery_builds_passes_the_gate_and_publishes(sample, tmp_path, monkeypatch, shape):
    """Landing -> ingestion -> raw checks -> dbt -> mart checks -> publication on one source family."""
    from test_quality_pipeline import published, published_db, run_pipeline

    partial_landing(sample, tmp_path, shape)
    monkeypatch.delenv("CSAT_DEPLOYMENT_CONFIG", raising=False)  # the repo default: everything declared

    result = run_pipeline(tmp_path)

    failures = [e.step_key for e in result.all_node_events if e.event_type_value == "STEP_FAILURE"]
    assert failures == []
    blocking = [
        e.asset_key.to_user_string()
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert blocking == []
    assert published(result)
    with duckdb.connect(str(published_db(tmp_path)), read_only=True) as con:
        counts = {
            t: con.execute(f"select count(*) from marts.{t}").fetchone()[0]
            for t in ("fct_survey_responses", "fct_complaints", "fct_subscriptions")
        }
    if shape == "surveys":
        assert counts["fct_survey_responses"] > 0 and counts["fct_complaints"] == counts["fct_subscriptions"] == 0
    else:
        assert counts["fct_subscriptions"] > 0 and counts["fct_survey_responses"] == counts["fct_complaints"] == 0
