"""The whole-pipeline benchmark (bench/bench_pipeline.py) on a tiny scale.

The fast tests check its data preparation (the held-back day) and its bare-DuckDB yardstick; the
end-to-end run of `csat run` three times is slow (minutes): a `pipeline` test.
"""

from __future__ import annotations

import json
from pathlib import Path

import bench_modules
import duckdb
import pytest

from csat_sample_data import generate_sample_data

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    return bench_modules.load("bench_pipeline")


@pytest.fixture(scope="module")
def split_landing(tmp_path_factory, bench):
    root = tmp_path_factory.mktemp("bench")
    landing, day = root / "landing", root / "day"
    generate_sample_data(landing, seed=7, responses=600, months=3)
    before = _row_counts(landing)
    bench.hold_back_last_day(landing, day)
    return landing, day, before


def _row_counts(folder: Path) -> dict[str, int]:
    con = duckdb.connect()
    counts: dict[str, int] = {}
    for path in (p for p in folder.rglob("*.*") if p.suffix in (".csv", ".jsonl", ".parquet")):
        entity = path.parent.name
        if path.suffix == ".csv":
            n = len(path.read_text(encoding="utf-8", errors="replace").splitlines()) - 1
        elif path.suffix == ".jsonl":
            n = len(path.read_text(encoding="utf-8").splitlines())
        else:
            n = con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]
        counts[entity] = counts.get(entity, 0) + n
    return counts


def test_the_held_back_day_is_moved_not_copied_or_lost(split_landing, bench):
    landing, day, before = split_landing
    after, held = _row_counts(landing), _row_counts(day)
    assert set(held) <= {"survey_responses", "survey_item_scores", "tickets", "orders", "subscriptions"}
    assert held["survey_responses"] > 0 and held["survey_item_scores"] > 0 and held["orders"] > 0, held
    assert {e: after[e] + held.get(e, 0) for e in after} == before
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    days = con.execute(
        f"select distinct left(submitted_at, 10) from read_csv('{day}/**/*.csv', all_varchar = true)"
    ).fetchall()
    assert days == [(bench.LAST_DAY,)]
    assert all(p.name.startswith(bench.DAY_PREFIX) for p in day.rglob("*.*"))


def test_the_yardstick_loads_latest_rows_and_computes_kpis(split_landing, bench, tmp_path):
    landing, _, _ = split_landing
    bench.yardstick(landing, tmp_path / "yard", memory_limit="1GB")
    con = duckdb.connect(str(tmp_path / "yard" / "yardstick.duckdb"), read_only=True)
    for table in ("survey_responses", "customers", "kpi_survey", "kpi_complaints", "kpi_orders", "kpi_churn"):
        assert con.execute(f"select count(*) from {table}").fetchone()[0] > 0, table
        assert (tmp_path / "yard" / "parquet" / f"{table}.parquet").exists()
    # one row per key, as the pipeline's raw tables
    assert con.execute("select count(*) - count(distinct customer_id) from customers").fetchone()[0] == 0
    # typed: timestamps are timestamps, scores integers
    types = dict(con.execute("select column_name, column_type from (describe survey_responses)").fetchall())
    assert types["submitted_at"] == "TIMESTAMP" and types["likelihood_to_recommend"] == "BIGINT"


def test_the_results_table_states_ratio_and_stage_costs(bench):
    stages = dict.fromkeys(bench.STAGE_ORDER, 1.0)
    run = {"seconds": 10.0, "peak_rss_mb": 500.0, "stage_seconds": stages, "dbt_node_seconds": {}}
    result = {
        "responses": 1000,
        "landing_mb": 1.0,
        "memory_limit": None,
        "machine": "x",
        "measured_at": "now",
        "yardstick": {"seconds": 2.0, "peak_rss_mb": 100.0},
        "full": run,
        "daily": {**run, "seconds": 5.0},
        "ratio_full_to_yardstick": 5.0,
        "daily_share_of_full": 0.5,
    }
    text = bench.markdown(result)
    assert "**Full build / yardstick: 5.0x** (goal: at most 2x)" in text
    assert "**Daily increment / full build: 50 %**" in text
    assert all(f"| {stage} | 1.0 | 1.0 |  |" in text for stage in bench.STAGE_ORDER)
    assert "| start-up and between steps | 4.0 | -1.0 |  |" in text
    assert "nothing new /" not in text  # a result without the run says nothing of it
    with_idle = bench.markdown({**result, "nothing_new": {**run, "seconds": 2.5}, "nothing_new_share_of_full": 0.25})
    assert "| **whole `csat run`** | **10.0** | **5.0** | **2.5** |" in with_idle
    assert "| start-up and between steps | 4.0 | -1.0 | -3.5 |" in with_idle
    assert "A run with nothing new / full build: 25 %" in with_idle
    only_full = bench.markdown({**result, "daily": None, "daily_share_of_full": None})
    assert "| **whole `csat run`** | **10.0** |  |  |" in only_full and "Daily increment /" not in only_full
    assert "nodes, 2 threads)" in text  # the profile's default when the run set none
    one_thread = bench.markdown({**result, "dbt_threads": 1})
    assert "CSAT_DBT_THREADS=1" in one_thread and "nodes, 1 thread)" in one_thread
    assert "Data Docs' history" not in text
    assert bench.FULL_HISTORY == 8  # the README's `--history 8`: ten runs kept, less the full build and the increment
    with_history = bench.markdown({**result, "history_runs": 8})
    assert "; 8 runs with nothing new before the increment (the Data Docs' history)." in with_history


