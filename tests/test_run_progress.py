"""`csat run` progress: one line per stage with counts and run time, from the run's step events."""

from __future__ import annotations

import io
import re
from collections import Counter

from dagster_project.run_summary import RunProgress, StageTally, stage_detail, stage_of

STEPS = [
    "raw__survey_responses",
    "raw__orders",
    "raw_quality_checks",
    "warehouse_models",
    "mart_quality_checks",
    "published_warehouse",
    "scorecard",
]
LINE = re.compile(r"^  (?P<stage>[a-z ]{12}) (?P<detail>.{66,}?) +(?P<seconds>\d+\.\d) s$")


def _lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def _successful_run(progress: RunProgress) -> None:
    clock = 100.0
    for step, seconds in [("raw__survey_responses", 2.0), ("raw__orders", 1.5)]:
        progress.step_started(step, clock)
        progress.materialized(step, {"files_loaded": 3, "rows_loaded": 1200, "rows_rejected": 4, "files_failed": 0})
        clock += seconds
        progress.step_finished(step, clock)
    progress.step_started("raw_quality_checks", clock)
    for _ in range(2):  # one check per suite, in one step
        progress.check_evaluated("raw_quality_checks", passed=True, blocking=True)
    clock += 1.0
    progress.step_finished("raw_quality_checks", clock)
    progress.step_started("warehouse_models", clock)
    for _ in range(3):
        progress.materialized("warehouse_models", {})
    progress.materialized("warehouse_models", {"rebuilt": False})  # left out by an incremental build
    progress.check_evaluated("warehouse_models", passed=True, blocking=True)
    progress.check_evaluated("warehouse_models", passed=False, blocking=False)
    clock += 40.25
    progress.step_finished("warehouse_models", clock)
    progress.step_started("mart_quality_checks", clock)
    progress.check_evaluated("mart_quality_checks", passed=True, blocking=True)
    progress.step_finished("mart_quality_checks", clock + 1)
    progress.step_started("published_warehouse", clock + 1)
    progress.materialized("published_warehouse", {"dagster/row_count": 5000, "marts_published": 24, "marts_changed": 9})
    progress.step_finished("published_warehouse", clock + 3)
    progress.step_started("scorecard", clock + 3)
    progress.materialized("scorecard", {"month": "2026-10"})
    progress.step_finished("scorecard", clock + 4)


def test_one_line_per_stage_with_counts_and_time_in_stage_order():
    out = io.StringIO()
    progress = RunProgress(STEPS, out=out, tty=False)
    _successful_run(progress)
    tallies = progress.finish()
    lines = _lines(out)
    assert [LINE.match(line)["stage"].strip() for line in lines] == [
        "ingestion",
        "raw checks",
        "dbt build",
        "mart checks",
        "publication",
        "scorecard",
    ], lines
    assert "6 new files, 2,400 rows loaded, 8 rejected" in lines[0] and lines[0].endswith("3.5 s")
    assert "2 suites passed" in lines[1] and lines[1].endswith("1.0 s")
    assert "3 models and seeds built (1 unchanged), 1 test passed, 1 warned" in lines[2]
    assert lines[2].endswith("40.2 s") or lines[2].endswith("40.3 s")
    assert "5,000 mart rows published, 9 of 24 marts changed" in lines[4]
    assert "scorecard for 2026-10" in lines[5]
    assert {t["stage"]: t["seconds"] for t in tallies}["dbt build"] == 40.25
    assert "\r" not in out.getvalue()  # no progress bar when the output is not a terminal


def test_a_failed_run_names_the_failure_and_the_stages_that_did_not_run():
    out = io.StringIO()
    progress = RunProgress(STEPS, out=out, tty=False)
    progress.step_started("raw__survey_responses", 0.0)
    progress.materialized("raw__survey_responses", {"files_loaded": 1, "rows_loaded": 10, "files_failed": 1})
    progress.step_finished("raw__survey_responses", 1.0, "failure")
    progress.step_started("raw__orders", 1.0)
    progress.step_finished("raw__orders", 2.0)
    progress.finish()
    lines = _lines(out)
    assert "1 new file, 10 rows loaded, 0 rejected, 1 file FAILED (1 step FAILED)" in lines[0]
    assert [line for line in lines if "not run (an earlier stage failed)" in line] == lines[1:]
    assert len(lines) == 6 and all(LINE.match(line) for line in lines)


def test_a_failed_check_is_counted_and_stops_the_stages_after_it():
    out = io.StringIO()
    progress = RunProgress(STEPS, out=out, tty=False)
    for step in ("raw__survey_responses", "raw__orders"):
        progress.step_started(step, 0.0)
        progress.step_finished(step, 1.0)
    progress.step_started("raw_quality_checks", 1.0)
    progress.check_evaluated("raw_quality_checks", passed=True, blocking=True)
    progress.check_evaluated("raw_quality_checks", passed=False, blocking=True)
    progress.step_finished("raw_quality_checks", 2.0)
    progress.finish()
    lines = _lines(out)
    assert "1 suite passed, 1 FAILED" in lines[1], lines[1]
    assert [line for line in lines if "not run (an earlier stage failed)" in line] == lines[2:]


