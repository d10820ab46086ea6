"""Integration: materialize every ingestion asset on generated data and reconcile with the generator."""

from __future__ import annotations

import dagster as dg
import pytest

from csat_sample_data import generate_sample_data, write_columns_mismatch_file, write_dirty_delivery
from dagster_project.contract import ENTITIES
from dagster_project.definitions import PIPELINE_JOB, build_definitions
from dagster_project.ingestion.warehouse import connect

pytestmark = pytest.mark.pipeline

RAW_KEYS = [dg.AssetKey(["raw", e.name]) for e in ENTITIES]


def ingest(landing, warehouse_path, raise_on_error=True):
    defs = build_definitions(landing_dir=str(landing), warehouse_path=str(warehouse_path))
    return defs.resolve_job_def(PIPELINE_JOB).execute_in_process(
        asset_selection=RAW_KEYS, raise_on_error=raise_on_error
    )


def metadata_by_entity(result) -> dict[str, dict]:
    out = {}
    for e in ENTITIES:
        [m] = result.asset_materializations_for_node(f"raw__{e.name}")
        out[e.name] = {k: v.value for k, v in m.metadata.items()}
    return out


def raw_counts(warehouse_path) -> dict[str, int]:
    with connect(warehouse_path, read_only=True) as con:
        return {e.name: con.execute(f"select count(*) from raw.{e.name}").fetchone()[0] for e in ENTITIES}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    landing = tmp_path_factory.mktemp("sample") / "landing"
    summary = generate_sample_data(landing, seed=11, responses=3000)
    return landing, summary


def test_loaded_counts_match_the_generator_and_rerun_changes_nothing(sample, tmp_path):
    landing, summary = sample
    warehouse_path = tmp_path / "csat.duckdb"

    first = metadata_by_entity(ingest(landing, warehouse_path))
    for name, meta in first.items():
        assert meta["rows_delivered"] == summary.delivered[name], name
        assert meta["rows_rejected"] == 0, (name, meta["rejects_by_rule"])
        assert meta["rows_loaded"] == summary.delivered[name], name
    assert raw_counts(warehouse_path) == summary.distinct_keys

    second = metadata_by_entity(ingest(landing, warehouse_path))
    assert all(meta["files_loaded"] == 0 and meta["files_skipped"] > 0 for meta in second.values())
    assert raw_counts(warehouse_path) == summary.distinct_keys


def test_dirty_delivery_loads_good_rows_and_rejects_each_bad_row_with_its_rule(tmp_path):
    landing = tmp_path / "landing"
    dirty = write_dirty_delivery(landing, seed=7)
    warehouse_path = tmp_path / "csat.duckdb"

    result = ingest(landing, warehouse_path, raise_on_error=False)
    meta = metadata_by_entity(result)
    # The deliveries are mostly bad rows: the quality gate fails on their reject share and blocks.
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert not result.success and failed
    assert all("reject_share" in c.metadata["summary"].value for c in failed)

    with connect(warehouse_path, read_only=True) as con:
        rejects = con.execute(
            "select entity, source_file, row_number, rule, column_name from raw.load_rejects"
        ).fetchall()
    got = sorted((e, str(f).split(str(landing) + "/")[-1], r, rule, col) for e, f, r, rule, col in rejects)
    expected = sorted((x.entity, x.file, x.row_number, x.rule, x.column) for x in dirty.expected_rejects)
    assert got == expected
    for name in dirty.delivered:
        rejected = sum(1 for x in dirty.expected_rejects if x.entity == name)
        assert meta[name]["rows_delivered"] == dirty.delivered[name] == meta[name]["rows_loaded"] + rejected
        assert meta[name]["rows_loaded"] == dirty.loaded[name]
    assert {x.rule for x in dirty.expected_rejects} >= {
        "required",
        "type",
        "enum",
        "range",
        "future",
        "order",
        "duplicate",
        "malformed",
    }


def test_a_file_with_missing_columns_fails_the_asset_naming_file_and_columns(tmp_path):
    landing = tmp_path / "landing"
    path, missing = write_columns_mismatch_file(landing, "tickets")
    result = ingest(landing, tmp_path / "csat.duckdb", raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure and e.step_key == "raw__tickets"]
    message = failure.step_failure_data.error.to_string()
    assert path.name in message
    assert all(column in message for column in missing)
