"""The node results a pipeline's dbt build records (dagster_project/dbt_node_results.py), on dbt's
structured events without running dbt: what is kept of each, and that a failed build still leaves
the results of the nodes that ran."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from dagster_project.dbt_node_results import NODE_RESULTS_FILE, read_node_results, stream_recording_results

pytestmark = pytest.mark.fast


def _event(name: str, unique_id: str | None, status: str = "success", seconds: float = 0.5) -> SimpleNamespace:
    node_info = (
        {}
        if unique_id is None
        else {
            "unique_id": unique_id,
            "node_status": status,
            "node_started_at": "2026-12-04T09:00:00.000000",
            "node_finished_at": "2026-12-04T09:00:00.500000",
        }
    )
    raw = {"data": {"execution_time": seconds, "node_info": node_info}, "info": {"name": name, "thread": "Thread-1"}}
    return SimpleNamespace(
        raw_event=raw,
        is_result_event=name in ("LogModelResult", "LogTestResult", "LogSeedResult"),
        to_default_asset_events=lambda **_: iter([f"dagster event of {unique_id}"]) if unique_id else iter([]),
    )


def _invocation(target: Path, events: list, error: Exception | None = None) -> SimpleNamespace:
    def raw_events():
        yield from events
        if error is not None:
            raise error  # as dagster-dbt raises when dbt exits with an error

    return SimpleNamespace(
        stream_raw_events=raw_events,
        manifest={},
        dagster_dbt_translator=None,
        context=None,
        target_path=target,
        project=None,
    )


def test_each_result_event_is_recorded_and_passed_on(tmp_path):
    events = [
        _event("MainReportVersion", None),
        _event("LogModelResult", "model.p.fct_orders", "success", 1.25),
        _event("LogTestResult", "test.p.unique_fct_orders_order_key", "fail", 0.25),
    ]
    passed_on = list(stream_recording_results(_invocation(tmp_path, events)))
    assert passed_on == [f"dagster event of {e}" for e in ("model.p.fct_orders", "test.p.unique_fct_orders_order_key")]
    assert read_node_results(tmp_path / NODE_RESULTS_FILE) == [
        {
            "unique_id": "model.p.fct_orders",
            "status": "success",
            "execution_time": 1.25,
            "thread": "Thread-1",
            "started_at": "2026-12-04T09:00:00.000000",
            "finished_at": "2026-12-04T09:00:00.500000",
        },
        {
            "unique_id": "test.p.unique_fct_orders_order_key",
            "status": "fail",
            "execution_time": 0.25,
            "thread": "Thread-1",
            "started_at": "2026-12-04T09:00:00.000000",
            "finished_at": "2026-12-04T09:00:00.500000",
        },
    ]


def test_a_failed_build_leaves_the_results_of_the_nodes_that_ran(tmp_path):
    events = [_event("LogModelResult", "model.p.stg_orders"), _event("LogModelResult", "model.p.fct_orders", "error")]
    with pytest.raises(RuntimeError, match="dbt failed"):
        list(stream_recording_results(_invocation(tmp_path, events, RuntimeError("dbt failed"))))
    results = read_node_results(tmp_path / NODE_RESULTS_FILE)
    assert [(r["unique_id"], r["status"]) for r in results] == [
        ("model.p.stg_orders", "success"),
        ("model.p.fct_orders", "error"),
    ]
