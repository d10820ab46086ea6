"""Automation: a daily schedule and a sensor that starts a run when new files land."""

import hashlib
from pathlib import Path

import dagster as dg

from dagster_project.contract import ENTITIES
from dagster_project.ingestion.files import discover_files
from dagster_project.resources import LandingZoneResource


def landing_state(landing_dir: Path) -> str:
    """A digest of every delivered file's path, size and modification time."""
    digest = hashlib.sha256()
    for entity in ENTITIES:
        for path in discover_files(landing_dir, entity):
            stat = path.stat()
            digest.update(f"{path.relative_to(landing_dir)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def build_automation(job) -> tuple[list[dg.SensorDefinition], list[dg.ScheduleDefinition]]:
    # The sensor never opens the warehouse: DuckDB allows one writer, and a run may be writing.
    @dg.sensor(
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Starts the pipeline when files are added to or changed in the landing folder.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZoneResource):
        state = landing_state(landing.root)
        if state == context.cursor:
            return dg.SkipReason("no new or changed files in the landing folder")
        context.update_cursor(state)
        return dg.RunRequest(run_key=state)

    daily = dg.ScheduleDefinition(
        name="daily_pipeline",
        job=job,
        cron_schedule="0 6 * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Runs the whole pipeline every day at 06:00 UTC.",
    )
    return [landing_sensor], [daily]
