"""The scorecard as a person sees it: opened from the file in headless Chromium (Debian's `chromium`)
with every network request refused, read back from the rendered page, and photographed.

Checks: the headline KPI values, targets and statuses shown are the published marts' values; every
chart drew something (its plotted marks have a size in the browser's layout) and none failed;
Chinese text in the data reaches the page; the page works with and without the optional analytics
marts. The screenshots are kept in the test's tmp folder (`scorecard.png`).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from working_files import copy_working

from dagster_project.assets.reporting import scorecard
from dagster_project.ingestion.warehouse import connect
from dagster_project.publication.published_copy import DATABASE_FILE, publish_marts
from dagster_project.resources import PublishedWarehouseResource, ReportsResource
from dagster_project.scorecard import HEADLINE_KPI_NAMES, write_scorecard

import kpi_reference as ref

pytestmark = [pytest.mark.browser, pytest.mark.pipeline]

CHROMIUM_HINT = (
    "headless Chromium is needed for the browser tests: install Debian's package (`apt-get install -y chromium`; "
    "scripts/run_tests.sh does it when run as root) or set CSAT_CHROMIUM to the browser binary"
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Offline: every host name resolves to nothing, so a page that needs the network shows it.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
# Independent of dagster_project.scorecard.formatting: decimals a person reads per unit.
DECIMALS = {"pct": 1, "nps_points": 1, "score_1_7": 2, "index_0_100": 1, "per_1000_orders": 1, "hours": 1, "count": 0}
STATUS_WORD = {"green": "Green", "amber": "Amber", "red": "Red", "no_data": "No data"}

# Runs inside the page after it is laid out: what is shown, and the drawn size of every chart's marks.
CHECK_SCRIPT = """
<script>
(function () {
  const out = {charts: [], cards: {}, errors: [], queues: {}, text: document.body.innerText};
  document.querySelectorAll('.chart-error').forEach(e => out.errors.push(e.innerText));
  document.querySelectorAll('svg.chart').forEach(svg => {
    const marks = [...svg.querySelectorAll('.series')];
    const drawn = marks.filter(m => { const b = m.getBBox(); return b.width + b.height > 0; });
    const box = svg.getBoundingClientRect();
    const title = svg.querySelector('.chart-title');
    out.charts.push({id: svg.dataset.chart, cls: svg.getAttribute('class'), marks: marks.length,
      drawn: drawn.length, width: box.width, height: box.height, title: title ? title.textContent : '',
      axisTitles: svg.querySelectorAll('.axis-title').length, targets: svg.querySelectorAll('.target-line').length});
  });
  document.querySelectorAll('section.card').forEach(card => {
    const pick = sel => { const e = card.querySelector(sel); return e ? e.innerText.trim() : null; };
    out.cards[card.dataset.kpi] = {label: pick('h3 span'), value: pick('.kpi-value'), target: pick('.kpi-target'),
      variance: pick('.kpi-variance'), status: pick('.badge'), month: pick('.kpi-change-month'),
      year: pick('.kpi-change-year')};
  });
  document.querySelectorAll('.queue').forEach(q => { out.queues[q.dataset.queue] = q.innerText; });
  const pre = document.createElement('pre');
  pre.id = 'scorecard-check';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def chromium_binary() -> str:
    for candidate in (os.environ.get("CSAT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    pytest.fail(CHROMIUM_HINT)


def run_chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Chromium with a fresh profile (deleted afterwards)."""
    with tempfile.TemporaryDirectory(prefix="csat-chromium-") as profile:
        done = subprocess.run(
            [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    return done


def screenshot(page: Path | str, png: Path, *, width: int = 1280, height: int = 1500) -> Path:
    url = page if isinstance(page, str) else page.resolve().as_uri()
    done = run_chromium(f"--window-size={width},{height}", f"--screenshot={png}", url)
    assert png.is_file() and png.stat().st_size > 10_000, f"no screenshot of {url}: {done.stderr[-2000:]}"
    return png


def dump_dom(url: str, *extra: str) -> str:
    done = run_chromium("--virtual-time-budget=5000", *extra, "--dump-dom", url)
    assert done.returncode == 0 and "<html" in done.stdout, f"Chromium could not open {url}: {done.stderr[-2000:]}"
    return done.stdout


def read_page(page: Path, tmp_path: Path) -> dict:
    """Open a copy of the page (with CHECK_SCRIPT appended) in Chromium; what the browser shows."""
    probe = tmp_path / f"probe-{page.name}"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    dom = dump_dom(probe.as_uri())
    match = re.search(r'<pre id="scorecard-check">(.*?)</pre>', dom, re.S)
    assert match, "the check script did not run in the page"
    return json.loads(html.unescape(match.group(1)))


def shown(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{DECIMALS[unit]}f}"


def all_marts(warehouse: Path) -> list[str]:
    """The marts of a working warehouse (in its marts file) or of a published copy."""
    with connect(warehouse, read_only=True) as con:
        return [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]


@pytest.fixture(scope="module")
def sample_published(tmp_path_factory) -> Path:
    """The sample warehouse (built once per session) published with every mart it has."""
    sample = ref.sample_warehouse(tmp_path_factory)
    assert sample.dbt.success, "dbt build failed:\n" + "\n".join(sample.dbt.failures)
    root = tmp_path_factory.mktemp("scorecard")
    # A copy: this process may hold the session's warehouse open (in-process dbt), and DuckDB refuses a
    # second connection to one file with another configuration (read-only) in the same process.
    working = root / "working.duckdb"
    copy_working(sample.warehouse_path, working)
    out = root / "published"
    publish_marts(working, out, marts=all_marts(working), run_id="scorecard-test-run")
    return out


@pytest.fixture(scope="module")
def sample_page(sample_published, tmp_path_factory) -> tuple[Path, dg.ExecuteInProcessResult]:
    """The scorecard asset materialized from the published copy."""
    reports = tmp_path_factory.mktemp("reports")
    result = dg.materialize(
        [scorecard],
        resources={
            "published": PublishedWarehouseResource(path=str(sample_published)),
            "reports": ReportsResource(path=str(reports)),
        },
    )
    assert result.success
    return reports / "scorecard.html", result


def expected_month(database: Path) -> date:
    """The latest complete month at publication time, computed independently from the marts."""
    with duckdb.connect(str(database), read_only=True) as con:
        published_at = con.execute("select max(published_at) from marts.publication").fetchone()[0]
        first_of_month = date(published_at.year, published_at.month, 1)
        return con.execute(
            "select max(month_start_date) from marts.scorecard_monthly where month_start_date < ?", [first_of_month]
        ).fetchone()[0]


def headline_rows(database: Path, month: date) -> dict[str, tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select kpi, actual, target, status, unit from marts.scorecard_monthly where month_start_date = ?", [month]
        ).fetchall()
    return {r[0]: r[1:] for r in rows if r[0] in HEADLINE_KPI_NAMES}


def test_scorecard_asset_reports_the_page(sample_page):
    page, result = sample_page
    assert page.is_file()
    [materialization] = result.asset_materializations_for_node("scorecard")
    metadata = materialization.metadata
    assert metadata["scorecard_path"].value == str(page.resolve())
    assert metadata["chart_errors"].value == 0
    assert metadata["charts"].value >= len(HEADLINE_KPI_NAMES)
    assert "| NPS |" in metadata["headline_kpis"].value


def test_page_is_self_contained(sample_page):
    text = sample_page[0].read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in text
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+[^\s\"'<>)]*", text)) - {"http://www.w3.org/2000/svg"}
    assert not urls, f"the scorecard must not reference anything on the network: {sorted(urls)[:5]}"
    assert not re.search(r"<(script|link|img|iframe)\b", text), "no scripts, stylesheets or images to fetch"


def test_headline_kpis_shown_equal_the_published_marts(sample_published, sample_page, tmp_path):
    page, _ = sample_page
    shown_page = read_page(page, tmp_path)
    database = sample_published / DATABASE_FILE
    month = expected_month(database)
    assert month is not None
    assert f"{month:%B %Y}" in shown_page["text"]
    rows = headline_rows(database, month)
    assert set(rows) == set(HEADLINE_KPI_NAMES), "every headline KPI is in scorecard_monthly"
    for kpi, (actual, target, status, unit) in rows.items():
        card = shown_page["cards"][kpi]
        assert card["value"] == shown(actual, unit), (kpi, card, actual)
        assert card["target"].startswith(shown(target, unit)), (kpi, card, target)
        assert card["status"].startswith(STATUS_WORD[status]), (kpi, card, status)
        assert card["month"] and card["year"] and card["variance"], (kpi, card)
    assert not any(c["value"] == "n/a" for c in shown_page["cards"].values()), "sample data has every KPI"


def test_changes_against_previous_month_and_last_year(sample_published, sample_page, tmp_path):
    shown_page = read_page(sample_page[0], tmp_path)
    database = sample_published / DATABASE_FILE
    month = expected_month(database)
    previous = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    last_year = date(month.year - 1, month.month, 1)
    with duckdb.connect(str(database), read_only=True) as con:
        values = dict(
            ((r[0], r[1]), r[2])
            for r in con.execute(
                "select month_start_date, kpi, actual from marts.scorecard_monthly where month_start_date in (?, ?, ?)",
                [month, previous, last_year],
            ).fetchall()
        )
    units = {k: v[3] for k, v in headline_rows(database, month).items()}
    for kpi in HEADLINE_KPI_NAMES:
        card = shown_page["cards"][kpi]
        for other, text in ((previous, card["month"]), (last_year, card["year"])):
            now, then = values.get((month, kpi)), values.get((other, kpi))
            if now is None or then is None:
                assert text == "n/a"
                continue
            change = now - then
            number = re.search(r"[+-]?[\d,]+\.?\d*", text.replace("±", "+")).group(0)
            assert abs(float(number.replace(",", "")) - change) <= 0.5 * 10 ** -DECIMALS[units[kpi]] + 1e-9, (
                kpi,
                text,
                change,
            )


def test_every_chart_rendered(sample_page, tmp_path):
    shown_page = read_page(sample_page[0], tmp_path)
    assert shown_page["errors"] == []
    trends = [c for c in shown_page["charts"] if c["id"].startswith("trend-")]
    assert {c["id"] for c in trends} == {f"trend-{k}" for k in HEADLINE_KPI_NAMES}
    for chart in shown_page["charts"]:
        assert "chart-empty" not in chart["cls"], chart
        assert chart["width"] > 200 and chart["height"] > 80, chart
        assert chart["marks"] > 0 and chart["drawn"] == chart["marks"], f"marks not drawn: {chart}"
        assert chart["title"] and chart["axisTitles"] >= 1 and chart["targets"] >= 1, chart
    for trend in trends:
        assert trend["marks"] > 12, "24-month trends show most months"
    assert {c["id"].split("-")[1] for c in shown_page["charts"] if c["id"].startswith("breakdown-")} == {
        "segment",
        "region",
        "channel",
    }


def test_analytics_sections_show_when_published(sample_published, sample_page, tmp_path):
    text = read_page(sample_page[0], tmp_path)["text"]
    marts = set(all_marts(sample_published / DATABASE_FILE))
    with duckdb.connect(str(sample_published / DATABASE_FILE), read_only=True) as con:
        if "customer_risk" in marts:
            at_risk = con.execute("select count(*) from marts.customer_risk where is_at_risk").fetchone()[0]
            assert f"Customers at risk\n{at_risk:,}" in text
        if "followup_queue" in marts:
            open_followups = con.execute("select count(*) from marts.followup_queue where is_open").fetchone()[0]
            assert f"Follow-ups open\n{open_followups:,}" in text
    if "driver_importance_quarterly" in marts:
        assert "Top improvement priorities" in text and "not published" not in text


def test_screenshot(sample_page, tmp_path):
    png = screenshot(sample_page[0], tmp_path / "scorecard.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_analytics_marts_and_with_chinese_text(sample_published, tmp_path):
    """Only the KPI marts published (the analytics marts are optional), and slice values in Chinese."""
    source = tmp_path / "working.duckdb"
    with connect(source) as con:
        con.execute(f"attach '{sample_published / DATABASE_FILE}' as pub (read_only)")
        con.execute("create schema if not exists marts")
        con.execute("create table marts.scorecard_monthly as select * from pub.marts.scorecard_monthly")
        con.execute(
            "create table marts.scorecard_breakdown_monthly as select * replace ("
            " case slice_value when 'east' then '华东' when 'north' then '华北' when 'vip' then '会员 VIP'"
            " else slice_value end as slice_value)"
            " from pub.marts.scorecard_breakdown_monthly"
        )
    out = tmp_path / "published"
    publish_marts(source, out, marts=["scorecard_monthly", "scorecard_breakdown_monthly"], run_id="minimal-run")
    result = write_scorecard(out / DATABASE_FILE, tmp_path / "reports" / "scorecard.html")
    assert result.chart_errors == 0
    shown_page = read_page(result.path, tmp_path)
    for word in ("华东", "华北", "会员 VIP"):
        assert word in shown_page["text"], word
    assert "driver_importance_quarterly) is not published yet" in shown_page["text"]
    assert "customer_risk is not published yet" in shown_page["text"]
    assert "followup_queue is not published yet" in shown_page["text"]
    assert shown_page["errors"] == []
    screenshot(result.path, tmp_path / "scorecard-zh.png", height=900)


def test_month_in_progress_is_not_the_scorecard_month(sample_published, tmp_path):
    """Published in the middle of a month: that month is partial, the scorecard shows the one before."""
    database = sample_published / DATABASE_FILE
    with duckdb.connect(str(database), read_only=True) as con:
        last = con.execute("select max(month_start_date) from marts.scorecard_monthly").fetchone()[0]
    result = write_scorecard(database, tmp_path / "s.html", as_of=datetime(last.year, last.month, 15))
    assert result.data.month == date(last.year - (last.month == 1), (last.month - 2) % 12 + 1, 1)
    assert result.data.is_month_complete
