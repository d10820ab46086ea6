"""The KPI chain (docs/kpi_chain.md): every KPI of the seed kpi_inputs has a definition row in
docs/KPIS.md (or is marked as missing there), an int_kpi_* model, a MetricFlow metric or a reason
for not having one (kpi_reference.NOT_IN_METRICS_LAYER), and the pandas reference computes it. The
values of metric and mart are compared in tests/test_metricflow.py; this test checks the links."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import kpi_reference as ref

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "generate_kpi_chain_doc.py"


@pytest.fixture(scope="module")
def chain_module():
    spec = importlib.util.spec_from_file_location("generate_kpi_chain_doc", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_kpi_chain_doc", module)
    spec.loader.exec_module(module)
    return module


def test_chain_is_complete_and_the_doc_up_to_date(chain_module, capsys):
    chain, problems = chain_module.build_chain()
    assert not problems, "\n".join(problems)
    assert [link.kpi for link in chain] == chain_module.kpi_list()
    assert chain_module.main(["--check"]) == 0, (
        "docs/kpi_chain.md is stale: run `.venv/bin/python scripts/generate_kpi_chain_doc.py`\n"
        + capsys.readouterr().err
    )


def test_every_kpi_has_a_metric_or_a_reason(chain_module):
    chain, _ = chain_module.build_chain()
    assert len(chain) == len(ref.ALL_KPIS)
    for link in chain:
        assert link.metric == link.kpi or (link.metric is None and link.not_in_metrics_reason), link
    assert {link.kpi for link in chain if link.metric} == set(ref.METRICS_LAYER_KPIS)


def test_a_kpi_without_metric_or_reason_breaks_the_chain(chain_module, monkeypatch):
    reasons = {k: v for k, v in ref.NOT_IN_METRICS_LAYER.items() if k != "satisfied_pct"}
    monkeypatch.setattr(ref, "NOT_IN_METRICS_LAYER", reasons)
    _, problems = chain_module.build_chain()
    assert any(p.startswith("satisfied_pct: no MetricFlow metric and no reason") for p in problems), problems


def test_a_renamed_kpis_md_row_breaks_the_chain(chain_module, monkeypatch):
    monkeypatch.setitem(chain_module.KPIS_MD_ROWS, "nps", "Net Promoter Score")
    _, problems = chain_module.build_chain()
    assert "nps: docs/KPIS.md has no row `Net Promoter Score`" in problems
