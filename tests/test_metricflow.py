"""The MetricFlow metrics layer (dbt_project/models/semantic/) agrees with `marts.kpi_monthly`.

Runs the real `mf` CLI in a subprocess on the session's sample warehouse (see
kpi_reference.sample_warehouse). `mf` reads `<project>/target/semantic_manifest.json` and the
warehouse through the dbt profile, so the test points it at a throw-away view of the dbt project
(symlinks to the real files + its own target/ with the build's semantic manifest) and at a copy
of the warehouse file (the DuckDB file of the build stays free for the other tests).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from dagster_project import settings

import kpi_reference as ref

pytestmark = pytest.mark.pipeline

# Every KPI of kpi_monthly has a metric of the same name; these must be ratio metrics.
RATIO_METRICS = ("nps", "csat_pct", "logo_churn_rate", "repeat_purchase_rate", "sla_attainment_rate")
# Queried by month and compared with the all-up rows of kpi_monthly (the acceptance criterion).
REQUIRED_METRICS = ("nps", "csi", "logo_churn_rate", "repeat_purchase_rate")


@dataclass
class MfProject:
    project_dir: Path
    env: dict[str, str]


def _mf_executable() -> str:
    candidate = Path(sys.executable).with_name("mf")
    return str(candidate) if candidate.exists() else "mf"


def run_mf(project: MfProject, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_mf_executable(), *args],
        cwd=project.project_dir,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> ref.BuiltWarehouse:
    return ref.sample_warehouse(tmp_path_factory)


@pytest.fixture(scope="module")
def semantic_manifest(sample) -> dict:
    path = sample.target_path / "semantic_manifest.json"
    assert path.is_file(), f"dbt wrote no semantic manifest ({path}); dbt failures: {sample.dbt.failures}"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def mf_project(sample, semantic_manifest, tmp_path_factory) -> MfProject:
    root = tmp_path_factory.mktemp("metricflow")
    project_dir = root / "dbt_project"
    project_dir.mkdir()
    for entry in ref.DBT_PROJECT_DIR.iterdir():
        if entry.name not in ("target", "logs", "dbt_packages", ".user.yml"):
            (project_dir / entry.name).symlink_to(entry)
    # seed folders outside the project (seed-paths: ["../seeds"]) must resolve from the view too
    for relative in ref.project_seed_paths():
        view = Path(os.path.normpath(project_dir / relative))
        if not view.exists():
            view.parent.mkdir(parents=True, exist_ok=True)
            view.symlink_to((ref.DBT_PROJECT_DIR / relative).resolve())
    (project_dir / "target").mkdir()
    shutil.copy(sample.target_path / "semantic_manifest.json", project_dir / "target")
    # same file name: dbt-duckdb names the catalog after it, and the manifest's relations use it
    warehouse = root / "warehouse" / sample.warehouse_path.name
    warehouse.parent.mkdir()
    for source, target in (
        (sample.warehouse_path, warehouse),
        (settings.marts_path(sample.warehouse_path), settings.marts_path(warehouse)),  # the marts
    ):
        shutil.copy(source, target)
        if Path(f"{source}.wal").exists():
            shutil.copy(Path(f"{source}.wal"), Path(f"{target}.wal"))
    env = {
        **os.environ,
        "CSAT_WAREHOUSE_PATH": str(warehouse),
        "DBT_PROFILES_DIR": str(project_dir),
        "DBT_PROJECT_DIR": str(project_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    return MfProject(project_dir=project_dir, env=env)


@pytest.fixture(scope="module")
def kpi_all_up(sample) -> pd.DataFrame:
    mart = ref.read_table(sample, "marts.kpi_monthly")
    return mart[(mart[list(ref.SLICE_COLUMNS)] == ref.ALL).all(axis=1)]


def _metrics(manifest: dict) -> dict[str, dict]:
    return {m["name"]: m for m in manifest.get("metrics", [])}


def test_every_kpi_has_a_metric(semantic_manifest):
    metrics = _metrics(semantic_manifest)
    missing = [k for k in ref.METRICS_LAYER_KPIS if k not in metrics]
    assert not missing, f"KPIs without a MetricFlow metric: {missing}"


@pytest.mark.parametrize("name", RATIO_METRICS)
def test_ratio_kpis_are_ratio_metrics(semantic_manifest, name):
    metric = _metrics(semantic_manifest)[name]
    assert metric["type"] == "ratio"


def test_time_spine_is_configured(semantic_manifest):
    spines = semantic_manifest.get("project_configuration", {}).get("time_spines", [])
    assert any(s["primary_column"]["time_granularity"] == "day" for s in spines), spines


def test_mf_validate_configs(mf_project):
    result = run_mf(mf_project, "validate-configs")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Successfully validated metrics against data warehouse" in output, output
    assert not re.search(r"ERRORS: [1-9]", output), output


def _query(
    mf_project: MfProject, metrics: tuple[str, ...], out: Path, start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    window = (["--start-time", start] if start else []) + (["--end-time", end] if end else [])
    result = run_mf(
        mf_project,
        "query",
        "--metrics",
        ",".join(metrics),
        "--group-by",
        "metric_time__month",
        "--order",
        "metric_time__month",
        *window,
        "--csv",
        str(out),
        "--quiet",
    )
    assert result.returncode == 0 and out.exists(), result.stdout + result.stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    frame = pd.DataFrame(rows, columns=["metric_time__month", *metrics])
    frame["month_start_date"] = pd.to_datetime(frame["metric_time__month"]).dt.date
    for metric in metrics:
        frame[metric] = pd.to_numeric(frame[metric].replace({"": None, "None": None}), errors="coerce")
    return frame


def _compare(frame: pd.DataFrame, kpi_all_up: pd.DataFrame, metrics: tuple[str, ...]) -> list[str]:
    """mf values vs the all-up kpi_monthly values, month by month. A month mf does not return is
    NULL (0 for the counts, which kpi_monthly publishes as 0 in months without data)."""
    problems = []
    by_month = frame.set_index("month_start_date")
    for metric in metrics:
        expected = kpi_all_up[kpi_all_up["kpi"] == metric].set_index("month_start_date")["value"]
        assert not expected.empty, f"kpi_monthly has no all-up rows for {metric}"
        for month, value in expected.items():
            actual = by_month[metric].get(month) if month in by_month.index else None
            if metric in ref.COUNT_KPIS and ref._missing(actual):
                actual = 0.0
            if not ref.same_number(actual, value):
                problems.append(f"{metric} {month}: mf query gives {actual}, kpi_monthly has {value}")
        extra = by_month.loc[~by_month.index.isin(expected.index), metric].dropna()
        if not extra.empty:
            problems.append(f"{metric}: mf has values in months outside the kpi_monthly grid: {extra.head(3)}")
    return problems


def test_mf_query_by_month_equals_kpi_monthly(mf_project, kpi_all_up, tmp_path):
    """NPS, CSI, churn rate and repeat-purchase rate by month: exactly the all-up kpi_monthly values."""
    frame = _query(mf_project, REQUIRED_METRICS, tmp_path / "required.csv")
    problems = _compare(frame, kpi_all_up, REQUIRED_METRICS)
    assert not problems, "\n".join(problems[:30])


def test_every_kpi_metric_by_month_equals_kpi_monthly(mf_project, kpi_all_up, tmp_path):
    """All KPI metrics in one query over the grid (the cumulative backlog needs the time window)."""
    months = sorted(kpi_all_up["month_start_date"].unique())
    last_day = (pd.Timestamp(months[-1]) + pd.offsets.MonthEnd(0)).date()
    frame = _query(
        mf_project, ref.METRICS_LAYER_KPIS, tmp_path / "all.csv", start=months[0].isoformat(), end=last_day.isoformat()
    )
    problems = _compare(frame, kpi_all_up, ref.METRICS_LAYER_KPIS)
    assert not problems, "\n".join(problems[:40])


def test_mf_query_by_segment_equals_kpi_monthly(mf_project, sample, tmp_path):
    """Slicing through the customer dimension (current segment) gives the segment rows of
    kpi_monthly. `unknown` is left out: kpi_monthly pools anonymous and unknown customers there,
    MetricFlow returns anonymous facts under a NULL segment."""
    metrics = ("nps", "logo_churn_rate", "repeat_purchase_rate", "complaint_rate")
    out = tmp_path / "segments.csv"
    result = run_mf(
        mf_project,
        "query",
        "--metrics",
        ",".join(metrics),
        "--group-by",
        "metric_time__month,customer__segment",
        "--csv",
        str(out),
        "--quiet",
    )
    assert result.returncode == 0 and out.exists(), result.stdout + result.stderr
    frame = pd.read_csv(out, keep_default_na=True)
    frame["month_start_date"] = pd.to_datetime(frame["metric_time__month"]).dt.date
    mart = ref.read_table(sample, "marts.kpi_monthly")
    others = [c for c in ref.SLICE_COLUMNS if c != "segment"]
    sliced = mart[(mart[others] == ref.ALL).all(axis=1) & ~mart["segment"].isin([ref.ALL, ref.UNKNOWN])]
    got = {
        (row["month_start_date"], row["customer__segment"], metric): row[metric]
        for row in frame.to_dict("records")
        for metric in metrics
    }
    problems = []
    checked = 0
    for row in sliced[sliced["kpi"].isin(metrics)].to_dict("records"):
        actual = got.get((row["month_start_date"], row["segment"], row["kpi"]))
        checked += not ref._missing(row["value"])
        if not ref.same_number(actual, row["value"]):
            where = f"{row['kpi']} {row['month_start_date']} {row['segment']}"
            problems.append(f"{where}: mf {actual}, mart {row['value']}")
    assert checked > 100
    assert not problems, "\n".join(problems[:30])
