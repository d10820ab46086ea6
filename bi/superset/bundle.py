"""The Superset dashboard bundle, generated from the project (headline KPI list, marts' columns).

A bundle is the ZIP Superset's assets API (`POST /api/v1/assets/import/`) takes: `metadata.yaml`
(type `assets`) and one YAML file per database, dataset, chart and dashboard, linked by fixed
UUIDs, so re-importing overwrites the same objects (database URI, datasets, charts and dashboard).

Every chart reads a mart that already holds what it shows (`scorecard_latest` for the latest
complete month) or a small virtual dataset over the marts whose SQL is written here for both
targets (the published DuckDB copy and the PostgreSQL publication): Superset's ad-hoc filters
cannot say "the latest complete month".

    .venv/bin/python bi/superset/bundle.py --out bundle.zip            # YAML files: --out a folder
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dagster_project import settings  # noqa: E402
from dagster_project.scorecard.data import (  # noqa: E402
    BREAKDOWN_DIMENSIONS,
    HEADLINE_KPIS,
    TREND_MONTHS,
)

NAMESPACE = uuid.UUID("6f1d2c7e-3a51-4c1e-9f7a-2b8e5d0c9a41")  # fixed: the same objects on every import
VERSION = "1.0.0"
DASHBOARD_SLUG = "csat-scorecard"
DASHBOARD_TITLE = "Customer satisfaction scorecard"
DATABASE_NAME = "CSAT published marts"
MART_SCHEMA = "marts"
# DuckDB URI options: the file opened read-only; no file, network or extension access from SQL Lab
# (DuckDB table functions could otherwise read any file of the server, Superset's secret included);
# and the configuration locked so a query cannot switch it back on.
DUCKDB_HARDENING = "access_mode=read_only&enable_external_access=false&lock_configuration=true"
# d3 formats of the numbers a person reads, per KPI unit (decimals as on the HTML scorecard).
UNIT_DECIMALS = {"pct": 1, "nps_points": 1, "score_1_7": 2, "index_0_100": 1, "per_1000_orders": 1, "hours": 1}
UNIT_LABEL = {
    "pct": "%",
    "nps_points": "NPS points",
    "score_1_7": "score 1-7",
    "index_0_100": "index 0-100",
    "per_1000_orders": "per 1,000 orders",
    "hours": "hours",
}


def uid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def duckdb_uri(database_file: Path) -> str:
    return f"duckdb:///{database_file.resolve()}?{DUCKDB_HARDENING}"


def postgres_uri(url: str) -> str:
    """Superset (SQLAlchemy 1.4) talks to PostgreSQL through psycopg2, not the project's psycopg 3."""
    scheme, rest = url.split("://", 1)
    if not scheme.startswith("postgres"):
        raise ValueError(f"not a PostgreSQL URL: {scheme}://...")
    return f"postgresql+psycopg2://{rest}"


@dataclass(frozen=True)
class Dataset:
    key: str
    table_name: str
    description: str
    sql: str | None = None  # None: the mart itself

    @property
    def uuid(self) -> str:
        return uid(f"dataset:{self.key}")


def _kpi_label_sql(column: str = "kpi") -> str:
    whens = " ".join(f"when '{h.kpi}' then '{h.label}'" for h in HEADLINE_KPIS)
    return f"case {column} {whens} end"


def _kpi_order_sql(column: str = "kpi") -> str:
    whens = " ".join(f"when '{h.kpi}' then {i}" for i, h in enumerate(HEADLINE_KPIS, start=1))
    return f"case {column} {whens} end"


def _headline_in() -> str:
    return ", ".join(f"'{h.kpi}'" for h in HEADLINE_KPIS)


