"""What the command line prints: one progress line per stage while a run goes, row counts after it,
and the cause of each failure in one line."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import dagster as dg

from dagster_project.assets.quality import MART_CHECKS_STEP, RAW_CHECKS_STEP
from dagster_project.contract import ENTITIES
from dagster_project.ingestion.warehouse import connect

MAX_LINE = 1000  # characters of one failure line; the Dagster UI and logs keep the whole text
MAX_LINES_PER_FAILURE = 8
# Dagster wraps an asset's exception in an error naming only the step, and a failed blocking check
# in one naming only the check: the causes are in the wrapped error and the check's evaluation.
_FRAMEWORK_ERRORS = frozenset({"DagsterExecutionStepExecutionError", "DagsterAssetCheckFailedError"})


def print_run_summary(warehouse: Path) -> None:
    if not warehouse.exists():
        return
    with connect(warehouse, read_only=True) as con:
        rejects = dict(con.execute("select entity, count(*) from raw.load_rejects group by all").fetchall())
        print(f"{'raw table':<24}{'rows':>12}{'rejected (all time)':>22}")
        for entity in ENTITIES:
            rows = con.execute(f"select count(*) from raw.{entity.name}").fetchone()[0]
            print(f"{'raw.' + entity.name:<24}{rows:>12,}{rejects.get(entity.name, 0):>22,}")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


def _cause_lines(message: str) -> list[str]:
    """A failure's message as readable lines: one per cause (e.g. `- <file>: <reason>` items)."""
    lines = [line.strip().removeprefix("- ").strip() for line in message.strip().splitlines()]
    lines = [_short(line) for line in lines if line]
    if len(lines) > MAX_LINES_PER_FAILURE:
        lines = lines[: MAX_LINES_PER_FAILURE - 1] + [f"... and {len(lines) - MAX_LINES_PER_FAILURE + 1} more"]
    return lines


def _check_detail(evaluation: dg.AssetCheckEvaluation) -> str:
    if evaluation.description:
        return evaluation.description
    metadata = evaluation.metadata or {}
    parts = [f"{k}={getattr(v, 'value', v)}" for k, v in metadata.items() if not k.startswith("dagster")]
    return "; ".join(parts[:5]) or "failed"


def skipped_steps(result: dg.ExecuteInProcessResult) -> list[str]:
    """Steps a run skipped. Dagster counts a run whose steps were skipped (an upstream asset produced
    no output) as a success; for `csat run` it is not: whatever came after, publication included, did
    not happen. A complete run skips nothing (the Postgres step, when off, runs and does nothing)."""
    return [e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"]


def failure_lines(result: dg.ExecuteInProcessResult) -> list[str]:
    """The cause of every failure of a run, one readable line each: the blocking checks that failed
    (asset, check and what it found) and the steps that raised (step and the innermost error, e.g.
    the file and rule of a delivery that could not be loaded)."""
    lines: list[str] = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        name = f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        detail = _cause_lines(_check_detail(evaluation))
        lines += [f"{name}: {line}" for line in detail[:1]] + [f"{name}:   {line}" for line in detail[1:]]
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        error = event.step_failure_data.error
        messages = []
        while error is not None:
            if error.cls_name not in _FRAMEWORK_ERRORS:
                messages.append(_readable(error.message, error.cls_name))
            error = error.cause
        if not messages:
            continue  # a failed blocking check: its line is above
        # The innermost cause says what was wrong; the outermost adds where it happened.
        detail = _cause_lines(messages[-1])
        if len(messages) > 1:
            detail = _cause_lines(messages[0])[:1] + detail
        lines += [f"{event.step_key}: {line}" for line in detail]
    skipped = skipped_steps(result)
    if skipped:
        lines.append(f"skipped (what they need was not produced): {', '.join(skipped)}")
    return lines


def _readable(message: str, cls_name: str | None) -> str:
    """The message without Python's `package.module.Class: ` prefix; the class name stays for errors
    that are not the project's own (e.g. `BinderException: ...` from DuckDB), as a hint to their origin."""
    message = message.strip()
    prefix, _, rest = message.partition(": ")
    if cls_name and prefix.endswith(cls_name) and " " not in prefix:
        message = rest if prefix.startswith("dagster_project.") else f"{cls_name}: {rest}"
    return message


# --- progress: one line per stage ---------------------------------------------------------------

STAGES = ("ingestion", "raw checks", "dbt build", "mart checks", "publication", "scorecard")
STAGE_LINE_PREFIX = "  "
BAR_WIDTH = 28
_BAR_MIN_INTERVAL = 0.2  # seconds between redraws of the progress bar
_CHECK_COUNTS = ("checks_passed", "checks_failed", "checks_warned")


def stage_of(step_key: str) -> str:
    """The stage a pipeline step belongs to, from its step key (the job's op names)."""
    if step_key == RAW_CHECKS_STEP:
        return "raw checks"
    if step_key == MART_CHECKS_STEP:
        return "mart checks"
    if step_key.startswith("raw__"):
        return "ingestion"
    if step_key in ("warehouse_models", "driver_importance_quarterly"):  # dbt, and the key drivers from its tables
        return "dbt build"
    if step_key.startswith("published_"):
        return "publication"
    if step_key == "scorecard":
        return "scorecard"
    return "other"


@dataclass
class StageTally:
    """What one stage did: its steps, their summed run time and the counts shown on its line."""

    name: str
    planned: int = 0
    units_total: int = 0
    seconds: float = 0.0
    finished: int = 0
    failed: int = 0
    skipped: int = 0
    printed: bool = False
    counts: Counter = field(default_factory=Counter)
    running: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "seconds": round(self.seconds, 3),
            "steps": self.finished,
            "failed": self.failed,
            "skipped": self.skipped,
            **dict(self.counts),
        }


