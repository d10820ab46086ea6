"""Render docs/kpi_chain.md: for every KPI, its definition (docs/KPIS.md), the SQL that computes it
(the int_kpi_* model, published in marts.kpi_monthly), its MetricFlow metric and its tests.

The KPI list is the seed kpi_inputs (every KPI of kpi_monthly has a row there: dbt test
assert_every_kpi_has_inputs), a `*` expanded with the dimensions of the seed survey_items. The
metrics come from dbt_project/models/semantic/_semantic__metrics.yml; a KPI without a metric must
be listed, with the reason, in tests/kpi_reference.py NOT_IN_METRICS_LAYER. Everything else is
found in the files themselves, so the page cannot drift from them: tests/test_kpi_chain.py fails
when it is stale or when a KPI has no definition row, no model, or neither a metric nor a reason.

    .venv/bin/python scripts/generate_kpi_chain_doc.py            # writes docs/kpi_chain.md
    .venv/bin/python scripts/generate_kpi_chain_doc.py --check    # exit 1 when it is stale or broken
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
KPIS_MD = ROOT / "docs" / "KPIS.md"
SEEDS = ROOT / "seeds"
KPI_MODELS = ROOT / "dbt_project" / "models" / "intermediate" / "kpi"
METRICS_YAML = ROOT / "dbt_project" / "models" / "semantic" / "_semantic__metrics.yml"
REFERENCE = ROOT / "tests" / "kpi_reference.py"
DEFAULT_OUTPUT = ROOT / "docs" / "kpi_chain.md"

# KPI name pattern -> the first cell of its row in docs/KPIS.md (the one hand-kept link of the chain;
# a row renamed in KPIS.md fails the check). None: KPIS.md has no row for it yet.
KPIS_MD_ROWS: dict[str, str | None] = {
    "nps": "NPS",
    "csat_pct": "CSAT %",
    "ces": "CES",
    "ces_easy_pct": "CES",
    "csi": "CSI",
    "satisfied_pct": None,
    "servqual_gap*": "SERVQUAL gap",
    "perception_score*": None,
    "repeat_purchase_rate": "Repeat-purchase rate",
    "repurchase_90d_rate": "90-day repurchase rate",
    "logo_churn_rate": "Logo churn rate",
    "gross_revenue_churn_rate": "Gross revenue churn",
    "retention_rate": "Retention rate",
    "complaint_volume": "Complaint volume",
    "complaint_rate": "Complaint rate",
    "first_response_hours_*": "First response time",
    "resolution_hours_*": "Resolution time",
    "sla_attainment_rate": "SLA attainment",
    "first_contact_resolution_rate": "First-contact resolution",
    "reopen_rate": "Reopen rate",
    "backlog": "Backlog",
    "escalation_rate": "Escalation rate",
    "timely_response_rate": None,
}
# Tests that check every KPI (named once in the table's header note, not per row).
PANDAS_TEST = "tests/test_kpi_correctness.py"
METRIC_TEST = "tests/test_metricflow.py"


@dataclass
class KpiLink:
    kpi: str
    definition: str | None = None
    model: str | None = None
    metric: str | None = None
    not_in_metrics_reason: str | None = None
    tests: list[str] = field(default_factory=list)


def _reference():
    """tests/kpi_reference.py (the pandas reference: its KPI list and NOT_IN_METRICS_LAYER)."""
    if "kpi_reference" in sys.modules:
        return sys.modules["kpi_reference"]
    if str(REFERENCE.parent) not in sys.path:  # it imports its neighbours (working_files), as under pytest
        sys.path.append(str(REFERENCE.parent))
    spec = importlib.util.spec_from_file_location("kpi_reference", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["kpi_reference"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def kpi_list(seeds: Path = SEEDS) -> list[str]:
    """The KPIs of kpi_monthly in seed order (kpi_inputs), `*` expanded with the questionnaire's dimensions."""
    with open(seeds / "survey_items.csv", newline="", encoding="utf-8") as f:
        dimensions = list(dict.fromkeys(r["dimension"].strip().lower() for r in csv.DictReader(f)))
    with open(seeds / "kpi_inputs.csv", newline="", encoding="utf-8") as f:
        names = list(dict.fromkeys(r["kpi"].strip() for r in csv.DictReader(f)))
    kpis: list[str] = []
    for name in names:
        expanded = [name.replace("*", d) for d in dimensions] if "*" in name else [name]
        kpis += [k for k in expanded if k not in kpis]
    return kpis


def kpis_md_rows(text: str) -> dict[str, str]:
    """First cell of every table row of KPIS.md -> its section (`## ` heading)."""
    rows, section = {}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("| ") and not line.startswith("|---"):
            cell = line.split("|")[1].strip()
            if cell not in ("KPI", "KPI / rule"):
                rows.setdefault(cell, section)
    return rows


def _definition_row(kpi: str) -> tuple[bool, str | None]:
    for pattern, row in KPIS_MD_ROWS.items():
        if fnmatchcase(kpi, pattern):
            return True, row
    return False, None


def _model_of(kpi: str, sources: dict[str, str]) -> str | None:
    """The int_kpi_* model that names the KPI (a dimension KPI by its `<kpi>_` prefix)."""
    for model, sql in sources.items():
        if f"'{kpi}'" in sql:
            return model
    prefix = kpi.rsplit("_", 1)[0] + "_"
    for model, sql in sources.items():
        if f"'{prefix}'" in sql:
            return model
    return None