def test_a_progress_bar_on_a_terminal_is_cleared_before_each_stage_line():
    out = io.StringIO()
    ticks = iter(range(1000, 2000))  # the events' clock (seconds since the epoch), later than every event
    progress = RunProgress(STEPS, out=out, tty=True, units={"dbt build": 5}, clock=lambda: float(next(ticks)))
    _successful_run(progress)
    progress.finish()
    text = out.getvalue()
    assert "[" in text and "/5 " in text  # dbt build's bar counts nodes against the planned total
    assert " -" not in text  # elapsed times on the bar are measured on the events' own clock
    # every stage line starts on a clean line: the bar is overwritten with blanks first
    assert all(LINE.match(line.split("\r")[-1]) for line in text.split("\n") if line)


def test_every_step_of_the_pipeline_belongs_to_a_stage():
    from dagster_project.definitions import PIPELINE_JOB, defs

    job = defs().resolve_job_def(PIPELINE_JOB)
    assert {stage_of(node.name) for node in job.graph.nodes} == {
        "ingestion",
        "raw checks",
        "dbt build",
        "mart checks",
        "publication",
        "scorecard",
    }


def test_the_run_log_lives_with_the_warehouse_and_is_owner_only(tmp_path):
    import os
    import stat

    from dagster_project.cli import _open_run_log, run_log_path
    from dagster_project.run_lock import secure_warehouse_dir

    warehouse = tmp_path / "warehouse" / "csat.duckdb"
    warehouse.parent.mkdir(mode=0o755)
    for run in ("first", "second"):
        path, log = _open_run_log(warehouse)
        with log:
            log.write(f"{run} run\n")
    assert path == run_log_path(warehouse) == tmp_path / "warehouse" / "csat.duckdb.log"
    assert path.read_text() == "second run\n"
    assert path.with_name("csat.duckdb.log.previous").read_text() == "first run\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(warehouse.parent, 0o755)
    secure_warehouse_dir(warehouse)  # the logs are the warehouse's own files: the folder is still tightened
    assert stat.S_IMODE(warehouse.parent.stat().st_mode) == 0o700


def test_stage_times_come_from_a_monotonic_clock_not_the_records_wall_clock():
    """A benchmark run on a virtual machine once showed a publication of 409 s inside a run of 180 s:
    the wall clock stepped while it ran, and stage times were taken from the log records' wall-clock
    time. Events are now timed by the progress's own clock (monotonic) as they are handled."""
    import logging
    import time
    from types import SimpleNamespace

    from dagster_project.run_summary import _ProgressHandler

    ticks = iter([10.0, 12.5])
    progress = RunProgress(STEPS, out=io.StringIO(), tty=False, clock=lambda: next(ticks))
    handler = _ProgressHandler(progress)
    for kind, wall_clock in (("STEP_START", 1_000.0), ("STEP_SUCCESS", 1_409.0)):  # a 409 s step
        record = logging.LogRecord("dagster", logging.DEBUG, __file__, 1, kind, None, None)
        record.created = wall_clock
        record.dagster_event = SimpleNamespace(
            event_type_value=kind, step_key="published_warehouse", event_specific_data=None
        )
        handler.emit(record)
    assert progress.stages["publication"].seconds == 2.5
    assert RunProgress(STEPS, out=io.StringIO()).clock is time.monotonic


def test_a_stage_line_counts_one_thing_in_the_singular():
    # a run with nothing new: dbt not started, the key-driver mart recomputed, one suite, one file
    dbt = StageTally("dbt build", planned=2, finished=2, counts=Counter(materialized=101, unchanged=100))
    assert stage_detail(dbt) == "1 model or seed built (100 unchanged), 0 tests passed"
    ingestion = StageTally("ingestion", counts=Counter(files_loaded=1, rows_loaded=1, files_failed=1))
    assert stage_detail(ingestion) == "1 new file, 1 row loaded, 0 rejected, 1 file FAILED"
    checks = StageTally("raw checks", counts=Counter(checks_passed=1))
    assert stage_detail(checks) == "1 suite passed"


def test_rows_a_layout_leaves_out_are_on_the_ingestion_line():
    progress = RunProgress(STEPS, out=io.StringIO())
    progress.step_started("raw__survey_responses", 0.0)
    progress.materialized("raw__survey_responses", {"files_loaded": 2, "rows_loaded": 10, "rows_left_out": 8})
    counts = progress.stages["ingestion"].counts
    ingestion = StageTally("ingestion", counts=counts)
    assert stage_detail(ingestion) == "2 new files, 10 rows loaded, 0 rejected, 8 left out as the mappings declare"
