"""docs/marts.md (the analysts' list of marts with grain and columns) is generated from the dbt
project's YAML by scripts/generate_marts_doc.py; this test fails when it is stale."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pipeline

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "generate_marts_doc.py"


def _generator():
    spec = importlib.util.spec_from_file_location("generate_marts_doc", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("dbt_parse") / "target"
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    done = subprocess.run(
        [
            str(dbt) if dbt.exists() else "dbt",
            "parse",
            "--quiet",
            "--project-dir",
            str(ROOT / "dbt_project"),
            "--profiles-dir",
            str(ROOT / "dbt_project"),
            "--target-path",
            str(target),
            "--log-path",
            str(target),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target / "manifest.json"


def test_marts_doc_is_up_to_date(manifest):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--manifest", str(manifest), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, (
        "docs/marts.md is stale: regenerate it with `.venv/bin/dbt parse --project-dir dbt_project "
        "--profiles-dir dbt_project && .venv/bin/python scripts/generate_marts_doc.py`\n" + done.stderr
    )


def test_every_mart_is_listed_with_grain_and_columns(manifest):
    import json

    data = json.loads(manifest.read_text(encoding="utf-8"))
    text = _generator().render(data)
    marts = [n for n in data["nodes"].values() if n["resource_type"] == "model" and n["schema"] == "marts"]
    assert {"kpi_monthly", "scorecard_monthly", "dim_customer"} <= {m["name"] for m in marts}
    for mart in marts:
        assert f"\n## {mart['name']}\n" in text
        assert "Grain: not declared" not in text.split(f"\n## {mart['name']}\n")[1].split("\n## ")[0], mart["name"]
        for column in mart["columns"]:
            assert f"| `{column}` |" in text, (mart["name"], column)
    # a mart written outside dbt (the Dagster asset driver_importance_quarterly) is listed from its own YAML
    driver_section = text.split("\n## driver_importance_quarterly\n")[1].split("\n## ")[0]
    assert "Grain: `driver_importance_key`." in driver_section
    assert "| `relative_weight_pct` | double |" in driver_section
    assert (
        "Grain: `month_start_date`, `kpi`, `segment`, `region`, `channel`, `touchpoint`, `category`, "
        "`attribute_name`, `attribute_value`." in text
    )