def _count(n: int, one: str, many: str) -> str:
    """`1 suite`, `2 suites`: a stage line reads as a sentence."""
    return f"{n:,} {one if n == 1 else many}"


def _checks_detail(c: Counter) -> str:
    parts = [f"{_count(c['checks_passed'], 'suite', 'suites')} passed"]
    if c["checks_warned"]:
        parts.append(f"{c['checks_warned']} with warnings")
    if c["checks_failed"]:
        parts.append(f"{c['checks_failed']} FAILED")
    return ", ".join(parts)


def stage_detail(tally: StageTally) -> str:
    """The counts of a stage's line, e.g. `36 new files, 11,000 rows loaded, 0 rejected`."""
    c = tally.counts
    if tally.name == "ingestion":
        text = (
            f"{_count(c['files_loaded'], 'new file', 'new files')}, "
            f"{_count(c['rows_loaded'], 'row', 'rows')} loaded, {c['rows_rejected']:,} rejected"
        )
        if c["rows_left_out"]:  # rows a mapping's layout declares no records: counted, so counts reconcile
            text += f", {c['rows_left_out']:,} left out as the mappings declare"
        if c["files_failed"]:
            text += f", {_count(c['files_failed'], 'file', 'files')} FAILED"
    elif tally.name in ("raw checks", "mart checks"):
        text = _checks_detail(c)
    elif tally.name == "dbt build":
        text = f"{_count(c['materialized'] - c['unchanged'], 'model or seed', 'models and seeds')} built"
        if c["unchanged"]:  # left out by an incremental build: no new row reaches them (build_scope.py)
            text += f" ({c['unchanged']:,} unchanged)"
        text += f", {_count(c['checks_passed'], 'test', 'tests')} passed"
        if c["checks_warned"]:
            text += f", {c['checks_warned']:,} warned"
        if c["checks_failed"]:
            text += f", {c['checks_failed']:,} FAILED"
    elif tally.name == "publication":
        text = f"{c['rows_published']:,} mart rows published"
        if c["marts_published"]:
            text += f", {c['marts_changed']:,} of {c['marts_published']:,} marts changed"
    elif tally.name == "scorecard":
        text = f"scorecard for {c['month']}" if c["month"] else "scorecard written"
    else:
        text = f"{tally.finished} steps"
    if tally.failed:
        text += f" ({tally.failed} step{'s' if tally.failed > 1 else ''} FAILED)"
    if tally.finished < tally.planned:
        not_run = tally.planned - tally.finished
        text = "not run (an earlier stage failed)" if not tally.finished else text + f" ({not_run} steps not run)"
    return text


def format_stage_line(tally: StageTally) -> str:
    return f"{STAGE_LINE_PREFIX}{tally.name:<12} {stage_detail(tally):<66} {tally.seconds:>8.1f} s"