def datasets(schema: str, marts: set[str]) -> list[Dataset]:
    """The datasets of the dashboard; the SQL runs unchanged on DuckDB and PostgreSQL."""
    latest_month = f"(select distinct month_start_date from {schema}.scorecard_latest)"
    found = [
        Dataset("scorecard_latest", "scorecard_latest", "Every KPI in the latest complete month (mart)."),
        Dataset(
            "headline",
            "csat_headline_kpis",
            "The headline KPIs of the latest complete month, labelled and in scorecard order.",
            f"select {_kpi_order_sql()} as kpi_order, {_kpi_label_sql()} as kpi_label, latest.*\n"
            f"from {schema}.scorecard_latest as latest\nwhere latest.kpi in ({_headline_in()})",
        ),
        Dataset(
            "trend",
            "csat_headline_trends",
            f"The headline KPIs over the {TREND_MONTHS} months ending with the latest complete month.",
            f"select monthly.month_start_date, monthly.kpi, {_kpi_label_sql('monthly.kpi')} as kpi_label, "
            "monthly.actual, monthly.target, monthly.status\n"
            f"from {schema}.scorecard_monthly as monthly\n"
            f"inner join {latest_month} as latest\n"
            "    on monthly.month_start_date <= latest.month_start_date\n"
            f"    and monthly.month_start_date > latest.month_start_date - interval '{TREND_MONTHS} months'\n"
            f"where monthly.kpi in ({_headline_in()})",
        ),
        Dataset(
            "breakdown",
            "csat_breakdowns_latest",
            "Headline KPIs by segment, region and channel in the latest complete month (kpi_monthly).",
            f"select {', '.join(f'kpi.{d}' for d in BREAKDOWN_DIMENSIONS)}, kpi.kpi, "
            f"{_kpi_label_sql('kpi.kpi')} as kpi_label, kpi.value, kpi.sample_size\n"
            f"from {schema}.kpi_monthly as kpi\n"
            f"inner join {latest_month} as latest on kpi.month_start_date = latest.month_start_date\n"
            f"where kpi.kpi in ({_headline_in()}) and kpi.touchpoint = 'all' and kpi.category = 'all'"
            " and kpi.attribute_name = 'all'",
        ),
    ]
    if "driver_importance_quarterly" in marts:
        # the latest quarter complete by the end of the scorecard month (as the HTML scorecard)
        found.append(
            Dataset(
                "priorities",
                "csat_improvement_priorities",
                "Drivers in the priority quadrant (high importance, low performance), all customers.",
                "select drivers.driver, upper(drivers.outcome) as outcome, drivers.importance, "
                "drivers.performance_index, drivers.sample_size, drivers.quarter_start_date\n"
                f"from {schema}.driver_importance_quarterly as drivers\n"
                "where drivers.segment = 'all' and drivers.quadrant = 'priority' and drivers.importance is not null\n"
                "  and drivers.quarter_start_date = (\n"
                "    select max(quarters.quarter_start_date)\n"
                f"    from {schema}.driver_importance_quarterly as quarters\n"
                f"    inner join {latest_month} as latest\n"
                "        on quarters.quarter_start_date <= latest.month_start_date - interval '2 months'\n"
                "    where quarters.segment = 'all' and quarters.importance is not null)",
            )
        )
    for mart in ("customer_risk", "followup_queue"):
        if mart in marts:
            found.append(Dataset(mart, mart, f"The operational queue {mart} (mart)."))
    return found


