"""What a pipeline's dbt build ran: each node's status, thread and time, in `node_results.json`.

A pipeline build runs dbt with `--no-write-json` on DuckDB: dbt would otherwise write the whole
manifest (about 14 MB of JSON, with its semantic manifest) into the build's target folder twice, at
the start and at the end, and `run_results.json`; nothing of the pipeline reads the manifest it
wrote (it builds from the one `csat parse` saved), and the writing took about 0.6 s of every run's
dbt step (DECISIONLOG.md, "dbt's artefacts of a pipeline build"). The node results are what stays
useful to a person or a benchmark (which nodes ran, how long each took, on which thread), so they
are recorded here from the events dbt streams to dagster-dbt anyway, and written to the build's
target folder, failed builds included.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the benchmark reads node results without importing dagster-dbt
    from dagster_dbt import DbtCliInvocation

NODE_RESULTS_FILE = "node_results.json"


def stream_recording_results(invocation: "DbtCliInvocation") -> Iterator[Any]:
    """dagster-dbt's `invocation.stream()` (the Dagster events of dbt's results), recording each
    node's result on the way; `node_results.json` is written when the stream ends or raises (a
    failed build: the nodes that ran until then)."""
    results: list[dict[str, Any]] = []
    try:
        for event in invocation.stream_raw_events():
            if event.is_result_event:
                results.append(node_result(event.raw_event))
            yield from event.to_default_asset_events(
                manifest=invocation.manifest,
                dagster_dbt_translator=invocation.dagster_dbt_translator,
                context=invocation.context,
                target_path=invocation.target_path,
                project=invocation.project,
            )
    finally:
        write_node_results(Path(invocation.target_path), results)


def node_result(raw_event: dict[str, Any]) -> dict[str, Any]:
    """One node's result from dbt's structured event (LogModelResult, LogTestResult, ...)."""
    data, node = raw_event["data"], raw_event["data"]["node_info"]
    return {
        "unique_id": node["unique_id"],
        "status": node["node_status"],
        "execution_time": data.get("execution_time"),
        "thread": raw_event["info"].get("thread"),
        "started_at": node.get("node_started_at"),
        "finished_at": node.get("node_finished_at"),
    }


def write_node_results(target_path: Path, results: list[dict[str, Any]]) -> Path:
    """Write `results` (node_result's) as the build's `node_results.json`; its path."""
    path = target_path / NODE_RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"results": results}, indent=1) + "\n", encoding="utf-8")
    return path


def read_node_results(path: Path) -> list[dict[str, Any]]:
    """The node results of one build (`<build's target folder>/node_results.json`)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["results"]
