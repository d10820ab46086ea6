"""The scorecard as one self-contained HTML page (inline CSS and SVG; no script, font or image is
fetched, so it opens offline from a file, an e-mail attachment or a shared folder)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from dagster_project.scorecard.charts import RAG_COLOURS, bar_chart, empty_chart, line_chart
from dagster_project.scorecard.data import (
    BREAKDOWN_DIMENSIONS,
    HEADLINE_KPIS,
    TREND_MONTHS,
    KpiMonth,
    ScorecardData,
    add_months,
    month_span,
)
from dagster_project.scorecard.formatting import (
    format_change,
    format_number,
    format_value,
    month_label,
    short_month,
    unit_style,
)

STATUS_TEXT = {
    "green": "Green · target met",
    "amber": "Amber · within tolerance",
    "red": "Red · off target",
    "no_data": "No data",
    "insufficient_sample": "Insufficient sample",
}
# Font stack: Latin first, then CJK faces (Noto Sans CJK from Debian's fonts-noto-cjk, then the
# usual Windows/macOS faces), so Chinese text in the data renders wherever the page is opened.
FONT_STACK = (
    '"Noto Sans", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Microsoft YaHei", "Hiragino Sans GB", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif'
)
CSS = """
* { box-sizing: border-box; }
body { font-family: FONTS; margin: 0; color: #1d232b; background: #f4f6f8; }
header { background: #14324f; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 2px 0; color: #d5e1ec; font-size: 13px; }
main { padding: 20px 32px 40px; max-width: 1280px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
.summary { font-size: 14px; margin: 4px 0 12px; }
.cards { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 14px; }
.card { background: #fff; border-radius: 8px; padding: 14px 16px; border-left: 6px solid #8a8f98;
        box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.card.status-green { border-left-color: GREEN; } .card.status-amber { border-left-color: AMBER; }
.card.status-red { border-left-color: RED; }
.card h3 { margin: 0; font-size: 15px; display: flex; justify-content: space-between; align-items: baseline; }
.card .kpi-desc { color: #5b6470; font-size: 12px; margin: 2px 0 6px; }
.kpi-value { font-size: 30px; font-weight: 700; display: inline-block; }
.kpi-suffix { font-size: 15px; color: #5b6470; margin-left: 2px; }
.badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         color: #fff; background: #8a8f98; white-space: nowrap; }
.badge.status-green { background: GREEN; } .badge.status-amber { background: AMBER; }
.badge.status-red { background: RED; }
.card table { width: 100%; font-size: 12.5px; border-collapse: collapse; margin-top: 6px; }
.card td { padding: 2px 0; } .card td.num { text-align: right; font-variant-numeric: tabular-nums; }
.good { color: GREEN; } .bad { color: RED; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 14px; }
.chart-box { background: #fff; border-radius: 8px; padding: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.chart-box svg { width: 100%; height: auto; display: block; font-family: FONTS; }
.breakdown { background: #fff; border-radius: 8px; padding: 12px 16px; margin-bottom: 14px;
             box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.breakdown-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; align-items: start; }
table.data { border-collapse: collapse; font-size: 12.5px; width: 100%; }
table.data th, table.data td { padding: 4px 6px; border-bottom: 1px solid #e3e6ea; text-align: right; }
table.data th:first-child, table.data td:first-child { text-align: left; }
table.data td.cell-green { background: #e6f4ea; } table.data td.cell-amber { background: #fdf3dc; }
table.data td.cell-red { background: #fbe4e4; }
table.priorities { max-width: 820px; }
table.priorities th:nth-child(-n+3), table.priorities td:nth-child(-n+3) { text-align: left; }
.note { color: #5b6470; font-size: 13px; }
.queues { display: flex; gap: 14px; flex-wrap: wrap; }
.queue { background: #fff; border-radius: 8px; padding: 12px 16px; min-width: 260px;
         box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.queue .queue-size { font-size: 28px; font-weight: 700; }
footer { color: #5b6470; font-size: 12px; padding: 0 32px 24px; }
@media print { body { background: #fff; }
  .card, .chart-box, .breakdown, .queue { box-shadow: none; border: 1px solid #ccc; } }
"""


def _css() -> str:
    return (
        CSS.replace("FONTS", FONT_STACK)
        .replace("GREEN", RAG_COLOURS["green"])
        .replace("AMBER", RAG_COLOURS["amber"])
        .replace("RED", RAG_COLOURS["red"])
    )


def _is_better(change: float | None, direction: str | None) -> bool | None:
    if change is None or change == 0 or direction is None:
        return None
    return (change > 0) == (direction == "higher_is_better")


def _change_cell(change: float | None, row: KpiMonth, label: str, css: str) -> str:
    better = _is_better(change, row.direction)
    klass = {True: "good", False: "bad", None: ""}[better]
    arrow = "" if change is None or change == 0 else ("▲ " if change > 0 else "▼ ")
    return (
        f'<tr><td>{escape(label)}</td><td class="num {css} {klass}" data-change="{"" if change is None else change}">'
        f"{arrow}{escape(format_change(change, row.unit))}</td></tr>"
    )


def _card(data: ScorecardData, kpi: str, label: str, description: str) -> str:
    row = data.current(kpi)
    if row is None:
        return (
            f'<section class="card" data-kpi="{kpi}"><h3>{escape(label)}</h3>'
            f'<p class="note">{escape(kpi)} is not in scorecard_monthly for {month_label(data.month)}.</p></section>'
        )
    style = unit_style(row.unit)
    status = row.status if row.status in STATUS_TEXT else "no_data"
    sample = (
        "" if row.sample_size is None else f'<tr><td>Sample size</td><td class="num">n = {row.sample_size:,}</td></tr>'
    )
    if status == "insufficient_sample" and row.min_sample_size is not None:
        sample += f'<tr><td>Minimum sample</td><td class="num kpi-min-sample">n = {row.min_sample_size:,}</td></tr>'
    if row.actual is None and row.null_reason:
        # why there is no number: an input the deployment does not deliver, or an empty month
        sample += f'<tr><td colspan="2" class="kpi-null-reason">{escape(row.null_reason)}</td></tr>'

    return (
        f'<section class="card status-{status}" data-kpi="{kpi}">'
        f'<h3><span>{escape(label)}</span><span class="badge status-{status}" data-status="{status}">'
        f"{escape(STATUS_TEXT[status])}</span></h3>"
        f'<div class="kpi-desc">{escape(description)}</div>'
        f'<span class="kpi-value" data-kpi="{kpi}" data-actual="{"" if row.actual is None else row.actual}">'
        f"{escape(format_number(row.actual, row.unit))}</span>"
        f'<span class="kpi-suffix">{escape(style.suffix.strip()) if row.actual is not None else ""}</span>'
        "<table>"
        f'<tr><td>Target</td><td class="num kpi-target" data-target="{"" if row.target is None else row.target}">'
        f"{escape(format_value(row.target, row.unit))}</td></tr>"
        f'<tr><td>Variance (actual - target)</td><td class="num kpi-variance" '
        f'data-variance="{"" if row.variance is None else row.variance}">'
        f"{escape(format_change(row.variance, row.unit))}</td></tr>"
        + _change_cell(
            row.change_vs_previous_month,
            row,
            f"vs {short_month(add_months(data.month, -1))} (previous month)",
            "kpi-change-month",
        )
        + _change_cell(
            row.change_vs_same_month_last_year,
            row,
            f"vs {short_month(add_months(data.month, -12))} (same month last year)",
            "kpi-change-year",
        )
        + sample
        + "</table></section>"
    )


def _safe_chart(build: Callable[[], str], title: str, chart_id: str) -> str:
    """A chart that fails to draw must show up as an error on the page, not take the page down."""
    try:
        return build()
    except Exception as error:  # noqa: BLE001 - reported on the page (class chart-error) and by the asset
        return (
            f'<div class="chart-error" role="alert" data-chart="{escape(chart_id)}">Chart "{escape(title)}" '
            f"could not be drawn: {escape(type(error).__name__)}: {escape(str(error))}</div>"
        )


def _trend(data: ScorecardData, kpi: str, label: str) -> str:
    months = month_span(data.month, TREND_MONTHS)
    rows = {r.month: r for r in data.history.get(kpi, [])}
    unit = next((r.unit for r in data.history.get(kpi, []) if r.unit), None)
    title = f"{label}: last {TREND_MONTHS} months"
    chart_id = f"trend-{kpi}"

    def build() -> str:
        if not rows:
            return empty_chart(title, "Not in scorecard_monthly", chart_id=chart_id)
        return line_chart(
            chart_id=chart_id,
            title=title,
            months=months,
            actual=[rows[m].actual if m in rows else None for m in months],
            target=[rows[m].target if m in rows else None for m in months],
            unit=unit,
            y_title=unit_style(unit).axis,
        )

    return f'<div class="chart-box">{_safe_chart(build, title, chart_id)}</div>'


def _breakdown(data: ScorecardData, dimension: str) -> str:
    slices = [s for s in data.slices if s.dimension == dimension]
    kpis = [h for h in HEADLINE_KPIS if any(s.kpi == h.kpi for s in slices)]
    title = f"By {dimension}"
    if not kpis:
        return (
            f'<section class="breakdown" data-dimension="{dimension}"><h3>{title}</h3><p class="note">No KPI is '
            f"sliced by {dimension} in {month_label(data.month)}.</p></section>"
        )
    values = sorted({s.value for s in slices}, key=lambda v: (v == "unknown", v))
    lookup = {(s.value, s.kpi): s for s in slices}
    head = "".join(f"<th>{escape(h.label)}</th>" for h in kpis)
    body = []
    for value in values:
        cells = []
        for h in kpis:
            s = lookup.get((value, h.kpi))
            row = data.current(h.kpi)
            if s is None or row is None:
                cells.append('<td class="cell-none">–</td>')
                continue
            status = s.status  # scored in the mart scorecard_breakdown_monthly
            n = "" if s.sample_size is None else f" (n = {s.sample_size:,})"
            cells.append(
                f'<td class="cell-{status}" data-kpi="{h.kpi}" data-value="{"" if s.actual is None else s.actual}" '
                f'title="{escape(h.label)} · {escape(value)}{n}">{escape(_table_value(s.actual, row.unit))}</td>'
            )
        body.append(f"<tr><td>{escape(value)}</td>{''.join(cells)}</tr>")
    table = (
        f'<table class="data"><thead><tr><th>{escape(dimension)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    # the bar chart shows the first headline KPI sliced by this dimension (NPS/CSI for survey slices)
    chart_kpi = next((h for h in kpis if h.kpi in ("nps", "csi")), kpis[0])
    row = data.current(chart_kpi.kpi)
    chart_title = f"{chart_kpi.label} by {dimension}, {short_month(data.month)}"
    chart_id = f"breakdown-{dimension}-{chart_kpi.kpi}"
    chart_slices = [lookup.get((v, chart_kpi.kpi)) for v in values]
    chart_values = [s.actual if s else None for s in chart_slices]
    chart_statuses = [s.status if s else "no_data" for s in chart_slices]

    def build() -> str:
        return bar_chart(
            chart_id=chart_id,
            title=chart_title,
            labels=values,
            values=chart_values,
            statuses=chart_statuses,
            target=row.target,
            unit=row.unit,
            x_title=unit_style(row.unit).axis,
        )

    return (
        f'<section class="breakdown" data-dimension="{dimension}"><h3>{escape(title)}</h3>'
        f'<div class="breakdown-grid"><div>{table}<p class="note">Cells are coloured against the all-customer '
        f"target of the month (green met, amber within tolerance, red off target).</p></div>"
        f'<div class="chart-box">{_safe_chart(build, chart_title, chart_id)}</div></div></section>'
    )


def _table_value(value: float | None, unit: str | None) -> str:
    """A breakdown cell: the value with `%`, `h` or `‰`, without the `/ 100`-style scale suffixes."""
    suffix = unit_style(unit).suffix
    return format_number(value, unit) + ("" if value is None or suffix.startswith(" /") else suffix)


def _driver_label(p) -> str:
    """An item driver by its code and statement (`REL3 · The company performs the service right ...`)."""
    if p.item_text:
        return f"{p.driver} · {p.item_text}"
    return p.driver.replace("_", " ")


def _priorities(data: ScorecardData) -> str:
    if data.priorities is None:
        return (
            '<p class="note" data-section="priorities-missing">The key-driver mart (driver_importance_quarterly) '
            "is not published yet.</p>"
        )
    if not data.priorities and data.priorities_note:
        # the analysis could not run: say why instead of an empty or zero table
        return (
            '<p class="note" data-section="priorities-not-run">The key-driver analysis could not run: '
            f"{escape(data.priorities_note)}.</p>"
        )
    if not data.priorities:
        quarter = f" in the quarter starting {data.priorities_quarter:%Y-%m-%d}" if data.priorities_quarter else ""
        return (
            '<p class="note" data-section="priorities-none">No driver is in the priority quadrant '
            f"(high importance, low performance){quarter}.</p>"
        )
    rows = "".join(
        f'<tr data-driver="{escape(p.driver)}"><td>{i}</td><td>{escape(_driver_label(p))}</td>'
        f"<td>{escape(p.outcome.upper())}</td><td>{'' if p.importance is None else f'{p.importance:,.3f}'}</td>"
        f"<td>{'' if p.performance_index is None else f'{p.performance_index:,.1f}'}</td>"
        f"<td>{'' if p.sample_size is None else f'{p.sample_size:,}'}</td></tr>"
        for i, p in enumerate(data.priorities, start=1)
    )
    return (
        '<div class="breakdown">'
        f'<p class="note">Drivers with high importance and low performance, all customers, quarter starting '
        f"{data.priorities_quarter:%Y-%m-%d} (mart driver_importance_quarterly).</p>"
        '<table class="data priorities" data-section="priorities"><thead><tr><th>#</th><th>Driver</th><th>Outcome</th>'
        "<th>Importance</th><th>Performance (0-100)</th><th>Responses</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def _queues(data: ScorecardData) -> str:
    boxes = []
    for mart, sizes in data.queues.items():
        if sizes is None:
            boxes.append(
                f'<div class="queue" data-queue="{mart}" data-missing="true"><div class="note">{escape(mart)} '
                "is not published yet.</div></div>"
            )
            continue
        parts = ", ".join(f"{k}: {v:,}" for k, v in sizes.parts.items())
        boxes.append(
            f'<div class="queue" data-queue="{mart}"><div>{escape(sizes.label)}</div>'
            f'<div class="queue-size" data-size="{sizes.total}">{sizes.total:,}</div>'
            f'<div class="note">{escape(parts)}{" · " if parts else ""}mart {escape(mart)}</div></div>'
        )
    return f'<div class="queues">{"".join(boxes)}</div>'


def render_scorecard(data: ScorecardData, *, generated_at: datetime | None = None) -> str:
    generated_at = generated_at or datetime.now(UTC).replace(tzinfo=None)
    statuses = [data.current(h.kpi).status for h in HEADLINE_KPIS if data.current(h.kpi) is not None]
    summary = ", ".join(
        f"{statuses.count(s)} {STATUS_TEXT[s].split(' · ')[0].lower()}"
        for s in ("green", "amber", "red", "no_data")
        if statuses.count(s)
    )
    completeness = "latest complete month" if data.is_month_complete else "month in progress: figures are partial"
    published = (
        f"Published {data.published_at:%Y-%m-%d %H:%M} UTC by Dagster run {escape(str(data.run_id))}"
        if data.published_at
        else "Publication time unknown"
    )
    # The file name only: the page is shared beyond the server, where its path means nothing to a
    # reader and would show the host's layout.
    source = Path(data.database_path).name
    cards = "".join(_card(data, h.kpi, h.label, h.description) for h in HEADLINE_KPIS)
    trends = "".join(_trend(data, h.kpi, h.label) for h in HEADLINE_KPIS)
    breakdowns = "".join(_breakdown(data, d) for d in BREAKDOWN_DIMENSIONS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customer satisfaction scorecard · {escape(month_label(data.month))}</title>
<style>{_css()}</style>
</head>
<body data-month="{data.month:%Y-%m-%d}">
<header>
<h1>Customer satisfaction scorecard</h1>
<p class="scorecard-month"><strong>{escape(month_label(data.month))}</strong> ({escape(completeness)})</p>
<p>{published} · source: {escape(source)}</p>
</header>
<main>
<h2>Headline KPIs</h2>
<p class="summary">{escape(summary)} of {len(statuses)} headline KPIs.</p>
<div class="cards">{cards}</div>
<h2>Trends</h2>
<p class="note">Monthly all-customer values (line) against the target (dashed), last {TREND_MONTHS} months.</p>
<div class="charts">{trends}</div>
<h2>Breakdowns, {escape(month_label(data.month))}</h2>
{breakdowns}
<h2>Top improvement priorities</h2>
{_priorities(data)}
<h2>Operational queues</h2>
{_queues(data)}
</main>
<footer>Generated {generated_at:%Y-%m-%d %H:%M} UTC from the published marts scorecard_monthly and kpi_monthly.
KPI definitions: docs/KPIS.md; status rules: green = target met, amber = missed by no more than the KPI's
tolerance, red = missed by more.</footer>
</body>
</html>
"""
