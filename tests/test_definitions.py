"""The Dagster code location: it loads, has every ingestion asset, and its automation works."""

from __future__ import annotations

import dagster as dg
import pytest

from dagster_project.contract import ENTITIES, SURVEY_RESPONSES
from dagster_project.definitions import PIPELINE_JOB, build_definitions
from dagster_project.resources import LandingZoneResource

from deliveries import entity_folder, survey_response, write_csv


def test_definitions_load_with_one_asset_per_entity(landing, warehouse_path):
    defs = build_definitions(landing_dir=str(landing), warehouse_path=str(warehouse_path))
    keys = {key for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {dg.AssetKey(["raw", e.name]) for e in ENTITIES} <= keys
    assert defs.resolve_job_def(PIPELINE_JOB) is not None
    assert defs.resolve_schedule_def("daily_pipeline").cron_schedule == "0 6 * * *"
    assert defs.resolve_sensor_def("landing_sensor") is not None


def test_module_level_defs_is_importable():
    from dagster_project.definitions import defs

    assert isinstance(defs, dg.Definitions)


def test_sensor_requests_a_run_only_when_files_land(landing, warehouse_path):
    defs = build_definitions(landing_dir=str(landing), warehouse_path=str(warehouse_path))
    sensor = defs.resolve_sensor_def("landing_sensor")
    resources = {"landing": LandingZoneResource(path=str(landing))}

    def evaluate(cursor):
        with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
            return sensor.evaluate_tick(context)

    empty = evaluate(None)
    assert empty.run_requests == [] or empty.run_requests is None or len(empty.run_requests) == 1
    cursor = empty.cursor
    unchanged = evaluate(cursor)
    assert not unchanged.run_requests

    write_csv(
        entity_folder(landing, SURVEY_RESPONSES) / "2025-01.csv", [survey_response("R1")], SURVEY_RESPONSES.column_names
    )
    new_files = evaluate(cursor)
    assert len(new_files.run_requests) == 1
    assert not evaluate(new_files.cursor).run_requests


@pytest.mark.pipeline  # starts dbt
def test_pipeline_job_reports_counts_as_metadata_and_fails_on_a_bad_file(landing, warehouse_path):
    folder = entity_folder(landing, SURVEY_RESPONSES)
    write_csv(
        folder / "2025-01.csv",
        [survey_response("R1"), survey_response("R2", csat_score="9")],
        SURVEY_RESPONSES.column_names,
    )
    defs = build_definitions(landing_dir=str(landing), warehouse_path=str(warehouse_path))
    job = defs.resolve_job_def(PIPELINE_JOB)
    selection = [dg.AssetKey(["raw", "survey_responses"])]

    # Half of the delivery is rejected: the asset materializes, and the quality gate's blocking check
    # on it fails on the reject share.
    result = job.execute_in_process(asset_selection=selection, raise_on_error=False)
    [check] = result.get_asset_check_evaluations()
    assert check.asset_key == selection[0] and not check.passed
    [materialization] = result.asset_materializations_for_node("raw__survey_responses")
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert (meta["rows_delivered"], meta["rows_loaded"], meta["rows_rejected"]) == (2, 1, 1)
    assert meta["rejects_by_rule"] == {"range": 1}

    write_csv(folder / "2025-02.csv", [survey_response("R3")], ["response_id", "comment"])
    failed = job.execute_in_process(asset_selection=selection, raise_on_error=False)
    assert not failed.success
    [failure] = [e for e in failed.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.to_string()
    assert "2025-02.csv" in message and "missing required column(s): survey_id" in message