def test_rounds_report_medians_and_one_whole_round(bench):
    def round_(number, yard, full, daily, idle, peak):
        stages = dict.fromkeys(bench.STAGE_ORDER, full / 10)
        run = {"seconds": full, "peak_rss_mb": peak, "stage_seconds": stages, "dbt_node_seconds": {}}
        return {
            "round": number,
            "yardstick": {"seconds": yard, "peak_rss_mb": 100.0},
            "full": run,
            "daily": {**run, "seconds": daily, "peak_rss_mb": peak / 2},
            "nothing_new": {**run, "seconds": idle, "peak_rss_mb": peak / 4},
            "ratio_full_to_yardstick": full / yard,
            "daily_share_of_full": daily / full,
            "nothing_new_share_of_full": idle / full,
        }

    # ratios 4x, 8x, 5x; daily shares 30 %, 10 %, 40 %; nothing-new shares 10 %, 5 %, 20 %: the median
    # ratio is round 3's, the median daily share round 1's, the median nothing-new share round 1's
    measured = [
        round_(1, 10.0, 40.0, 12.0, 4.0, 900.0),
        round_(2, 10.0, 80.0, 8.0, 4.0, 700.0),
        round_(3, 10.0, 50.0, 20.0, 10.0, 800.0),
    ]
    combined = bench.combine_rounds(measured)
    assert combined["round"] == 3 and combined["full"]["seconds"] == 50.0  # the round of median ratio
    assert combined["ratio_full_to_yardstick"] == 5.0
    assert combined["daily_share_of_full"] == 0.3
    assert combined["nothing_new_share_of_full"] == 0.1
    assert combined["peak_rss_mb"] == 900.0  # the highest of any run, not the shown round's
    assert [r["round"] for r in combined["rounds"]] == [1, 2, 3]
    result = {"responses": 1000, "landing_mb": 1.0, "memory_limit": None, "machine": "x", "measured_at": "now"}
    text = bench.markdown({**result, **combined})
    assert "**Full build / yardstick: 5.0x**" in text and "**Daily increment / full build: 30 %**" in text
    assert "3 rounds, back to back; the ratios above are their medians, the table is round 3" in text
    assert "peak memory over every round 900 MB" in text
    assert "2: yardstick 10.0 s, full 80.0 s (8.0x), daily 8.0 s (10 %), nothing new 4.0 s (5 %)" in text
    assert "| **whole `csat run`** | **50.0** | **20.0** | **10.0** |" in text
    assert "A run with nothing new / full build: 10 %" in text
    one = bench.markdown({**result, **bench.combine_rounds(measured[:1])})
    assert "rounds" not in one and "**Full build / yardstick: 4.0x**" in one


@pytest.mark.pipeline  # runs `csat run` four times (minutes)
def test_benchmark_end_to_end_on_a_tiny_scale(tmp_path, bench, monkeypatch):
    monkeypatch.setattr(bench, "BENCH_DIR", tmp_path)
    result = bench.bench(3000, memory_limit="1GB", history=1)  # about 3 responses a day
    assert all(result[run]["returncode"] == 0 for run in ("full", "daily", "nothing_new"))
    # the history's run came before the day: it loaded nothing, and the increment loaded the day
    run_folder = tmp_path / "data" / "pipeline-3000" / "run"
    assert result["history_runs"] == 1 and "0 new files" in (run_folder / "history-1.out").read_text()
    assert set(result["full"]["stage_seconds"]) == set(bench.STAGE_ORDER)
    assert result["full"]["stage_seconds"]["dbt models"] > 0 and result["full"]["stage_seconds"]["dbt tests"] > 0
    assert result["full"]["peak_rss_mb"] > result["yardstick"]["peak_rss_mb"] > 0
    ingestion = {s["stage"]: s for s in result["daily"]["stages"]}["ingestion"]
    day_files = list((tmp_path / "data" / "pipeline-3000" / "day").rglob("*.*"))
    assert ingestion["files_loaded"] == len(day_files) > 0  # the held-back day, and nothing else
    idle = {s["stage"]: s for s in result["nothing_new"]["stages"]}
    assert idle["ingestion"]["files_loaded"] == 0 and result["nothing_new_share_of_full"] > 0
    # ... and its publication kept the published copy (the log kept is the latest run's)
    assert idle["publication"]["marts_changed"] == 0 < idle["publication"]["marts_published"]
    warehouse = run_folder / "warehouse" / "csat.duckdb"
    assert "Nothing new to publish" in bench.run_log_path(warehouse).read_text()
    assert not list((tmp_path / "data" / "pipeline-3000" / "landing").rglob(f"{bench.DAY_PREFIX}*"))
    json.dumps(result)
