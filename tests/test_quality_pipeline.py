"""End to end: landing files -> ingestion -> raw checks -> dbt -> mart checks -> publication.

One clean pipeline run per module builds the baseline (working warehouse + published copy). Each
bad-delivery test forks that baseline into its own folder, drops one bad file into the landing
folder and runs the whole pipeline again: the right check (or the ingestion asset) fails with a
clear message, publication does not happen, and the published copy still holds the same numbers.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from csat_sample_data import generate_sample_data, write_columns_mismatch_file
from dagster_project import settings
from dagster_project.assets import quality as quality_assets
from dagster_project.assets.ingestion import ingestion_assets
from dagster_project.assets.key_drivers import key_driver_assets
from dagster_project.assets.quality import CHECK_NAME, quality_check_keys, quality_checks
from dagster_project.assets.warehouse import DbtResource, dbt_executable, dbt_project, warehouse_models
from dagster_project.contract import entity
from dagster_project.ingestion.warehouse import connect
from dagster_project.publication.assets import build_publish_assets
from dagster_project.publication.published_copy import DATABASE_FILE, parquet_source
from dagster_project.quality import load_suites
from dagster_project.rebuild import rebuild_working_warehouse
from dagster_project.resources import (
    CrmDatabaseResource,
    LandingZoneResource,
    PublishedWarehouseResource,
    QualityResource,
    WarehouseResource,
)

pytestmark = pytest.mark.pipeline

PUBLISHED_KEY = dg.AssetKey(["published_warehouse"])
publish_assets = build_publish_assets(quality_checks)


def resources(root: Path) -> dict:
    return {
        "warehouse": WarehouseResource(path=str(root / "warehouse" / "csat.duckdb")),
        "landing": LandingZoneResource(path=str(root / "landing")),
        "crm_database": CrmDatabaseResource(),
        "dbt": DbtResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "quality": QualityResource(path=str(root / "quality")),
        "published": PublishedWarehouseResource(path=str(root / "published")),
    }


def run_pipeline(root: Path) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ingestion_assets, warehouse_models, *key_driver_assets, *quality_checks, *publish_assets],
        resources=resources(root),
        raise_on_error=False,
    )


def published_db(root: Path) -> Path:
    return root / "published" / DATABASE_FILE


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kpi_numbers(path: Path, schema: str = "marts") -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            f"select month_start_date, kpi, value from {schema}.kpi_monthly where segment = 'all' and region = 'all'"
            " and channel = 'all' and touchpoint = 'all' and category = 'all' and attribute_name = 'all' order by 1, 2"
        ).fetchall()


def published(result: dg.ExecuteInProcessResult) -> bool:
    return any(e.asset_key == PUBLISHED_KEY for e in result.get_asset_materialization_events())


def failed_check(result: dg.ExecuteInProcessResult, asset: list[str]) -> dg.AssetCheckEvaluation:
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.asset_key == dg.AssetKey(asset) and evaluation.check_name == CHECK_NAME:
            return evaluation
    raise AssertionError(f"no {CHECK_NAME} evaluation for {asset}")


def blocking_failure(result: dg.ExecuteInProcessResult, asset: list[str], *words: str) -> dg.AssetCheckEvaluation:
    """The asset's quality check failed with severity error, and its description names every word."""
    evaluation = failed_check(result, asset)
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    for word in words:
        assert word in evaluation.description, f"{word!r} not in {evaluation.description}"
    return evaluation


def step_failure_messages(result: dg.ExecuteInProcessResult) -> str:
    """The errors of failed steps, with their causes (the wrapper's message alone names only the op)."""
    texts = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            while error is not None:
                texts.append(error.message)
                error = error.cause
    return "\n".join(texts)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("gate") / "base"
    generate_sample_data(root / "landing", seed=11, responses=2000)
    renders = []  # whether each check step's Data Docs render rebuilt the index

    def spy(*args, **kwargs):
        renders.append(kwargs["index"])
        return render(*args, **kwargs)

    render = quality_assets.build_data_docs
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(quality_assets, "build_data_docs", spy)
        result = run_pipeline(root)
    assert result.success, step_failure_messages(result)
    return {
        "root": root,
        "result": result,
        "kpis": kpi_numbers(published_db(root)),
        "sha": sha256(published_db(root)),
        "index_rebuilt": renders,
    }


