"""What the command line prints after a run: row counts, and the cause of each failure in one line."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

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
    return lines


def _readable(message: str, cls_name: str | None) -> str:
    """The message without Python's `package.module.Class: ` prefix; the class name stays for errors
    that are not the project's own (e.g. `BinderException: ...` from DuckDB), as a hint to their origin."""
    message = message.strip()
    prefix, _, rest = message.partition(": ")
    if cls_name and prefix.endswith(cls_name) and " " not in prefix:
        message = rest if prefix.startswith("dagster_project.") else f"{cls_name}: {rest}"
    return message
