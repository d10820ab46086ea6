"""The executive scorecard: one self-contained HTML page rendered from the published marts.

- `data`: reads the published DuckDB file read-only (scorecard_monthly, scorecard_breakdown_monthly, and the
  analytics marts when they are published);
- `charts`: inline SVG charts generated in Python;
- `render`: the HTML page.

`write_scorecard(published_database, output_path)` does all of it and swaps the file in atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from dagster_project.scorecard.data import (
    HEADLINE_KPI_NAMES,
    HEADLINE_KPIS,
    ScorecardData,
    ScorecardError,
    load_scorecard_data,
)
from dagster_project.scorecard.render import render_scorecard

SCORECARD_FILE = "scorecard.html"


@dataclass
class ScorecardResult:
    path: Path
    data: ScorecardData
    charts: int
    chart_errors: int


def write_scorecard(
    published_database: str | Path,
    output_path: str | Path,
    *,
    as_of: datetime | None = None,
    month: date | None = None,
) -> ScorecardResult:
    """Render the scorecard of the published DuckDB file into `output_path` (written under a temporary
    name and renamed, so a reader never sees half a page). Raises ScorecardError when the published
    copy cannot make one."""
    data = load_scorecard_data(published_database, as_of=as_of, month=month)
    html = render_scorecard(data)
    output_path = Path(output_path).resolve()
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(f".{output_path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, output_path)
    finally:
        tmp.unlink(missing_ok=True)
    return ScorecardResult(
        path=output_path,
        data=data,
        charts=html.count('<svg class="chart'),
        chart_errors=html.count('class="chart-error"'),
    )


__all__ = [
    "HEADLINE_KPIS",
    "HEADLINE_KPI_NAMES",
    "SCORECARD_FILE",
    "ScorecardData",
    "ScorecardError",
    "ScorecardResult",
    "load_scorecard_data",
    "render_scorecard",
    "write_scorecard",
]