def fork(baseline: dict, tmp_path: Path) -> Path:
    """A copy of the baseline's landing files, working warehouse and published copy."""
    root = tmp_path / "fork"
    for part in ("landing", "warehouse", "published"):
        shutil.copytree(baseline["root"] / part, root / part)
    return root


def write_csv(root: Path, entity_name: str, name: str, rows: list[dict]) -> Path:
    ent = entity(entity_name)
    folder = root / "landing" / ent.source / ent.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=ent.column_names)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in ent.column_names})
    return path


def existing(root: Path, sql: str) -> list[tuple]:
    with connect(root / "warehouse" / "csat.duckdb", read_only=True) as con:
        return con.execute(sql).fetchall()


def assert_not_published(root: Path, baseline: dict, result: dg.ExecuteInProcessResult) -> None:
    assert not result.success
    assert not published(result), "the published copy must not be replaced by a failed run"
    assert sha256(published_db(root)) == baseline["sha"]
    assert kpi_numbers(published_db(root)) == baseline["kpis"]


# ------------------------------------------------------------------------------------------ clean


def test_clean_run_publishes_the_working_marts(baseline):
    root, result = baseline["root"], baseline["result"]
    assert published(result)
    evaluations = result.get_asset_check_evaluations()
    ours = [e for e in evaluations if e.check_name == CHECK_NAME]
    assert len(ours) == len(quality_check_keys(quality_checks)) == len(load_suites())  # one per suite
    assert all(e.passed or e.severity == dg.AssetCheckSeverity.WARN for e in ours)
    marts = [
        r[0] for r in existing(root, "select table_name from information_schema.tables where table_schema = 'marts'")
    ]
    with duckdb.connect(str(published_db(root)), read_only=True) as con:
        con.execute(f"attach '{settings.marts_path(root / 'warehouse' / 'csat.duckdb')}' as working (read_only)")
        published_marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables"
                " where table_catalog = 'csat' and table_schema = 'marts' and table_name <> 'publication'"
            ).fetchall()
        ]
        assert "kpi_monthly" in published_marts and "scorecard_monthly" in published_marts
        assert set(published_marts) <= set(marts)
        for mart in published_marts:
            for a, b in (("marts", "working.marts"), ("working.marts", "marts")):
                diff = con.execute(
                    f"select count(*) from (select * from {a}.{mart} except all select * from {b}.{mart})"
                ).fetchone()[0]
                assert diff == 0, f"published {mart} differs from the working mart"
            parquet = parquet_source(root / "published", mart)
            assert (
                con.execute(f"select count(*) from {parquet}").fetchone()[0]
                == con.execute(f"select count(*) from marts.{mart}").fetchone()[0]
            )
        runs = con.execute("select distinct dagster_run_id from marts.publication").fetchall()
        assert runs == [(result.run_id,)]
        assert con.execute("select count(*) from marts.publication where published_at is null").fetchone()[0] == 0
        # No personal data in clear in the published copy.
        personal = con.execute(
            "select table_name, column_name from information_schema.columns where table_catalog = 'csat' "
            "and column_name in ('full_name', 'email', 'phone', 'birth_date')"
        ).fetchall()
        assert personal == []
    assert (root / "quality" / "data_docs" / "index.html").is_file()


def test_a_clean_run_rebuilds_the_data_docs_index_once_and_it_lists_both_layers(baseline):
    """The raw layer's render leaves the index (most of a render's cost) to the mart layer's, whose
    index lists the results of both, every one of them with its page."""
    root, result = baseline["root"], baseline["result"]
    assert baseline["index_rebuilt"] == [False, True]  # raw checks, then mart checks
    index = root / "quality" / "data_docs" / "index.html"
    links = set(re.findall(r"validations/[^\"\\ ]+?\.html", index.read_text(encoding="utf-8")))
    this_run = {link for link in links if f"/{result.run_id}/" in link}
    assert {link.split("/")[1] for link in this_run} == {"raw", "marts"}
    assert len(this_run) > 50 and all((index.parent / link).is_file() for link in links)