def _columns(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> list[dict]:
    sql = dataset.sql or f"select * from {MART_SCHEMA}.{dataset.table_name}"
    described = con.execute(f"describe {sql.replace(f'{_schema_marker}.', MART_SCHEMA + '.')}").fetchall()
    return [
        {
            "column_name": name,
            "type": str(kind),
            "is_dttm": str(kind).upper().startswith(("DATE", "TIMESTAMP")),
            "groupby": True,
            "filterable": True,
            "is_active": True,
            "expression": None,
            "verbose_name": VERBOSE_NAMES.get(name),
            "description": None,
            "python_date_format": None,
            "extra": None,
        }
        for name, kind, *_ in described
    ]


_schema_marker = "__schema__"
# Column titles a person reads on the dashboard's tables.
VERBOSE_NAMES = {
    "kpi_label": "KPI",
    "month_start_date": "Month",
    "actual": "Actual",
    "target": "Target",
    "variance": "Variance",
    "status": "Status",
    "change_vs_previous_month": "vs previous month",
    "change_vs_same_month_last_year": "vs same month last year",
    "sample_size": "Sample size",
    "driver": "Driver",
    "outcome": "Outcome",
    "importance": "Importance",
    "performance_index": "Performance (0-100)",
}


def _metric(sql: str, label: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label}


def _equals(column: str, value: str) -> dict:
    return {"expressionType": "SIMPLE", "subject": column, "operator": "==", "comparator": value, "clause": "WHERE"}


def _where(sql: str) -> dict:
    return {"expressionType": "SQL", "sqlExpression": sql, "clause": "WHERE"}


@dataclass
class Chart:
    key: str
    name: str
    viz_type: str
    dataset: Dataset
    params: dict
    width: int
    height: int

    @property
    def uuid(self) -> str:
        return uid(f"chart:{self.key}")


def _d3(unit: str | None) -> str:
    return f",.{UNIT_DECIMALS.get(unit or '', 2)}f"


def charts(found: list[Dataset], units: dict[str, str]) -> list[list[Chart]]:
    """The dashboard's rows of charts."""
    by_key = {d.key: d for d in found}
    headline, trend, breakdown = by_key["headline"], by_key["trend"], by_key["breakdown"]
    rows: list[list[Chart]] = []
    numbers = [
        Chart(
            f"number:{h.kpi}",
            f"{h.label} ({UNIT_LABEL.get(units.get(h.kpi, ''), units.get(h.kpi, ''))})",
            "big_number_total",
            headline,
            {
                "metric": _metric("MAX(actual)", h.label),
                "adhoc_filters": [_equals("kpi", h.kpi)],
                "subheader": h.description,
                "y_axis_format": _d3(units.get(h.kpi)),
                "header_font_size": 0.3,
                "subheader_font_size": 0.125,
            },
            4,
            30,
        )
        for h in HEADLINE_KPIS
    ]
    rows += [numbers[i : i + 3] for i in range(0, len(numbers), 3)]
    rows.append(
        [
            Chart(
                "table:headline",
                "Headline KPIs: target, status and changes (in the KPI's unit)",
                "table",
                headline,
                {
                    "query_mode": "raw",
                    "all_columns": [
                        "kpi_label",
                        "month_start_date",
                        "actual",
                        "target",
                        "variance",
                        "status",
                        "change_vs_previous_month",
                        "change_vs_same_month_last_year",
                        "sample_size",
                    ],
                    "order_by_cols": [json.dumps(["kpi_order", True])],
                    "adhoc_filters": [],
                    "row_limit": 100,
                    "server_pagination": False,
                    "include_search": False,
                    "table_timestamp_format": "%Y-%m",
                    "show_cell_bars": False,
                    "column_config": {
                        c: {"d3NumberFormat": ",.2f"}
                        for c in ("actual", "target", "variance", "change_vs_previous_month")
                        + ("change_vs_same_month_last_year",)
                    },
                },
                12,
                50,
            )
        ]
    )
    trends = [
        Chart(
            f"trend:{h.kpi}",
            f"{h.label}: last {TREND_MONTHS} months against target",
            "echarts_timeseries_line",
            trend,
            {
                "x_axis": "month_start_date",
                "time_grain_sqla": "P1M",
                "metrics": [_metric("MAX(actual)", "actual"), _metric("MAX(target)", "target")],
                "groupby": [],
                "adhoc_filters": [_equals("kpi", h.kpi)],
                "row_limit": 1000,
                "show_legend": True,
                "y_axis_format": _d3(units.get(h.kpi)),
                "x_axis_time_format": "%b %y",
                "markerEnabled": True,
                "rich_tooltip": True,
            },
            4,
            50,
        )
        for h in HEADLINE_KPIS
    ]
    rows += [trends[i : i + 3] for i in range(0, len(trends), 3)]
    breakdowns = [
        Chart(
            f"breakdown:{dimension}",
            f"Headline KPIs by {dimension}, latest complete month",
            "pivot_table_v2",
            breakdown,
            {
                "groupbyRows": [dimension],
                "groupbyColumns": ["kpi_label"],
                "metrics": [_metric("MAX(value)", "value")],
                "metricsLayout": "COLUMNS",
                "aggregateFunction": "Sum",
                "valueFormat": ",.1f",
                "adhoc_filters": [
                    _where(
                        f"{dimension} <> 'all' and "
                        + " and ".join(f"{d} = 'all'" for d in BREAKDOWN_DIMENSIONS if d != dimension)
                    )
                ],
                "row_limit": 1000,
                "rowTotals": False,
                "colTotals": False,
            },
            12 if dimension == "segment" else 6,
            50,
        )
        for dimension in BREAKDOWN_DIMENSIONS
    ]
    rows += [breakdowns[:1], breakdowns[1:]]
    last: list[Chart] = []
    if "priorities" in by_key:
        last.append(
            Chart(
                "table:priorities",
                "Top improvement priorities (key-driver analysis)",
                "table",
                by_key["priorities"],
                {
                    "query_mode": "raw",
                    "all_columns": ["driver", "outcome", "importance", "performance_index", "sample_size"],
                    "order_by_cols": [json.dumps(["importance", False])],
                    "adhoc_filters": [],
                    "row_limit": 5,
                    "server_pagination": False,
                    "include_search": False,
                    "show_cell_bars": False,
                    "column_config": {
                        "importance": {"d3NumberFormat": ",.3f"},
                        "performance_index": {"d3NumberFormat": ",.1f"},
                    },
                },
                6,
                50,
            )
        )
    queues = {"customer_risk": ("Customers at risk", "is_at_risk"), "followup_queue": ("Follow-ups open", "is_open")}
    for mart, (label, flag) in queues.items():
        if mart in by_key:
            last.append(
                Chart(
                    f"queue:{mart}",
                    label,
                    "big_number_total",
                    by_key[mart],
                    {
                        "metric": _metric("COUNT(*)", label),
                        "adhoc_filters": [_where(flag)],
                        "subheader": f"mart {mart}",
                        "y_axis_format": ",d",
                        "header_font_size": 0.3,
                        "subheader_font_size": 0.125,
                    },
                    3,
                    50,
                )
            )
    if last:
        rows.append(last)
    # Superset's grid: a row holds at most 12 columns
    for row in rows:
        assert sum(c.width for c in row) <= 12, [c.key for c in row]
    return rows


def _position(rows: list[list[Chart]], chart_ids: dict[str, int]) -> dict:
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]},
        "GRID_ID": {"id": "GRID_ID", "type": "GRID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": DASHBOARD_TITLE}},
    }
    for r, row in enumerate(rows):
        row_id = f"ROW-{r}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "id": row_id,
            "type": "ROW",
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for c, chart in enumerate(row):
            chart_id = f"CHART-{r}-{c}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "id": chart_id,
                "type": "CHART",
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "chartId": chart_ids[chart.uuid],
                    "uuid": chart.uuid,
                    "sliceName": chart.name,
                    "width": chart.width,
                    "height": chart.height,
                },
            }
    return position


