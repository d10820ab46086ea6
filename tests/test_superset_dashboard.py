"""The scorecard in Apache Superset, as the README's command brings it up (bi/superset/launcher.py `up`):
Superset from its own cached venv (bi/superset/requirements.lock) with a fresh home, on a free loopback
port, the dashboard bundle imported through the assets API from the published sample marts.

Checks, in headless Chromium driven over CDP (tests/cdp.py): log in, open the dashboard, wait until every
chart is drawn, fail on any chart error, and compare the headline numbers shown with `scorecard_latest`
in the published copy; a new publication plus a re-run of the launcher shows the new numbers; SQL Lab
cannot read a server file through the shipped DuckDB connection (and the same check does read it through
an unhardened one, so it can fail). The dashboard screenshot is kept in the tmp folder; with
CSAT_UPDATE_DOCS_SCREENSHOTS=1 it is also written to docs/superset-dashboard.png (the README's picture).

The first run installs Superset (about 900 MB, 5-7 minutes on 2 cores) into ~/.cache/csat-superset.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

import duckdb
import pytest
from cdp import Browser
from test_scorecard_browser import DECIMALS, all_marts, sample_published  # noqa: F401  (fixture)

from dagster_project.ingestion.warehouse import connect
from dagster_project.publication.published_copy import DATABASE_FILE, publish_marts
from dagster_project.scorecard import HEADLINE_KPIS

pytestmark = [pytest.mark.superset, pytest.mark.browser, pytest.mark.pipeline]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bi" / "superset"))

import bundle  # noqa: E402
import launcher  # noqa: E402

DOCS_SCREENSHOT = ROOT / "docs" / "superset-dashboard.png"
CHARTS_TIMEOUT_S = 300

# Runs in the dashboard page: every chart holder with its name, type, what it drew, and any error.
CHARTS_SCRIPT = """
(() => [...document.querySelectorAll('[data-test="chart-grid-component"]')].map(c => ({
  name: c.dataset.testChartName, viz: c.dataset.testVizType, text: c.innerText,
  loading: !!c.querySelector('.loading, [aria-label="Loading"], [data-test="loading-indicator"]')
           || /Waiting on|Loading/.test(c.innerText),
  error: [...c.querySelectorAll('.ant-alert-error, [data-test="alert-error"], .alert-danger, [role="alert"]')]
           .map(e => e.innerText).join(' | '),
  drawn: [...c.querySelectorAll('canvas, table, .header-line')].some(e => {
           const b = e.getBoundingClientRect(); return b.width > 20 && b.height > 10 && (e.tagName !== 'DIV'
             || e.innerText.trim() !== ''); }),
  number: (c.querySelector('.header-line') || {}).innerText || null,
  rows: [...c.querySelectorAll('tbody tr')].map(r => [...r.querySelectorAll('td')].map(td => td.innerText.trim())),
})))()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def superset(sample_published, tmp_path_factory):  # noqa: F811
    """`launcher.up --no-wait` with its own home and port; stopped (its process group) afterwards."""
    root = tmp_path_factory.mktemp("superset")
    published = root / "published"
    shutil.copytree(sample_published, published)
    port = free_port()
    saved = {k: os.environ.get(k) for k in ("CSAT_SUPERSET_HOME", "CSAT_SUPERSET_ADMIN_PASSWORD")}
    os.environ["CSAT_SUPERSET_HOME"] = str(root / "home")
    os.environ.pop("CSAT_SUPERSET_ADMIN_PASSWORD", None)
    started = time.monotonic()
    try:
        assert launcher.up(["--no-wait", "--port", str(port), "--published", str(published / DATABASE_FILE)]) == 0
        print(f"Superset up and dashboard imported in {time.monotonic() - started:.0f} s")
        home = launcher.ensure_home(root / "home", launcher.venv_dir())
        yield {"base": f"http://127.0.0.1:{port}", "port": port, "home": home, "published": published}
    finally:
        pid_file = root / "home" / "superset.pid"
        if pid_file.is_file():
            launcher.stop_pid(int(pid_file.read_text().split()[0]))
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def login(page: Browser, base: str, home: launcher.Home) -> None:
    """Logs the browser in from Superset's plain-text /health page, not from the login page.

    The login page's scripts send requests of their own. In one CI run the login POST reached
    /superset/welcome/, which sent it back to /login/: the session cookie was replaced, most likely
    by one of those requests answering after the login. From /health no other request is in flight.
    """
    page.goto(f"{base}/health")
    status = page.evaluate(
        f"""(async () => {{
          const form = await (await fetch('/login/', {{credentials: 'same-origin'}})).text();
          const token = new DOMParser().parseFromString(form, 'text/html').getElementById('csrf_token').value;
          const body = new URLSearchParams({{username: {json.dumps(home.admin_user)},
            password: {json.dumps(home.admin_password)}, csrf_token: token}});
          const r = await fetch('/login/', {{method: 'POST', body, credentials: 'same-origin'}});
          const me = await fetch('/api/v1/me/', {{credentials: 'same-origin'}});
          return r.url + ' /api/v1/me/: ' + me.status; }})()"""
    )
    assert status.endswith("/api/v1/me/: 200"), f"login refused: {status}"