# ------------------------------------------------------------------------------------------ bad deliveries


def test_out_of_range_scores_block_publication(baseline, tmp_path):
    root = fork(baseline, tmp_path)
    rows = [
        {
            "response_id": f"RBAD{i:04d}",
            "survey_id": "SV-BAD",
            "submitted_at": "2026-10-15T10:00:00Z",
            "likelihood_to_recommend": 11 if i % 4 == 0 else 9,
            "csat_score": 4,
        }
        for i in range(200)
    ]
    write_csv(root, "survey_responses", "2026-10-31_scores.csv", rows)
    reader = duckdb.connect(str(published_db(root)), read_only=True)  # a BI tool reading during the run
    result = run_pipeline(root)
    blocking_failure(result, ["raw", "survey_responses"], "reject_share", "range")
    assert_not_published(root, baseline, result)
    assert reader.execute("select count(*) from marts.kpi_monthly").fetchone()[0] > 0
    reader.close()


def test_duplicate_keys_across_deliveries_block_publication(baseline, tmp_path):
    root = fork(baseline, tmp_path)
    again = existing(
        root, "select response_id, survey_id, submitted_at from raw.survey_responses order by response_id limit 30"
    )
    rows = [
        {"response_id": r, "survey_id": s, "submitted_at": t.isoformat(), "likelihood_to_recommend": 0}
        for r, s, t in again
    ]
    write_csv(root, "survey_responses", "2026-10-31_resend.csv", rows)
    result = run_pipeline(root)
    blocking_failure(result, ["raw", "survey_responses"], "rows_changed_by_later_delivery")
    assert_not_published(root, baseline, result)


def test_rebuild_after_removing_the_redelivery_publishes_the_good_numbers_again(baseline, tmp_path):
    """The re-delivery check stays red on the next run; removing the file and rebuilding clears it."""
    root = fork(baseline, tmp_path)
    again = existing(root, "select response_id, survey_id, submitted_at from raw.survey_responses limit 10")
    rows = [
        {"response_id": r, "survey_id": s, "submitted_at": t.isoformat(), "likelihood_to_recommend": 0}
        for r, s, t in again
    ]
    resend = write_csv(root, "survey_responses", "2026-10-31_resend.csv", rows)
    assert not run_pipeline(root).success
    resend.unlink()
    still_red = run_pipeline(root)
    assert not failed_check(still_red, ["raw", "survey_responses"]).passed
    assert_not_published(root, baseline, still_red)
    warehouse_file = root / "warehouse" / "csat.duckdb"
    history_sql = (
        "select customer_id, version_number, segment, region, valid_from_at, valid_to_at, is_current"
        " from marts.dim_customer order by all"
    )
    history_before = existing(root, history_sql)

    previous = rebuild_working_warehouse(warehouse_file)

    assert previous == warehouse_file.with_name("csat.duckdb.previous") and previous.is_file()
    rebuilt = run_pipeline(root)
    assert rebuilt.success, step_failure_messages(rebuilt)
    assert existing(root, history_sql) == history_before, "the customer history must survive a rebuild"
    assert published(rebuilt)
    # a recomputation sums doubles in another order, but kpi_round rounds a tie the same way whatever
    # the last bit (DECISIONLOG, "Rounding"): the very same numbers
    assert kpi_numbers(published_db(root)) == baseline["kpis"]
    assert existing(root, "select count(*) from raw.survey_responses") == existing(
        baseline["root"], "select count(*) from raw.survey_responses"
    )