class RunProgress:
    """Turns the pipeline's step events into one line per stage (counts and run time), printed as soon
    as every planned step of the stage has finished; on a terminal, a progress bar while a stage runs.

    Fed by `progress_logger` (Dagster's structured events) or directly by tests. It never raises into
    the run: a progress line is a courtesy, the run's result is what counts."""

    def __init__(
        self,
        planned_steps: Iterable[str],
        *,
        out: TextIO,
        units: Mapping[str, int] | None = None,
        tty: bool | None = None,
        # Monotonic: a stage's time must not take in a step of the wall clock (NTP, a virtual
        # machine's clock catching up), which logging.LogRecord.created would.
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.clock = clock
        self.stages: dict[str, StageTally] = {name: StageTally(name) for name in STAGES}
        for step in planned_steps:
            self._stage(step).planned += 1
        for name, total in (units or {}).items():
            self.stages[name].units_total = total
        self._bar_drawn_at = 0.0
        self._bar_visible = False

    def _stage(self, step_key: str) -> StageTally:
        name = stage_of(step_key)
        return self.stages.setdefault(name, StageTally(name))

    # events -----------------------------------------------------------------------------------
    def step_started(self, step_key: str, at: float) -> None:
        self._stage(step_key).running[step_key] = at
        self._draw_bar(self._stage(step_key))

    def step_finished(self, step_key: str, at: float, status: str = "success") -> None:
        tally = self._stage(step_key)
        started = tally.running.pop(step_key, None)
        if started is not None:
            tally.seconds += max(at - started, 0.0)
        tally.finished += 1
        tally.failed += status == "failure"
        tally.skipped += status == "skipped"
        if tally.finished >= tally.planned and not tally.running:
            self._print_stage(tally)
        else:
            self._draw_bar(tally)

    def materialized(self, step_key: str, metadata: Mapping[str, Any]) -> None:
        tally = self._stage(step_key)
        tally.counts["materialized"] += 1
        tally.counts["unchanged"] += metadata.get("rebuilt") is False
        for key in ("files_loaded", "files_failed", "rows_loaded", "rows_rejected", "rows_left_out"):
            tally.counts[key] += int(metadata.get(key) or 0)
        if tally.name == "publication":
            tally.counts["rows_published"] += int(metadata.get("dagster/row_count") or 0)
            for key in ("marts_published", "marts_changed"):
                tally.counts[key] += int(metadata.get(key) or 0)
        if tally.name == "scorecard" and metadata.get("month"):
            tally.counts["month"] = metadata["month"]
        self._draw_bar(tally)

    def check_evaluated(self, step_key: str, *, passed: bool, blocking: bool) -> None:
        tally = self._stage(step_key)
        tally.counts["checks_passed" if passed else "checks_failed" if blocking else "checks_warned"] += 1
        self._draw_bar(tally)

    def finish(self) -> list[dict[str, Any]]:
        """Print the lines of stages not printed yet (a failed run) and return every stage's tally."""
        for tally in self.stages.values():
            if not tally.printed and (tally.planned or tally.finished):
                self._print_stage(tally)
        return [t.as_dict() for t in self.stages.values() if t.planned or t.finished]

    # output -----------------------------------------------------------------------------------
    def _print_stage(self, tally: StageTally) -> None:
        if tally.printed:
            return
        tally.printed = True
        self._clear_bar()
        self.out.write(format_stage_line(tally) + "\n")
        self.out.flush()

    def _draw_bar(self, tally: StageTally) -> None:
        if not self.tty or tally.printed:
            return
        now = self.clock()
        if now - self._bar_drawn_at < _BAR_MIN_INTERVAL:
            return
        self._bar_drawn_at = now
        if tally.units_total:
            done = tally.counts["materialized"] + sum(tally.counts[k] for k in _CHECK_COUNTS)
            total = tally.units_total
        else:
            done, total = tally.finished, max(tally.planned, 1)
        filled = min(BAR_WIDTH, BAR_WIDTH * done // max(total, 1))
        running = sum(now - s for s in tally.running.values())
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} {tally.seconds + running:.0f} s"
        bar = f"{STAGE_LINE_PREFIX}{tally.name:<12} {bar}"
        self.out.write("\r" + bar.ljust(100)[:100])
        self.out.flush()
        self._bar_visible = True

    def _clear_bar(self) -> None:
        if self._bar_visible:
            self.out.write("\r" + " " * 100 + "\r")
            self._bar_visible = False


def _metadata_values(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in (metadata or {}).items()}


class _ProgressHandler(logging.Handler):
    """Feeds Dagster's structured events (carried by its log records) to a RunProgress."""

    def __init__(self, progress: RunProgress) -> None:
        super().__init__(level=logging.DEBUG)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if event is None or not event.step_key:
            return
        try:
            # Handlers run as the event is logged (the run is in this process): now is its time.
            self._dispatch(event, self.progress.clock())
        except Exception:  # noqa: BLE001 - progress output must never fail a run
            pass

    def _dispatch(self, event: Any, at: float) -> None:
        kind, step, data = event.event_type_value, event.step_key, event.event_specific_data
        if kind == "STEP_START":
            self.progress.step_started(step, at)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            self.progress.step_finished(step, at, kind.removeprefix("STEP_").lower())
        elif kind == "ASSET_MATERIALIZATION":
            self.progress.materialized(step, _metadata_values(data.materialization.metadata))
        elif kind == "ASSET_OBSERVATION" and stage_of(step) == "ingestion":
            # a failed ingestion records what did load as an observation
            self.progress.materialized(step, _metadata_values(data.asset_observation.metadata))
        elif kind == "ASSET_CHECK_EVALUATION":
            blocking = data.severity == dg.AssetCheckSeverity.ERROR
            self.progress.check_evaluated(step, passed=data.passed, blocking=blocking)


def progress_logger(progress: RunProgress, log_file: TextIO | None = None) -> dg.LoggerDefinition:
    """A Dagster logger that drives `progress` and writes every log record (DEBUG and up) to `log_file`."""

    def _init(_context: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.Logger("csat_progress", level=logging.DEBUG)
        logger.addHandler(_ProgressHandler(progress))
        if log_file is not None:
            handler = logging.StreamHandler(log_file)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            logger.addHandler(handler)
        return logger

    return dg.LoggerDefinition(_init, description="csat run: one line per stage, full log to a file")
