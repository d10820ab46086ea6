"""Plain inline SVG charts generated in Python: no JavaScript, no fonts or files fetched.

Every chart is an `<svg class="chart">` with a title, axis titles with units, tick labels and a
legend; the plotted data carry the class `series` (tests and people look for them). A chart with
nothing to plot says so in words (`chart-empty`) instead of drawing empty axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from html import escape

from dagster_project.scorecard.formatting import format_number, short_month

ACTUAL_COLOUR = "#1f5fa8"
TARGET_COLOUR = "#c2410c"
GRID_COLOUR = "#e3e6ea"
AXIS_COLOUR = "#5b6470"
RAG_COLOURS = {"green": "#2e7d32", "amber": "#b7791f", "red": "#c62828", "no_data": "#8a8f98"}


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _runs(values: Sequence[float | None], points) -> list[list[tuple[float, float]]]:
    """The points of each run of consecutive non-missing values; `points(i, value)` gives a value's points."""
    runs: list[list[tuple[float, float]]] = []
    run: list[tuple[float, float]] = []
    for i, value in enumerate(values):
        if value is None:
            if run:
                runs.append(run)
            run = []
        else:
            run += points(i, value)
    if run:
        runs.append(run)
    return runs


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _tick_text(value: float, ticks: Sequence[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = 0
    while decimals < 4 and abs(round(step, decimals) - step) > 1e-9:
        decimals += 1
    return f"{value:,.{decimals}f}"


def empty_chart(title: str, message: str, *, chart_id: str, width: int = 560, height: int = 120) -> str:
    return (
        f'<svg class="chart chart-empty" data-chart="{_attr(chart_id)}" data-points="0" role="img" '
        f'aria-label="{_attr(title)}: {_attr(message)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<text class="chart-title" x="8" y="20" font-size="14" font-weight="600">{escape(title)}</text>'
        f'<text class="series empty-message" x="{width / 2}" y="{height / 2 + 10}" text-anchor="middle" '
        f'font-size="13" fill="{AXIS_COLOUR}">{escape(message)}</text></svg>'
    )


def line_chart(
    *,
    chart_id: str,
    title: str,
    months: Sequence[date],
    actual: Sequence[float | None],
    target: Sequence[float | None],
    unit: str | None,
    y_title: str,
    width: int = 560,
    height: int = 270,
) -> str:
    """A monthly trend: the actual as a line with points (gaps where NULL), the target as a dashed
    step line, y axis with round ticks and the unit, x axis with month labels."""
    points = [v for v in actual if v is not None]
    if not points:
        return empty_chart(title, "No data in these months", chart_id=chart_id, width=width)
    values = points + [t for t in target if t is not None]
    ticks = nice_ticks(min(values), max(values))
    y_low, y_high = ticks[0], ticks[-1]
    left, right, top, bottom = 64, 16, 40, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(months)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - y_low) / (y_high - y_low))

    parts = [
        f'<svg class="chart chart-trend" data-chart="{_attr(chart_id)}" data-points="{len(points)}" role="img" '
        f'aria-label="{_attr(title)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="8" y="20" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    # grid and y axis
    for t in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="{GRID_COLOUR}"/>'
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11" fill="{AXIS_COLOUR}">'
            f"{escape(_tick_text(t, ticks))}</text>"
        )
    parts.append(
        f'<text class="axis-title" transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" font-size="11" fill="{AXIS_COLOUR}">{escape(y_title)}</text>'
    )
    # x axis: a label every third month and always the last one
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{AXIS_COLOUR}"/>'
    )
    for i, m in enumerate(months):
        if (n - 1 - i) % 3 == 0:
            parts.append(
                f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
                f'stroke="{AXIS_COLOUR}"/><text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'font-size="10.5" fill="{AXIS_COLOUR}">{escape(short_month(m))}</text>'
            )
    parts.append(
        f'<text class="axis-title" x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" '
        f'font-size="11" fill="{AXIS_COLOUR}">Month (UTC)</text>'
    )
    # target: dashed steps across each month's width
    for seg in _runs(target, lambda i, t: [(left + plot_w * i / n, y(t)), (left + plot_w * (i + 1) / n, y(t))]):
        d = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in seg)
        parts.append(
            f'<path class="target-line" d="{d}" fill="none" stroke="{TARGET_COLOUR}" stroke-width="1.6" '
            'stroke-dasharray="6 4"/>'
        )
    # actual: line segments between consecutive non-null months, a dot per month with data
    for r in _runs(actual, lambda i, v: [(x(i), y(v))]):
        d = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in r)
        parts.append(
            f'<path class="series series-actual" d="{d}" fill="none" stroke="{ACTUAL_COLOUR}" stroke-width="2.2"/>'
        )
    for i, v in enumerate(actual):
        if v is not None:
            last = i == max(j for j, w in enumerate(actual) if w is not None)
            parts.append(
                f'<circle class="series point" cx="{x(i):.1f}" cy="{y(v):.1f}" r="{4 if last else 2.6}" '
                f'fill="{ACTUAL_COLOUR}"><title>{escape(short_month(months[i]))}: '
                f"{escape(format_number(v, unit))}</title></circle>"
            )
    # legend
    lx = width - right - 170
    parts.append(
        f'<g class="legend" font-size="11" fill="{AXIS_COLOUR}">'
        f'<line x1="{lx}" x2="{lx + 22}" y1="16" y2="16" stroke="{ACTUAL_COLOUR}" stroke-width="2.2"/>'
        f'<text x="{lx + 27}" y="20">Actual</text>'
        f'<line x1="{lx + 80}" x2="{lx + 102}" y1="16" y2="16" stroke="{TARGET_COLOUR}" stroke-width="1.6" '
        f'stroke-dasharray="6 4"/><text x="{lx + 107}" y="20">Target</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    *,
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    statuses: Sequence[str],
    target: float | None,
    unit: str | None,
    x_title: str,
    width: int = 560,
) -> str:
    """Horizontal bars per slice (coloured by RAG status, value printed at the bar), the target as
    a dashed vertical line; slices without data say `no data`."""
    present = [v for v in values if v is not None]
    if not present:
        return empty_chart(title, "No data for this month", chart_id=chart_id, width=width)
    bar_h, gap = 20, 8
    left, right, top, bottom = 130, 70, 40, 46
    height = top + bottom + len(labels) * (bar_h + gap)
    domain = present + ([target] if target is not None else []) + [0.0]
    ticks = nice_ticks(min(domain), max(domain))
    lo, hi = ticks[0], ticks[-1]
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + plot_w * (v - lo) / (hi - lo)

    parts = [
        f'<svg class="chart chart-bars" data-chart="{_attr(chart_id)}" data-points="{len(present)}" role="img" '
        f'aria-label="{_attr(title)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text class="chart-title" x="8" y="20" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    axis_y = top + len(labels) * (bar_h + gap)
    for t in ticks:
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 4}" y2="{axis_y}" stroke="{GRID_COLOUR}"/>'
            f'<text x="{x(t):.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="10.5" fill="{AXIS_COLOUR}">'
            f"{escape(_tick_text(t, ticks))}</text>"
        )
    parts.append(
        f'<text class="axis-title" x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" '
        f'font-size="11" fill="{AXIS_COLOUR}">{escape(x_title)}</text>'
    )
    zero = x(0.0) if lo <= 0 <= hi else x(lo)
    for i, (label, value, status) in enumerate(zip(labels, values, statuses, strict=True)):
        y0 = top + i * (bar_h + gap)
        parts.append(
            f'<text class="bar-label" x="{left - 8}" y="{y0 + bar_h * 0.7:.1f}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
        )
        if value is None:
            parts.append(
                f'<text x="{zero + 4:.1f}" y="{y0 + bar_h * 0.7:.1f}" font-size="11" fill="{AXIS_COLOUR}">'
                "no data</text>"
            )
            continue
        x0, x1 = sorted((zero, x(value)))
        colour = RAG_COLOURS.get(status, RAG_COLOURS["no_data"])
        parts.append(
            f'<rect class="series bar" x="{x0:.1f}" y="{y0}" width="{max(x1 - x0, 1.5):.1f}" height="{bar_h}" '
            f'fill="{colour}"><title>{escape(label)}: {escape(format_number(value, unit))}</title></rect>'
            f'<text x="{max(x1, x0 + 1.5) + 4:.1f}" y="{y0 + bar_h * 0.7:.1f}" font-size="11.5">'
            f"{escape(format_number(value, unit))}</text>"
        )
    parts.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top - 4}" y2="{axis_y}" stroke="{AXIS_COLOUR}"/>')
    if target is not None:
        parts.append(
            f'<line class="target-line" x1="{x(target):.1f}" x2="{x(target):.1f}" y1="{top - 8}" y2="{axis_y}" '
            f'stroke="{TARGET_COLOUR}" stroke-width="1.6" stroke-dasharray="6 4"/>'
            f'<text x="{x(target):.1f}" y="{top - 11}" text-anchor="middle" font-size="10.5" fill="{TARGET_COLOUR}">'
            f"target {escape(format_number(target, unit))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