def test_resolution_before_opening_blocks_publication(baseline, tmp_path):
    root = fork(baseline, tmp_path)
    customer = existing(root, "select min(customer_id) from raw.customers")[0][0]
    rows = [
        {
            "ticket_id": f"TBAD{i:04d}",
            "customer_id": customer,
            "ticket_type": "complaint",
            "opened_at": "2026-10-20T10:00:00Z",
            "resolved_at": "2026-10-19T10:00:00Z" if i % 2 else "2026-10-21T10:00:00Z",
            "status": "resolved",
        }
        for i in range(40)
    ]
    write_csv(root, "tickets", "2026-10-31_tickets_fix.csv", rows)
    result = run_pipeline(root)
    blocking_failure(result, ["raw", "tickets"], "reject_share", "order")
    assert_not_published(root, baseline, result)


def test_future_dates_block_publication(baseline, tmp_path):
    root = fork(baseline, tmp_path)
    customer = existing(root, "select min(customer_id) from raw.customers")[0][0]
    rows = [
        {
            "order_id": f"OFUT{i:04d}",
            "customer_id": customer,
            "ordered_at": "2099-01-01T00:00:00Z",
            "status": "completed",
            "amount": "10",
        }
        for i in range(20)
    ]
    write_csv(root, "orders", "2026-10-31_orders_tz_bug.csv", rows)
    result = run_pipeline(root)
    blocking_failure(result, ["raw", "orders"], "reject_share", "future")
    assert_not_published(root, baseline, result)


def test_orders_of_unknown_customers_block_publication(baseline, tmp_path):
    root = fork(baseline, tmp_path)
    orders = existing(root, "select count(*) from raw.orders")[0][0]
    rows = [
        {
            "order_id": f"OUNK{i:05d}",
            "customer_id": f"C-UNKNOWN-{i}",
            "ordered_at": "2026-10-30T10:00:00Z",
            "status": "completed",
            "amount": "10",
        }
        for i in range(orders // 10)
    ]
    write_csv(root, "orders", "2026-10-31_orders_unknown.csv", rows)
    result = run_pipeline(root)
    evaluation = blocking_failure(result, ["raw", "orders"], "customer_in_crm")
    sample = evaluation.metadata["failures"].value
    assert any(str(row.get("customer_id", "")).startswith("C-UNKNOWN") for f in sample for row in f["sample"])
    assert_not_published(root, baseline, result)


def test_empty_file_blocks_publication(baseline, tmp_path):
    root = fork(baseline, tmp_path)
    path = root / "landing" / "crm" / "orders" / "2026-10-31_orders.csv"
    path.write_bytes(b"")
    result = run_pipeline(root)
    assert "empty" in step_failure_messages(result)
    assert_not_published(root, baseline, result)


def test_missing_columns_block_publication(baseline, tmp_path):
    root = fork(baseline, tmp_path)
    _, missing = write_columns_mismatch_file(root / "landing", "survey_responses")
    result = run_pipeline(root)
    message = step_failure_messages(result)
    assert all(column in message for column in missing), message
    assert_not_published(root, baseline, result)


# ------------------------------------------------------------------------------------------ republish


def test_new_clean_delivery_republishes_while_a_reader_holds_the_old_copy(baseline, tmp_path):
    root = fork(baseline, tmp_path)
    reader = duckdb.connect(str(published_db(root)), read_only=True)
    before = reader.execute("select count(*) from marts.fct_survey_responses").fetchone()[0]
    last = existing(root, "select max(submitted_at) from raw.survey_responses")[0][0]
    rows = [
        {
            "response_id": f"RNEW{i:04d}",
            "survey_id": "SV-NEW",
            "submitted_at": last.isoformat(),
            "likelihood_to_recommend": 10,
        }
        for i in range(5)
    ]
    write_csv(root, "survey_responses", "2026-10-31_late.csv", rows)
    result = run_pipeline(root)
    assert result.success, step_failure_messages(result)
    assert published(result)
    # The old reader still sees the copy it opened; a new reader sees the new publication.
    assert reader.execute("select count(*) from marts.fct_survey_responses").fetchone()[0] == before
    reader.close()
    with duckdb.connect(str(published_db(root)), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_survey_responses").fetchone()[0] == before + 5
        assert con.execute("select distinct dagster_run_id from marts.publication").fetchall() == [(result.run_id,)]