def open_dashboard(page: Browser, base: str) -> list[dict]:
    """The dashboard's charts once every one has finished: drawn, or failed."""
    page.goto(f"{base}/superset/dashboard/{bundle.DASHBOARD_SLUG}/")
    deadline = time.monotonic() + CHARTS_TIMEOUT_S
    while True:
        charts = page.evaluate(CHARTS_SCRIPT) or []
        if "/login" in page.evaluate("location.pathname"):
            pytest.fail("the dashboard sent the browser to the login page: the session was not logged in")
        if charts and all(c["error"] or (c["drawn"] and not c["loading"]) for c in charts):
            time.sleep(1)  # let the last animation settle before reading numbers
            return page.evaluate(CHARTS_SCRIPT)
        if time.monotonic() > deadline:
            pending = [c["name"] for c in charts if not (c["drawn"] and not c["loading"])]
            pytest.fail(f"charts not drawn within {CHARTS_TIMEOUT_S} s: {pending} ({len(charts)} charts)")
        time.sleep(1)


def latest(database: Path) -> dict[str, tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select kpi, actual, target, status, unit, change_vs_previous_month, change_vs_same_month_last_year "
            "from marts.scorecard_latest"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def shown(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{value:,.{DECIMALS[unit]}f}"


def number_chart(charts: list[dict], label: str) -> dict:
    [chart] = [
        c
        for c in charts
        if c["viz"] == "big_number_total" and (c["name"] == label or c["name"].startswith(f"{label} ("))
    ]
    return chart


def test_dashboard_draws_every_chart_with_the_published_numbers(superset, tmp_path):
    with Browser(1400, 3900) as page:
        login(page, superset["base"], superset["home"])
        started = time.monotonic()
        charts = open_dashboard(page, superset["base"])
        print(f"{len(charts)} charts drawn in {time.monotonic() - started:.0f} s")
        png = page.screenshot(tmp_path / "superset-dashboard.png")
    errors = [(c["name"], c["error"]) for c in charts if c["error"]]
    assert not errors, f"charts failed: {errors}"
    kinds = [c["viz"] for c in charts]
    # 9 headline numbers, the headline table, 9 trends, 3 breakdowns, priorities, 2 queues
    assert kinds.count("big_number_total") == len(HEADLINE_KPIS) + 2
    assert kinds.count("echarts_timeseries_line") == len(HEADLINE_KPIS)
    assert kinds.count("pivot_table_v2") == 3 and kinds.count("table") == 2
    expected = latest(superset["published"] / DATABASE_FILE)
    headline_table = next(c for c in charts if c["name"].startswith("Headline KPIs: target"))
    table_rows = {r[0]: r for r in headline_table["rows"] if r}
    for h in HEADLINE_KPIS:
        actual, target, status, unit, month_change, year_change = expected[h.kpi]
        assert number_chart(charts, h.label)["number"] == shown(actual, unit), (h.kpi, actual)
        row = table_rows[h.label]
        # KPI, month, actual, target, variance, status, vs previous month, vs last year, sample size
        assert row[5] == status, (h.kpi, row)
        assert float(row[6].replace(",", "")) == pytest.approx(month_change, abs=0.005), (h.kpi, row)
        assert float(row[7].replace(",", "")) == pytest.approx(year_change, abs=0.005), (h.kpi, row)
    with duckdb.connect(str(superset["published"] / DATABASE_FILE), read_only=True) as con:
        at_risk = con.execute("select count(*) from marts.customer_risk where is_at_risk").fetchone()[0]
        open_followups = con.execute("select count(*) from marts.followup_queue where is_open").fetchone()[0]
    assert number_chart(charts, "Customers at risk")["number"].replace(",", "") == str(at_risk)
    assert number_chart(charts, "Follow-ups open")["number"].replace(",", "") == str(open_followups)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000
    if os.environ.get("CSAT_UPDATE_DOCS_SCREENSHOTS") == "1":
        shutil.copy(png, DOCS_SCREENSHOT)


def test_rerunning_the_launcher_after_a_new_publication_shows_the_new_numbers(superset, tmp_path):
    published = superset["published"]
    working = tmp_path / "working.duckdb"
    with connect(working) as con:  # the published marts as a working warehouse's (in its marts file)
        con.execute(f"attach '{published / DATABASE_FILE}' as old (read_only)")
        tables = con.execute(
            "select table_name from duckdb_tables() where database_name = 'old' and schema_name = 'marts'"
        )
        for (table,) in tables.fetchall():
            con.execute(f'create table marts."{table}" as select * from old.marts."{table}"')
        con.execute("detach old")
        con.execute("update marts.scorecard_latest set actual = actual + 10 where kpi = 'nps'")
    marts = [m for m in all_marts(working) if m != "publication"]
    publish_marts(working, published, marts=marts, run_id="superset-test-run-2")
    assert launcher.up(["--no-wait", "--published", str(published / DATABASE_FILE)]) == 0  # already running
    expected = latest(published / DATABASE_FILE)
    with Browser(1400, 3900) as page:
        login(page, superset["base"], superset["home"])
        charts = open_dashboard(page, superset["base"])
    nps = next(h for h in HEADLINE_KPIS if h.kpi == "nps")
    assert number_chart(charts, nps.label)["number"] == shown(expected["nps"][0], expected["nps"][3])


def sql_lab(client: launcher.Client, database_id: int, sql: str) -> tuple[bool, str]:
    """(ran, result or error) of a SQL Lab query, as a Superset user runs it."""
    body = {
        "database_id": database_id,
        "sql": sql,
        "runAsync": False,
        "schema": "marts",
        "tab": "test",
        "client_id": uuid.uuid4().hex[:10],
        "queryLimit": 100,
        "select_as_cta": False,
        "expand_data": True,
    }
    try:
        result = client.call("POST", "/api/v1/sqllab/execute/", body)
    except launcher.LauncherError as error:
        return False, str(error)
    return result.get("status") == "success", json.dumps(result.get("data"))[:2000]


def database_id(client: launcher.Client, name: str) -> int:
    [row] = [r for r in client.call("GET", "/api/v1/database/")["result"] if r["database_name"] == name]
    return row["id"]


@pytest.fixture(scope="module")
def admin(superset) -> launcher.Client:
    home = superset["home"]
    return launcher.Client(superset["base"], home.admin_user, home.admin_password)


def read_server_file_checks(client: launcher.Client, db_id: int, secret: Path) -> dict[str, bool]:
    """Which ways to reach the server through the connection work (True = a hole)."""
    return {
        "read_text": sql_lab(client, db_id, f"select content from read_text('{secret}')")[0],
        "read_csv": sql_lab(client, db_id, f"select * from read_csv('{secret}', header = false)")[0],
        "re-enable": sql_lab(client, db_id, "set enable_external_access = true")[0],
    }


def test_sql_lab_cannot_read_a_server_file_through_the_shipped_connection(superset, admin):
    db_id = database_id(admin, bundle.DATABASE_NAME)
    secret = superset["home"].path / "secret_key"  # Superset's own SECRET_KEY: what an attacker wants
    assert read_server_file_checks(admin, db_id, secret) == {"read_text": False, "read_csv": False, "re-enable": False}
    ran, data = sql_lab(admin, db_id, "select count(*) as n from marts.scorecard_latest")
    assert ran and '"n"' in data, f"the marts must stay readable: {data}"


def test_the_file_read_check_fails_on_an_unhardened_uri(superset, admin):
    """The same check on the URI without the hardening options finds the hole (so the test above can fail)."""
    database = superset["published"] / DATABASE_FILE
    unhardened = admin.call(
        "POST",
        "/api/v1/database/",
        {
            "database_name": "unhardened",
            "sqlalchemy_uri": f"duckdb:///{database}?access_mode=read_only",
            "expose_in_sqllab": True,
        },
    )
    secret = superset["home"].path / "secret_key"
    checks = read_server_file_checks(admin, unhardened["id"], secret)
    assert checks["read_text"] and checks["read_csv"], checks
    ran, data = sql_lab(admin, unhardened["id"], f"select content from read_text('{secret}')")
    assert ran and secret.read_text().strip() in data


def test_bundle_for_the_postgres_publication(sample_published):  # noqa: F811
    files = bundle.build_files(
        sample_published / DATABASE_FILE,
        postgres_url="postgresql+psycopg://bi:pw@127.0.0.1:5432/csat",
        postgres_schema="bi",
    )
    assert files["databases/csat_marts.yaml"]["sqlalchemy_uri"] == "postgresql+psycopg2://bi:pw@127.0.0.1:5432/csat"
    datasets = [v for k, v in files.items() if k.startswith("datasets/")]
    assert {d["schema"] for d in datasets} == {"bi"}
    assert all("marts." not in (d["sql"] or "") and "__schema__" not in (d["sql"] or "") for d in datasets)
    duck = bundle.build_files(sample_published / DATABASE_FILE)
    assert duck["databases/csat_marts.yaml"]["sqlalchemy_uri"].endswith(
        "?access_mode=read_only&enable_external_access=false&lock_configuration=true"
    )
    # fixed UUIDs: a re-import overwrites the same objects
    assert [v.get("uuid") for v in duck.values()] == [
        v.get("uuid") for v in bundle.build_files(sample_published / DATABASE_FILE).values()
    ]


def test_dashboard_on_the_postgres_publication(superset, postgres_url):
    """Last in this module: re-importing the bundle for PostgreSQL points the same dashboard there."""
    from dagster_project.publication.postgres import publish_to_postgres

    schema = f"superset_{uuid.uuid4().hex[:8]}"
    published = superset["published"] / DATABASE_FILE
    publish_to_postgres(published, postgres_url, schema=schema)
    url = launcher.import_dashboard(superset["home"], superset["port"], published, postgres_url, schema)
    assert url.endswith(f"/superset/dashboard/{bundle.DASHBOARD_SLUG}/")
    expected = latest(published)
    with Browser(1400, 3900) as page:
        login(page, superset["base"], superset["home"])
        charts = open_dashboard(page, superset["base"])
    errors = [(c["name"], c["error"]) for c in charts if c["error"]]
    assert not errors, f"charts failed on PostgreSQL: {errors}"
    for h in HEADLINE_KPIS:
        actual, unit = expected[h.kpi][0], expected[h.kpi][3]
        assert number_chart(charts, h.label)["number"] == shown(actual, unit), (h.kpi, actual)
