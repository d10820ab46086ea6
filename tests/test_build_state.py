"""The build state behind incremental builds (dagster_project/build_state.py): what forces a full
refresh, and the watermark an incremental build starts from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dagster_project import build_state
from dagster_project.ingestion.warehouse import connect, refresh_entity_delivery

VARS = {"reporting_time_zone": "UTC", "csat_warehouse_path": "/a/csat.duckdb", "csat_seed_path": "../seeds"}


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    project_dir, seeds = tmp_path / "dbt_project", tmp_path / "seeds"
    (project_dir / "models").mkdir(parents=True)
    (project_dir / "macros").mkdir()
    (project_dir / "models" / "fct.sql").write_text("select 1 as x\n")
    (project_dir / "dbt_project.yml").write_text("name: p\n")
    seeds.mkdir()
    (seeds / "channels.csv").write_text("channel\nweb\n")
    return project_dir, seeds


def test_the_fingerprint_changes_with_sql_seeds_and_shaping_vars_only(project):
    project_dir, seeds = project
    base = build_state.fingerprint(project_dir, seeds, VARS)
    moved = {**VARS, "csat_warehouse_path": "/b/csat.duckdb", "csat_seed_path": "../elsewhere"}
    assert build_state.fingerprint(project_dir, seeds, moved) == base  # where things are: no change
    assert build_state.fingerprint(project_dir, seeds, {**VARS, "reporting_time_zone": "Asia/Shanghai"}) != base
    (seeds / "channels.csv").write_text("channel\nweb\nstore\n")
    after_seed = build_state.fingerprint(project_dir, seeds, VARS)
    assert after_seed != base
    (project_dir / "models" / "fct.sql").write_text("select 2 as x\n")
    assert build_state.fingerprint(project_dir, seeds, VARS) != after_seed


def test_a_first_build_is_a_full_refresh_and_the_next_starts_from_its_watermark(tmp_path):
    with connect(tmp_path / "csat.duckdb") as con:
        con.execute(
            "insert into raw.load_manifest values "
            "('orders', 'a.csv', 'sha', 'csv', 'utf-8', 1, 1, 1, 0, timestamp '2026-11-01 10:00:00')"
        )
        first = build_state.plan(con, "f1")
        assert first.full_refresh and first.watermark == "2026-11-01 10:00:00"
        build_state.record(con, first)  # the build passed
        con.execute(
            "insert into raw.load_manifest values "
            "('orders', 'b.csv', 'sha2', 'csv', 'utf-8', 1, 1, 1, 0, timestamp '2026-11-02 10:00:00')"
        )
        second = build_state.plan(con, "f1")
        assert not second.full_refresh
        assert (second.changed_since, second.watermark) == ("2026-11-01 10:00:00", "2026-11-02 10:00:00")
        # a build that fails records nothing: the next plan is the same
        assert build_state.plan(con, "f1") == second
        assert build_state.plan(con, "f2").full_refresh  # the project, seeds or vars changed


def test_a_first_delivery_of_an_entity_or_a_column_forces_a_full_refresh(tmp_path):
    with connect(tmp_path / "csat.duckdb") as con:
        refresh_entity_delivery(con, declared=())
        before = build_state.with_deliveries(con, "f1")
        assert build_state.with_deliveries(con, "f1") == before  # nothing new delivered: the same
        assert build_state.with_deliveries(con, "f2") != before  # the project's part still counts
        con.execute("insert into raw.delivered_columns values ('survey_responses', 'csat_score')")
        with_column = build_state.with_deliveries(con, "f1")
        assert with_column != before
        con.execute("insert into raw.delivered_columns values ('survey_responses', 'csat_score')")
        assert build_state.with_deliveries(con, "f1") == with_column  # the same column again: no change
        con.execute(
            "insert into raw.load_manifest values "
            "('tickets', 'a.jsonl', 'sha', 'jsonl', 'utf-8', 1, 1, 1, 0, timestamp '2026-11-01 10:00:00')"
        )
        refresh_entity_delivery(con, declared=())  # tickets are delivered now
        assert build_state.with_deliveries(con, "f1") != with_column


def test_forget_drops_the_state_in_an_attached_copy_too(tmp_path):
    path = tmp_path / "csat.duckdb"
    with connect(path) as con:
        build_state.record(con, build_state.BuildPlan("f1", "2026-11-01 10:00:00", None))
    shutil.copy(path, tmp_path / "previous.duckdb")
    with connect(path) as con:
        con.execute(f"attach '{tmp_path / 'previous.duckdb'}' as previous")
        build_state.forget(con, "previous")
        assert build_state.plan(con, "f1").changed_since == "2026-11-01 10:00:00"  # this file kept it
        tables = con.execute(
            "select count(*) from information_schema.tables where table_catalog = 'previous' "
            "and table_name = 'dbt_build_state'"
        ).fetchone()[0]
        assert tables == 0
        build_state.forget(con)
        assert build_state.plan(con, "f1").full_refresh


def test_an_incremental_build_leaves_out_error_seed_only_data_tests(tmp_path):
    from dagster_project.assets.warehouse import seed_only_data_tests

    def test(name: str, parents: list[str], severity: str = "ERROR") -> dict:
        return {
            "name": name,
            "resource_type": "test",
            "config": {"severity": severity},
            "depends_on": {"nodes": parents},
        }

    nodes = [
        test("unique_channels_code", ["seed.p.channels"]),
        test("channels_match_groups", ["seed.p.channels", "seed.p.channel_groups"]),
        test("channels_warn", ["seed.p.channels"], severity="warn"),  # warnings keep showing
        test("fct_channel_in_seed", ["model.p.fct", "seed.p.channels"]),  # reads new rows
        test("not_null_fct", ["model.p.fct"]),
        {"name": "channels", "resource_type": "seed", "config": {}, "depends_on": {"nodes": []}},
    ]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": {f"n{i}": n for i, n in enumerate(nodes)}}))
    assert seed_only_data_tests(manifest) == ["channels_match_groups", "unique_channels_code"]


def test_the_tests_of_seeds_alone_gate_nothing_in_dagster():
    """dbt's build fails on them by itself; an incremental build leaves them out, and a blocking
    check without a result would be a warning per test on the terminal."""
    from dagster_project.assets.warehouse import build_warehouse_assets, get_dbt_project, seed_only_data_tests

    specs = {spec.name: spec for spec in build_warehouse_assets().check_specs}
    seed_tests = set(seed_only_data_tests(get_dbt_project().manifest_path))
    assert len(seed_tests) > 40 and seed_tests <= set(specs)
    assert not any(specs[name].blocking for name in seed_tests)
    assert sum(spec.blocking for name, spec in specs.items() if name not in seed_tests) > 150
