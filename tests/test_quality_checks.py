"""Great Expectations checks on small hand-made raw tables: each rule catches bad data that reached
the warehouse (also by a path other than ingestion, e.g. a table written directly), with the
failing expectation, the observed value and sample rows; severities map to block / warn."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.assets.ingestion import ingestion_assets
from dagster_project.assets.quality import CHECK_NAME, QualityResource, build_quality_checks
from dagster_project.ingestion.warehouse import connect
from dagster_project.quality import load_suites
from dagster_project.quality.validation import validate_suite
from dagster_project.resources import CrmDatabaseResource, LandingZoneResource, WarehouseResource

SUITES = {s.name: s for s in load_suites()}
NOW = datetime(2026, 11, 1, 12, 0, 0)


@pytest.fixture
def wh(tmp_path: Path):
    """A warehouse with a few clean customers and orders (no load manifest: written directly)."""
    path = tmp_path / "wh.duckdb"
    con = connect(path)
    con.execute(
        "insert into raw.customers by name select 'C' || i as customer_id, timestamp '2025-01-01' as updated_at "
        "from range(50) t(i)"
    )
    con.execute(
        "insert into raw.orders by name select 'O' || i as order_id, 'C' || (i % 50) as customer_id, "
        "timestamp '2026-01-01' + to_hours(i) as ordered_at, 'completed' as status, 10.5 as amount "
        "from range(200) t(i)"
    )
    yield con, path
    con.close()


def run(con, suite: str, tmp_path: Path, **kwargs):
    return validate_suite(con, SUITES[suite], quality_dir=tmp_path / "quality", now=NOW, **kwargs)


def failing(outcome, column: str):
    return [o for o in outcome.failures if f"({column}" in o.expectation or f", {column}" in o.expectation]


def test_clean_tables_pass_and_write_data_docs(wh, tmp_path):
    con, _ = wh
    outcome = run(con, "raw.orders", tmp_path)
    assert outcome.passed, outcome.summary()
    assert outcome.severity is None
    assert outcome.data_docs == (tmp_path / "quality" / "data_docs" / "index.html").resolve()
    assert outcome.data_docs.is_file()
    html = outcome.data_docs.read_text(encoding="utf-8")
    assert "raw.orders.rows" in html


def test_out_of_range_written_directly_is_caught(wh, tmp_path):
    con, _ = wh
    con.execute(
        "insert into raw.survey_responses by name select 'R' || i as response_id, 'S' as survey_id, "
        "timestamp '2026-01-01' as submitted_at, case when i = 3 then 11 else 9 end as likelihood_to_recommend "
        "from range(10) t(i)"
    )
    outcome = run(con, "raw.survey_responses", tmp_path)
    assert outcome.severity == "error"
    [failure] = failing(outcome, "likelihood_to_recommend")
    assert failure.severity == "error" and failure.unexpected_count == 1
    assert "1 of 10 rows fail" in failure.observed and '"max_value": 10' in failure.observed
    assert failure.sample == [{"response_id": "R3", "likelihood_to_recommend": 11}]
    assert "R3" in outcome.markdown() and "likelihood_to_recommend" in outcome.summary()


def test_future_timestamp_written_directly_is_caught(wh, tmp_path):
    con, _ = wh
    con.execute("update raw.orders set ordered_at = ? where order_id = 'O7'", [NOW + timedelta(days=30)])
    outcome = run(con, "raw.orders", tmp_path)
    [failure] = failing(outcome, "ordered_at")
    assert failure.severity == "error"
    assert failure.sample[0]["order_id"] == "O7"


def test_resolution_before_opening_is_caught(wh, tmp_path):
    con, _ = wh
    con.execute(
        "insert into raw.tickets by name select 'T' || i as ticket_id, 'C1' as customer_id, "
        "timestamp '2026-02-02' as opened_at, "
        "case when i = 0 then timestamp '2026-02-01' else timestamp '2026-02-03' end as resolved_at "
        "from range(5) t(i)"
    )
    outcome = run(con, "raw.tickets", tmp_path)
    [failure] = [o for o in outcome.failures if "resolved_at, opened_at" in o.expectation]
    assert failure.severity == "error" and failure.unexpected_count == 1
    assert failure.sample[0]["ticket_id"] == "T0"


@pytest.mark.parametrize("unknown, severity", [(40, "error"), (4, "warning"), (0, None)])
def test_foreign_key_coverage_thresholds(wh, tmp_path, unknown, severity):
    con, _ = wh
    con.execute(
        f"update raw.orders set customer_id = 'GHOST' || order_id where order_id in "
        f"(select order_id from raw.orders order by order_id limit {unknown})"
    )
    outcome = run(con, "raw.orders", tmp_path)
    assert outcome.severity == severity, outcome.summary()
    if unknown:
        failures = failing(outcome, "customer_in_crm")
        assert failures and failures[0].sample[0]["customer_id"].startswith("GHOST")


@pytest.mark.parametrize(
    ("order_id", "rule", "rows"),
    [
        ("O1", "expect_column_values_to_be_unique(order_id", 2),
        # ' O1' beside 'O1': every stored key unique, but two rows of one key in staging (which
        # trims keys and has no unique test of its own)
        (" O1", "expect_column_values_to_be_in_set(order_id_trimmed", 1),
    ],
)
def test_a_second_row_of_a_key_is_caught(wh, tmp_path, order_id, rule, rows):
    con, _ = wh
    con.execute(
        f"insert into raw.orders by name select '{order_id}' as order_id, 'C1' as customer_id, "
        "timestamp '2026-01-05' as ordered_at"
    )
    outcome = run(con, "raw.orders", tmp_path)
    [failure] = outcome.failures
    assert failure.expectation.startswith(rule), failure.expectation
    assert failure.severity == "error" and failure.unexpected_count == rows


def test_type_drift_is_caught(wh, tmp_path):
    con, _ = wh
    con.execute("alter table raw.orders alter amount type double")
    outcome = run(con, "raw.orders", tmp_path)
    [failure] = [o for o in outcome.failures if o.batch == "schema"]
    assert failure.severity == "error" and "DOUBLE" in failure.observed


def _manifest(con, entity: str, name: str, delivered: int, rejected: int, loaded_at: datetime) -> None:
    con.execute(
        "insert into raw.load_manifest values (?, ?, ?, 'csv', 'utf-8', 1, ?, ?, ?, ?, 0)",
        [entity, name, name + "-sha", delivered, delivered - rejected, rejected, loaded_at],
    )
    if rejected:
        con.execute(
            "insert into raw.load_rejects select ?, ?, i, 'range', 'amount', 'range: amount < 0', null, ?, ? "
            "from range(?) t(i)",
            [entity, name, name + "-sha", loaded_at, rejected],
        )


@pytest.mark.parametrize("rejected, severity", [(20, "error"), (1, "warning"), (0, None)])
def test_reject_share_of_this_runs_deliveries(wh, tmp_path, rejected, severity):
    con, _ = wh
    _manifest(con, "orders", "old.csv", 100, 50, NOW - timedelta(days=9))  # an old file: not this run's
    _manifest(con, "orders", "new.csv", 100, rejected, NOW - timedelta(minutes=1))
    outcome = run(con, "raw.orders", tmp_path, run_started_at=NOW - timedelta(minutes=5))
    assert outcome.severity == severity, outcome.summary()
    if rejected:
        failure = [o for o in outcome.failures if "reject_share" in o.expectation][0]
        assert failure.severity == severity
        assert failure.sample[0]["source_file"] == "new.csv"
        assert failure.sample[0]["rejects_by_rule"] == f"range: {rejected}"


def test_latest_delivery_is_checked_even_in_a_later_run(wh, tmp_path):
    con, _ = wh
    _manifest(con, "orders", "bad.csv", 100, 50, NOW - timedelta(days=1))
    outcome = run(con, "raw.orders", tmp_path, run_started_at=NOW)
    assert outcome.severity == "error"


def test_header_only_delivery_warns(wh, tmp_path):
    con, _ = wh
    _manifest(con, "orders", "empty.csv", 0, 0, NOW - timedelta(minutes=1))
    outcome = run(con, "raw.orders", tmp_path, run_started_at=NOW - timedelta(minutes=5))
    assert outcome.severity == "warning"
    assert failing(outcome, "rows_delivered")


def test_empty_table_blocks(wh, tmp_path):
    con, _ = wh
    outcome = run(con, "raw.stores", tmp_path)
    assert outcome.severity == "error"
    assert any(o.expectation == "expect_table_row_count_to_be_between" for o in outcome.errors)


def test_a_batch_that_cannot_be_queried_fails_as_error(wh, tmp_path):
    con, _ = wh
    con.execute("alter table raw.orders drop column amount")
    outcome = run(con, "raw.orders", tmp_path)
    assert outcome.severity == "error"
    assert any("batch query failed" in o.observed and "amount" in o.observed for o in outcome.errors)


def test_asset_check_blocks_with_error_and_reports_what_broke(wh, tmp_path):
    con, path = wh
    con.execute("update raw.orders set amount = -5 where order_id = 'O9'")
    con.close()
    checks = build_quality_checks([SUITES["raw.orders"]])
    orders_asset = next(a for a in ingestion_assets if dg.AssetKey(["raw", "orders"]) in a.keys)
    result = dg.materialize(
        [orders_asset, *checks],
        selection=dg.AssetSelection.checks(*checks),
        resources={
            "warehouse": WarehouseResource(path=str(path)),
            "landing": LandingZoneResource(path=str(tmp_path / "landing")),
            "crm_database": CrmDatabaseResource(),
            "quality": QualityResource(path=str(tmp_path / "quality")),
        },
        raise_on_error=False,
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == CHECK_NAME and evaluation.asset_key == dg.AssetKey(["raw", "orders"])
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR and evaluation.blocking
    assert "amount" in evaluation.description and "O9" in evaluation.description
    metadata = evaluation.metadata
    assert "O9" in metadata["failing_expectations"].value
    assert metadata["errors"].value == 1
    assert Path(metadata["data_docs"].value).is_file()
    assert metadata["failures"].value[0]["observed"].startswith("1 of 200 rows fail")


def test_history_is_pruned_to_the_most_recent_runs(wh, tmp_path):
    from dagster_project.quality.validation import gx_context, prune_history

    con, _ = wh
    for i in range(3):
        validate_suite(
            con, SUITES["raw.stores"], quality_dir=tmp_path / "q", run_name=f"run{i}", now=NOW + timedelta(i)
        )
    context = gx_context(tmp_path / "q")
    assert prune_history(context, (tmp_path / "q").resolve(), keep_runs=1) == ["run0", "run1"]
    assert {k.run_id.run_name for k in context.validation_results_store.list_keys()} == {"run2"}
    pages = tmp_path / "q" / "data_docs" / "validations"
    assert {p.name for p in pages.rglob("run*")} == {"run2"}


def test_value_missing_from_the_seed_is_caught(wh, tmp_path):
    """Allowed values come from the seed (seeds/order_statuses.csv) through the contract."""
    con, _ = wh
    con.execute("update raw.orders set status = ' Lost ' where order_id = 'O4'")
    outcome = run(con, "raw.orders", tmp_path)
    [failure] = failing(outcome, "status_clean")
    assert failure.severity == "error" and failure.unexpected_count == 1 and failure.batch == "contract"
    assert failure.sample == [{"order_id": "O4", "status_clean": "lost"}]
    assert '"completed", "pending", "cancelled", "refunded"' in failure.observed


@pytest.mark.parametrize("days, severity", [(10, "warning"), (2, None)])
def test_stale_source_warns(wh, tmp_path, days, severity):
    con, _ = wh
    con.execute("update raw.orders set _loaded_at = ?", [NOW - timedelta(days=days)])
    outcome = run(con, "raw.orders", tmp_path)
    assert outcome.severity == severity, outcome.summary()
    if severity:
        [failure] = failing(outcome, "hours_since_last_load")
        assert failure.batch == "freshness" and str(days * 24) in failure.observed
