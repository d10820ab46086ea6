"""The analytics metrics of the MetricFlow layer (dbt_project/models/semantic/_semantic__analytics.yml)
agree with their marts on the session's sample warehouse. Reuses test_metricflow's fixtures (a
throw-away view of the dbt project and a copy of the warehouse for the `mf` CLI)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from test_metricflow import mf_project, run_mf, sample, semantic_manifest  # noqa: F401  (fixtures)

import kpi_reference as ref

pytestmark = pytest.mark.pipeline

ANALYTICS_METRICS = (
    "followup_queue_size",
    "followup_items",
    "followup_overdue_items",
    "at_risk_customers",
    "at_risk_customer_pct",
    "risk_score_avg",
    "churn_rate_by_nps_category",
    "repeat_rate_by_csi_band",
)


def _query(project, metrics: tuple[str, ...], group_by: str | None, out: Path) -> list[dict]:
    args = ["query", "--metrics", ",".join(metrics), "--csv", str(out), "--quiet"]
    if group_by:
        args[3:3] = ["--group-by", group_by]
    result = run_mf(project, *args)
    assert result.returncode == 0 and out.exists(), result.stdout + result.stderr
    with open(out, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_analytics_metrics_are_defined(semantic_manifest):  # noqa: F811
    names = {m["name"] for m in semantic_manifest.get("metrics", [])}
    assert set(ANALYTICS_METRICS) <= names


def test_loyalty_linkage_metrics_equal_the_mart(mf_project, sample, tmp_path):  # noqa: F811
    got = _query(
        mf_project,
        ("churn_rate_by_nps_category", "repeat_rate_by_csi_band"),
        "metric_time__month,loyalty_linkage__group_value",
        tmp_path / "linkage.csv",
    )
    values = {}
    for row in got:
        month = pd.Timestamp(row["metric_time__month"]).date()
        for metric, kpi in (
            ("churn_rate_by_nps_category", "logo_churn_rate"),
            ("repeat_rate_by_csi_band", "repeat_purchase_rate"),
        ):
            if row[metric] not in ("", "None"):
                values[(month, kpi, row["loyalty_linkage__group_value"])] = float(row[metric])
    mart = ref.read_table(sample, "marts.loyalty_linkage_monthly")
    mart = mart[mart["rate_pct"].notna()]
    assert len(mart) > 50
    problems = [
        f"{r.kpi} {r.month_start_date} {r.group_value}: mf {values.get(key)}, mart {r.rate_pct}"
        for r in mart.itertuples()
        if not ref.same_number(values.get(key := (r.month_start_date, r.kpi, r.group_value)), r.rate_pct)
    ]
    assert not problems, "\n".join(problems[:20])


def test_queue_and_risk_metrics_equal_the_marts(mf_project, sample, tmp_path):  # noqa: F811
    got = _query(
        mf_project,
        ("followup_queue_size", "followup_items", "at_risk_customers", "at_risk_customer_pct"),
        None,
        tmp_path / "totals.csv",
    )
    assert len(got) == 1
    queue = ref.read_table(sample, "marts.followup_queue")
    risk = ref.read_table(sample, "marts.customer_risk")
    assert float(got[0]["followup_queue_size"]) == int(queue["is_open"].sum())
    assert float(got[0]["followup_items"]) == len(queue)
    assert float(got[0]["at_risk_customers"]) == int(risk["is_at_risk"].sum())
    assert ref.same_number(float(got[0]["at_risk_customer_pct"]), 100.0 * risk["is_at_risk"].mean())
