"""Reporting: the executive scorecard, rendered from the published copy only.

The asset depends on `published_warehouse`, so it runs only after the quality gate let a
publication through, and it reads nothing but the published DuckDB file (read-only): the page
always shows numbers that passed the gate. Output: `<reports>/scorecard.html` (env
CSAT_REPORTS_DIR), one self-contained HTML file that opens offline.
"""

import dagster as dg

from dagster_project.publication.assets import PUBLISHED_KEY
from dagster_project.resources import PublishedWarehouseResource, ReportsResource
from dagster_project.scorecard import HEADLINE_KPIS, write_scorecard
from dagster_project.scorecard.formatting import format_change, format_value, month_label

GROUP = "reporting"
SCORECARD_KEY = dg.AssetKey(["scorecard"])


@dg.asset(
    key=SCORECARD_KEY,
    group_name=GROUP,
    deps=[PUBLISHED_KEY],
    kinds={"html"},
    description=(
        "Executive scorecard (self-contained HTML, opens offline): headline KPIs of the latest complete month "
        "with target, variance, RAG status and change vs the previous month and the same month last year; "
        "24-month trends; breakdowns by segment, region and channel; improvement priorities and queue sizes "
        "when the analytics marts are published. Reads the published copy only."
    ),
)
def scorecard(
    context: dg.AssetExecutionContext, published: PublishedWarehouseResource, reports: ReportsResource
) -> dg.MaterializeResult:
    result = write_scorecard(published.database_path, reports.scorecard_path)
    data = result.data
    if result.chart_errors:
        context.log.warning(f"{result.chart_errors} chart(s) could not be drawn; see the page for the errors")
    context.log.info(f"Scorecard for {month_label(data.month)} written to {result.path}")
    table = ["| KPI | actual | target | variance | status |", "|---|---:|---:|---:|---|"]
    statuses: dict[str, int] = {}
    for headline in HEADLINE_KPIS:
        row = data.current(headline.kpi)
        if row is None:
            table.append(f"| {headline.label} | missing | | | |")
            continue
        statuses[row.status] = statuses.get(row.status, 0) + 1
        table.append(
            f"| {headline.label} | {format_value(row.actual, row.unit)} | {format_value(row.target, row.unit)} "
            f"| {format_change(row.variance, row.unit)} | {row.status} |"
        )
    return dg.MaterializeResult(
        metadata={
            "scorecard_path": dg.MetadataValue.path(str(result.path)),
            "month": dg.MetadataValue.text(f"{data.month:%Y-%m}" + ("" if data.is_month_complete else " (partial)")),
            "headline_kpis": dg.MetadataValue.md("\n".join(table)),
            "status_counts": dg.MetadataValue.json(statuses),
            "charts": dg.MetadataValue.int(result.charts),
            "chart_errors": dg.MetadataValue.int(result.chart_errors),
            "published_database": dg.MetadataValue.path(str(published.database_path)),
            "optional_marts": dg.MetadataValue.json(
                {m: m in data.marts for m in ("driver_importance_quarterly", "customer_risk", "followup_queue")}
            ),
        }
    )


reporting_assets: list[dg.AssetsDefinition] = [scorecard]
