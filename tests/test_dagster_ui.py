"""`dagster dev`'s web server, started the way the README says, on loopback with a free port and
tmp paths: the UI answers, the asset graph page loads in headless Chromium, and its GraphQL API lists
the asset graph from the landing files (raw/*) through dbt and publication to the scorecard."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_asset_graph import ancestors
from test_scorecard_browser import dump_dom

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 240
QUERY = """
{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    root = tmp_path_factory.mktemp("dagster_ui")
    (root / "home").mkdir()
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(root / "home"),
        "CSAT_LANDING_DIR": str(root / "landing"),
        "CSAT_WAREHOUSE_PATH": str(root / "warehouse" / "csat.duckdb"),
        "CSAT_PUBLISHED_DIR": str(root / "published"),
        "CSAT_QUALITY_DIR": str(root / "quality"),
        "CSAT_REPORTS_DIR": str(root / "reports"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
    }
    env.pop("CSAT_PUBLISH_POSTGRES_URL", None)
    webserver_bin = Path(sys.executable).with_name("dagster-webserver")
    process = subprocess.Popen(
        [str(webserver_bin), "-m", "dagster_project.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=open(root / "webserver.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"dagster-webserver exited: {(root / 'webserver.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver did not answer: {(root / 'webserver.log').read_text()[-3000:]}")
            time.sleep(1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def asset_graph(base: str) -> dict[str, dict]:
    for _ in range(60):  # the code location loads after the server answers
        data = graphql(base, QUERY)
        nodes = (data.get("data") or {}).get("assetNodes")
        if nodes:
            return {"/".join(n["assetKey"]["path"]): n for n in nodes}
        time.sleep(2)
    pytest.fail(f"no asset nodes from GraphQL: {data}")


def upstream(graph: dict[str, dict], key: str) -> set[str]:
    def parents(name: str) -> list[str]:
        return [p for p in ("/".join(dep["path"]) for dep in graph[name]["dependencyKeys"]) if p in graph]

    return ancestors(key, parents)


def test_asset_graph_runs_from_landing_files_to_the_scorecard(webserver):
    graph = asset_graph(webserver)
    assert "scorecard" in graph, f"the scorecard asset is not in the definitions: {sorted(graph)}"
    assert graph["scorecard"]["groupName"] == "reporting"
    assert "published_warehouse" in graph and graph["published_warehouse"]["groupName"] == "publish"
    ancestors = upstream(graph, "scorecard")
    assert "published_warehouse" in ancestors
    assert any(k.endswith("kpi_monthly") for k in ancestors)
    raw = {k for k in graph if k.startswith("raw/")}
    assert raw and raw <= ancestors, f"not upstream of the scorecard: {sorted(raw - ancestors)}"


def test_asset_graph_page_loads_in_a_browser(webserver):
    dom = dump_dom(f"{webserver}/assets", "--virtual-time-budget=30000")
    # The app shell renders (the asset list itself arrives over GraphQL, checked above).
    assert "Dagster" in dom and "Something went wrong" not in dom
