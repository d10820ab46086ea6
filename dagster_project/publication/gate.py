"""The quality gate in front of publication, through Dagster's public API only.

Two layers, both Dagster's own:
- every quality check is `blocking=True`: in a run, an error-severity failure of a check on a mart (or
  on a raw table upstream of it) stops everything downstream, so the publication step never starts;
- the publication step then reads this run's own check evaluations (`DagsterInstance.get_records_for_run`
  with `DagsterEventType.ASSET_CHECK_EVALUATION`) and refuses unless every gating check was evaluated in
  this run and passed (a failed warning passes), after the last materialization of its asset.

So a publication only ever publishes what its own run checked: publishing on its own, or after marts
were rebuilt without their checks, is refused, and the published copy stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg


def run_check_evaluations(instance: dg.DagsterInstance, run_id: str) -> dict[dg.AssetCheckKey, dg.EventLogEntry]:
    """The latest evaluation of each asset check in run `run_id`."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    latest: dict[dg.AssetCheckKey, dg.EventLogEntry] = {}
    for record in records:  # ascending: a re-evaluation replaces an earlier one
        evaluation = record.event_log_entry.asset_check_evaluation
        if evaluation is not None:
            latest[dg.AssetCheckKey(evaluation.asset_key, evaluation.check_name)] = record.event_log_entry
    return latest


def unmet_checks(instance: dg.DagsterInstance, run_id: str, check_keys: Iterable[dg.AssetCheckKey]) -> list[str]:
    """Gating checks that do not let run `run_id` publish: not evaluated in this run, failed with
    error severity, or evaluated before the latest materialization of their asset."""
    evaluations = run_check_evaluations(instance, run_id)
    problems = []
    for key in check_keys:
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        entry = evaluations.get(key)
        if entry is None:
            problems.append(f"{name} has not run in this run")
            continue
        evaluation = entry.asset_check_evaluation
        if not evaluation.passed and evaluation.severity != dg.AssetCheckSeverity.WARN:
            problems.append(f"{name} failed")
            continue
        materialization = instance.get_latest_materialization_event(key.asset_key)
        if materialization is not None and materialization.timestamp > entry.timestamp:
            problems.append(f"{name} has not run since {key.asset_key.to_user_string()} was last materialized")
    return problems
