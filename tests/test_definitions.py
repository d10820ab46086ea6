"""The Dagster code location: it loads, has every ingestion asset, and its automation works; importing
any module of the package has no side effect (no subprocess, no project file read)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from dagster_project import settings
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


def test_the_code_location_is_a_lazy_definitions_function():
    from dagster_project.definitions import defs

    assert not isinstance(defs, dg.Definitions)  # built when Dagster loads it, not at import
    built = defs()
    assert isinstance(built, dg.Definitions)
    assert built.resolve_job_def(PIPELINE_JOB) is not None


# Run in a fresh interpreter: an audit hook records every process started and every file of the
# repository opened (Python sources aside) while each module of the package is imported.
_IMPORT_PROBE = """
import importlib, json, os, pkgutil, sys
from pathlib import Path

root = Path(sys.argv[1]).resolve()
seen = []

def hook(event, args):
    if event in ("subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.spawn", "os.fork"):
        seen.append(f"{event}: {args[0]!r}")
    elif event == "open" and isinstance(args[0], (str, bytes)):
        path = Path(os.fsdecode(args[0])).resolve()
        inside = path.is_relative_to(root) and not path.is_relative_to(root / ".venv")
        if inside and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
            seen.append(f"open: {path.relative_to(root)}")

# Third-party libraries are imported first: their own import-time work is not the package's
# (dagster's vendored croniter runs `file -b` to learn the word size).
import dagster, dagster_dbt, duckdb

sys.addaudithook(hook)
import dagster_project

modules = [m.name for m in pkgutil.walk_packages(dagster_project.__path__, "dagster_project.")]
for name in modules:
    importlib.import_module(name)
print(json.dumps({"modules": modules, "side_effects": seen}))
"""


def test_importing_any_module_runs_no_process_and_reads_no_project_file():
    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, str(root)], capture_output=True, text=True, check=True, cwd=root
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    # the probe did import the modules it must (an empty walk would prove nothing)
    assert {"dagster_project.definitions", "dagster_project.assets.warehouse", "dagster_project.assets.quality"} <= set(
        report["modules"]
    )
    assert report["side_effects"] == []


def test_the_definitions_import_no_postgresql_driver_while_postgresql_is_off(landing, warehouse_path):
    # psycopg takes 0.2 s to import: a run that neither reads a CRM database nor publishes to
    # PostgreSQL must not pay it (a fresh interpreter, as `csat run` starts one).
    probe = (
        "import sys; from dagster_project.definitions import build_definitions; "
        "build_definitions(landing_dir=sys.argv[1], warehouse_path=sys.argv[2]); print('psycopg' in sys.modules)"
    )
    off = {k: v for k, v in os.environ.items() if k not in (settings.POSTGRES_URL_ENV, settings.CRM_DATABASE_URL_ENV)}
    completed = subprocess.run(
        [sys.executable, "-c", probe, str(landing), str(warehouse_path)],
        capture_output=True,
        text=True,
        check=True,
        env=off,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert completed.stdout.strip().splitlines()[-1] == "False"


def test_sensor_requests_a_run_only_when_files_land(landing, warehouse_path):
    defs = build_definitions(landing_dir=str(landing), warehouse_path=str(warehouse_path))
    sensor = defs.resolve_sensor_def("landing_sensor")
    resources = {"landing": LandingZoneResource(path=str(landing))}

    def evaluate(cursor):
        with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
            return sensor.evaluate_tick(context)

    empty = evaluate(None)
    assert len(empty.run_requests) == 1  # no cursor yet: the first tick starts a run (of an empty landing)
    cursor = empty.cursor
    assert cursor
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