def _tests_naming(kpi: str) -> list[str]:
    """Test files and dbt unit tests that name the KPI in quotes (beyond the every-KPI tests)."""
    found = []
    quoted = re.compile(r"""["']""" + re.escape(kpi) + r"""["']""")
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative not in (PANDAS_TEST, METRIC_TEST) and quoted.search(path.read_text(encoding="utf-8")):
            found.append(relative)
    dbt_tests = sorted((ROOT / "dbt_project" / "models").rglob("*unit_tests.yml")) + sorted(
        (ROOT / "dbt_project" / "tests" / "singular").glob("*.sql")
    )
    bare = re.compile(r"\b" + re.escape(kpi) + r"\b")
    for path in dbt_tests:
        if bare.search(path.read_text(encoding="utf-8")):
            found.append(f"dbt: {path.stem if path.suffix == '.sql' else path.name}")
    return found


def build_chain() -> tuple[list[KpiLink], list[str]]:
    """Every KPI's links, and the problems (a broken link) found on the way."""
    reference = _reference()
    rows = kpis_md_rows(KPIS_MD.read_text(encoding="utf-8"))
    sources = {p.stem: p.read_text(encoding="utf-8") for p in sorted(KPI_MODELS.glob("int_kpi_*.sql"))}
    metrics = {m["name"] for m in yaml.safe_load(METRICS_YAML.read_text(encoding="utf-8")).get("metrics", [])}
    exceptions: dict[str, str] = dict(reference.NOT_IN_METRICS_LAYER)
    problems: list[str] = []
    chain = []
    kpis = kpi_list()
    for kpi in kpis:
        link = KpiLink(kpi)
        mapped, row = _definition_row(kpi)
        if not mapped:
            problems.append(f"{kpi}: no entry in KPIS_MD_ROWS (scripts/generate_kpi_chain_doc.py)")
        elif row is not None:
            if row not in rows:
                problems.append(f"{kpi}: docs/KPIS.md has no row `{row}`")
            else:
                link.definition = f"{rows[row]}: {row}"
        link.model = _model_of(kpi, sources)
        if link.model is None:
            problems.append(f"{kpi}: no int_kpi_* model names it")
        if kpi in metrics:
            link.metric = kpi
            if kpi in exceptions:
                problems.append(f"{kpi}: has a metric but is listed in NOT_IN_METRICS_LAYER")
        elif exceptions.get(kpi, "").strip():
            link.not_in_metrics_reason = exceptions[kpi]
        else:
            problems.append(f"{kpi}: no MetricFlow metric and no reason in tests/kpi_reference.py NOT_IN_METRICS_LAYER")
        if kpi in reference.ALL_KPIS:
            link.tests.append(PANDAS_TEST)
        else:
            problems.append(f"{kpi}: the pandas reference (tests/kpi_reference.py ALL_KPIS) does not compute it")
        if link.metric and kpi in reference.METRICS_LAYER_KPIS:
            link.tests.append(METRIC_TEST)
        link.tests += _tests_naming(kpi)
        chain.append(link)
    unknown = sorted(set(reference.ALL_KPIS) - set(kpis))
    if unknown:
        problems.append(f"the pandas reference computes KPIs the seed kpi_inputs does not list: {unknown}")
    return chain, problems


HEADER = """# KPI chain: definition -> SQL -> metric -> tests

<!-- Generated by scripts/generate_kpi_chain_doc.py; do not edit by hand (tests/test_kpi_chain.py). -->

One row per KPI of `marts.kpi_monthly` (the seed `kpi_inputs`, SERVQUAL dimensions from the seed
`survey_items`). The SQL models are the definition the warehouse publishes: every KPI is a row of
`marts.kpi_monthly` (`kpi` = the name, `value`, `numerator`, `denominator`, `sample_size`) built by
the `int_kpi_*` model named here; `marts.scorecard_monthly` and `marts.scorecard_breakdown_monthly`
score it against its target. The MetricFlow metric of the same name
(`dbt_project/models/semantic/_semantic__metrics.yml`) is checked against `kpi_monthly` month by
month in `tests/test_metricflow.py`; `tests/test_kpi_correctness.py` checks every KPI against the
independent pandas reference (`tests/kpi_reference.py`). A KPI without a metric says why. The
tests column lists those two, then every other test file and dbt test (unit or singular) that names
the KPI. After adding a KPI, a metric or a test, regenerate this page.
"""


def render(chain: list[KpiLink]) -> str:
    lines = [
        HEADER,
        "| KPI | docs/KPIS.md | SQL (`marts.kpi_monthly`) | MetricFlow metric | tests |",
        "|---|---|---|---|---|",
    ]
    for link in chain:
        definition = link.definition or "not in docs/KPIS.md yet"
        metric = f"`{link.metric}`" if link.metric else f"none: {link.not_in_metrics_reason}"
        tests = "<br>".join(f"`{t}`" for t in link.tests)
        lines.append(f"| `{link.kpi}` | {definition} | `{link.model}` | {metric} | {tests} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when stale or broken")
    args = parser.parse_args(argv)
    chain, problems = build_chain()
    if problems:
        print("the KPI chain is broken:\n- " + "\n- ".join(problems), file=sys.stderr)
        return 1
    text = render(chain)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is stale: run scripts/generate_kpi_chain_doc.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