def build_files(
    published_database: Path, *, postgres_url: str | None = None, postgres_schema: str = MART_SCHEMA
) -> dict[str, dict]:
    """The bundle's YAML documents by path. The published DuckDB copy gives the marts' columns; the
    database is that copy (hardened URI) or, with `postgres_url`, the PostgreSQL publication."""
    published_database = Path(published_database).resolve()
    if not published_database.is_file():
        raise FileNotFoundError(
            f"no published warehouse at {published_database}: run the pipeline first (bash scripts/run_pipeline.sh)"
        )
    schema = postgres_schema if postgres_url else MART_SCHEMA
    with duckdb.connect(str(published_database), read_only=True) as con:
        marts = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ?", [MART_SCHEMA]
            ).fetchall()
        }
        if "scorecard_latest" not in marts:
            raise RuntimeError(f"{published_database} has no {MART_SCHEMA}.scorecard_latest: publish again")
        found = datasets(_schema_marker, marts)
        columns = {d.key: _columns(con, d) for d in found}
        units = dict(con.execute(f"select kpi, unit from {MART_SCHEMA}.scorecard_latest").fetchall())
    database_uuid = uid("database")
    files: dict[str, dict] = {
        "metadata.yaml": {
            "version": VERSION,
            "type": "assets",
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "databases/csat_marts.yaml": {
            "database_name": DATABASE_NAME,
            "sqlalchemy_uri": postgres_uri(postgres_url) if postgres_url else duckdb_uri(published_database),
            "cache_timeout": None,
            "expose_in_sqllab": True,
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_csv_upload": False,
            "extra": {"allows_virtual_table_explore": True},
            "uuid": database_uuid,
            "version": VERSION,
        },
    }
    for d in found:
        temporal = [c["column_name"] for c in columns[d.key] if c["is_dttm"]]
        files[f"datasets/csat_marts/{d.table_name}.yaml"] = {
            "table_name": d.table_name,
            "main_dttm_col": temporal[0] if temporal else None,
            "description": d.description,
            "default_endpoint": None,
            "offset": 0,
            "cache_timeout": None,
            "schema": schema,
            "sql": d.sql.replace(_schema_marker, schema) if d.sql else None,
            "params": None,
            "template_params": None,
            "filter_select_enabled": True,
            "fetch_values_predicate": None,
            "extra": None,
            "uuid": d.uuid,
            "metrics": [],
            "columns": columns[d.key],
            "version": VERSION,
            "database_uuid": database_uuid,
        }
    rows = charts(found, units)
    all_charts = [c for row in rows for c in row]
    chart_ids = {c.uuid: i for i, c in enumerate(all_charts, start=1)}  # placeholders; the import remaps
    for chart in all_charts:
        files[f"charts/{chart.key.replace(':', '_')}.yaml"] = {
            "slice_name": chart.name,
            "description": None,
            "certified_by": None,
            "certification_details": None,
            "viz_type": chart.viz_type,
            "params": {"viz_type": chart.viz_type, "datasource": f"__{chart.dataset.key}", **chart.params},
            "query_context": None,
            "cache_timeout": None,
            "uuid": chart.uuid,
            "version": VERSION,
            "dataset_uuid": chart.dataset.uuid,
        }
    files["dashboards/csat_scorecard.yaml"] = {
        "dashboard_title": DASHBOARD_TITLE,
        "description": None,
        "css": None,
        "slug": DASHBOARD_SLUG,
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": uid("dashboard"),
        "position": _position(rows, chart_ids),
        "metadata": {
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": {},
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "native_filter_configuration": [],
            "shared_label_colors": [],
            "color_scheme_domain": [],
        },
        "version": VERSION,
    }
    return files


def write_zip(files: dict[str, dict]) -> bytes:
    """The ZIP Superset imports: everything under one top folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path, document in files.items():
            bundle.writestr(f"csat_bundle/{path}", yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--published", type=Path, default=settings.published_dir() / "csat.duckdb")
    parser.add_argument("--postgres-url", help="use the PostgreSQL publication (e.g. CSAT_PUBLISH_POSTGRES_URL)")
    parser.add_argument("--postgres-schema", default=MART_SCHEMA)
    parser.add_argument("--out", type=Path, required=True, help="a .zip file, or a folder for the YAML files")
    args = parser.parse_args(argv)
    files = build_files(args.published, postgres_url=args.postgres_url, postgres_schema=args.postgres_schema)
    if args.out.suffix == ".zip":
        args.out.write_bytes(write_zip(files))
    else:
        for path, document in files.items():
            target = args.out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    print(f"wrote {args.out} ({len(files)} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
