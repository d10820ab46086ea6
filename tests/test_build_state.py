"""The build state behind incremental builds (dagster_project/build_state.py): what forces a full
refresh, and the watermark an incremental build starts from."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from dagster_project import build_state, settings
from dagster_project.ingestion.warehouse import connect, refresh_entity_delivery

VARS = {"reporting_time_zone": "UTC", "csat_warehouse_path": "/a/csat.duckdb", "csat_seed_path": "../seeds"}


def with_marts(con) -> None:
    """What a build leaves in the marts file: an incremental plan needs the marts it built there."""
    con.execute("create table marts.kpi_monthly as select 1 as x")


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
        with_marts(con)
        con.execute(
            "insert into raw.load_manifest values "
            "('orders', 'a.csv', 'sha', 'csv', 'utf-8', 1, 1, 1, 0, timestamp '2026-11-01 10:00:00', 0)"
        )
        first = build_state.plan(con, "f1")
        assert first.full_refresh and first.watermark == "2026-11-01 10:00:00"
        build_state.record(con, first)  # the build passed
        con.execute(
            "insert into raw.load_manifest values "
            "('orders', 'b.csv', 'sha2', 'csv', 'utf-8', 1, 1, 1, 0, timestamp '2026-11-02 10:00:00', 0)"
        )
        second = build_state.plan(con, "f1")
        assert not second.full_refresh and second.delivered == {"orders"} and not first.delivered
        assert (second.changed_since, second.watermark) == ("2026-11-01 10:00:00", "2026-11-02 10:00:00")
        # a build that fails records nothing: the next plan is the same
        assert build_state.plan(con, "f1") == second
        assert build_state.plan(con, "f2").full_refresh  # the project, seeds or vars changed


def test_raw_rows_changed_in_place_count_as_every_entity_delivered(tmp_path):
    """The privacy maintenance (a rotated key, retention, an erasure applied again) changes raw rows
    without a load: the next build rebuilds what every entity reaches, and moves the watermark past
    the change, so the build after it does not again."""
    from dagster_project.contract import ENTITIES_BY_NAME

    with connect(tmp_path / "csat.duckdb") as con:
        with_marts(con)
        con.execute(
            "insert into raw.load_manifest values "
            "('orders', 'a.csv', 'sha', 'csv', 'utf-8', 1, 1, 1, 0, timestamp '2026-11-01 10:00:00', 0)"
        )
        build_state.record(con, build_state.plan(con, "f1"))
        assert build_state.plan(con, "f1").delivered == frozenset()  # nothing since
        con.execute("insert into raw.privacy_changes values ('retention', 3, timestamp '2026-11-03 00:00:00')")
        after = build_state.plan(con, "f1")
        assert after.delivered == set(ENTITIES_BY_NAME) and after.watermark == "2026-11-03 00:00:00"
        build_state.record(con, after)
        assert build_state.plan(con, "f1").delivered == frozenset()


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
            "('tickets', 'a.jsonl', 'sha', 'jsonl', 'utf-8', 1, 1, 1, 0, timestamp '2026-11-01 10:00:00', 0)"
        )
        refresh_entity_delivery(con, declared=())  # tickets are delivered now
        assert build_state.with_deliveries(con, "f1") != with_column


def test_forget_drops_the_state_in_an_attached_copy_too(tmp_path):
    path = tmp_path / "csat.duckdb"
    with connect(path) as con:
        with_marts(con)
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


def test_an_incremental_build_leaves_out_what_no_delivered_row_reaches():
    """build_scope.left_out_nodes on a small graph: orders delivered reach their staging model, the
    fact that joins customers and the test between the two; the customers' model and its tests
    (a warning too), the seed and its test are left out; the model that reads the clock always
    runs, and the tables every delivery rewrites count as delivered whenever anything was."""
    from dagster_project import build_scope

    def node(kind: str, name: str, parents: list[str], **config) -> tuple[str, dict]:
        tags = config.pop("tags", [])
        return f"{kind}.p.{name}", {
            "name": name,
            "resource_type": kind,
            "config": config,
            "tags": tags,
            "depends_on": {"nodes": parents} if parents else {"macros": []},  # as dbt writes a seed's
        }

    def source(name: str) -> tuple[str, dict]:
        return f"source.p.raw.{name}", {"identifier": name}

    sources = dict([source("orders"), source("customers"), source("entity_delivery")])
    nodes = dict(
        [
            node("model", "stg_orders", ["source.p.raw.orders"]),
            node("model", "stg_customers", ["source.p.raw.customers"]),
            node("model", "fct_orders", ["model.p.stg_orders", "model.p.stg_customers"]),
            node("model", "delivery", ["source.p.raw.entity_delivery"]),
            node("model", "latest", ["model.p.stg_customers"], tags=[build_scope.BUILD_TIME_TAG]),
            node("seed", "channels", []),
            node("test", "unique_channels", ["seed.p.channels"]),
            node("test", "not_null_stg_customers", ["model.p.stg_customers"]),
            node("test", "orphans_stg_customers", ["model.p.stg_customers"], severity="warn"),
            node("test", "fct_orders_to_customers", ["model.p.fct_orders", "model.p.stg_customers"]),
            node("test", "source_customers_id", ["source.p.raw.customers"]),
        ]
    )
    child_map: dict[str, list[str]] = {u: [] for u in [*sources, *nodes]}
    for unique_id, n in nodes.items():
        for parent in n["depends_on"].get("nodes", []):
            child_map[parent].append(unique_id)
    manifest = {"sources": sources, "nodes": nodes, "child_map": child_map}

    assert sorted(build_scope.left_out_nodes(manifest, {"orders"})) == [
        "model.p.stg_customers",
        "seed.p.channels",
        "test.p.not_null_stg_customers",
        "test.p.orphans_stg_customers",
        "test.p.source_customers_id",
        "test.p.unique_channels",
    ]
    # dbt is told the models and seeds, and the tests it would not drop by itself (cautious indirect
    # selection drops a test whose parents are all excluded; a source is never excluded).
    left_out = build_scope.left_out_nodes(manifest, {"orders"})
    assert build_scope.exclude_args(manifest, left_out) == [
        "--exclude",
        "stg_customers channels source_customers_id",
        "--indirect-selection",
        "cautious",
    ]
    assert build_scope.exclude_args(manifest, []) == []
    # A singular test that reads no node is dropped by no parent: it is named.
    lone = {"nodes": {"test.p.lone": {"name": "lone", "resource_type": "test", "depends_on": {"nodes": []}}}}
    assert build_scope.exclude_args(lone, ["test.p.lone"])[:2] == ["--exclude", "lone"]
    nothing = build_scope.left_out_nodes(manifest, set())
    order = {unique_id: position for position, unique_id in enumerate(nothing)}  # Dagster's outputs: parents first
    assert all(order[p] < order[u] for u in nothing for p in nodes[u]["depends_on"].get("nodes", []) if p in order)
    assert set(nodes) - set(nothing) == {"model.p.latest"}
    assert "model.p.delivery" in nothing and "model.p.delivery" not in build_scope.left_out_nodes(
        manifest, {"customers"}
    )
    assert not build_scope.builds_nothing(manifest, nothing)
    # No month ended since the previous build either: nothing is built (dbt is not started); a
    # delivery still reaches the model that reads the clock through its data.
    idle = build_scope.left_out_nodes(manifest, set(), month_ended=False)
    assert set(idle) == set(nodes) and build_scope.builds_nothing(manifest, idle)
    assert "model.p.latest" not in build_scope.left_out_nodes(manifest, {"customers"}, month_ended=False)


@pytest.mark.parametrize(
    ("previous", "clock", "ended"),
    [
        ("2026-11-03 08:00", "2026-11-30 23:59:59.999999", False),  # the same month
        ("2026-11-30 23:59:59.999999", "2026-12-01 00:00", True),  # November ended at midnight
        ("2026-11-01 00:00", "2026-11-01 00:00", False),
        ("2025-12-15 00:00", "2026-12-15 00:00", True),  # the same month of another year
        ("2026-12-01 00:00", "2026-11-30 23:00", True),  # the clock moved back across a month's end
        (None, "2026-11-03 08:00", True),  # the previous build's clock is not known
        ("2026-11-03 08:00", None, True),
    ],
)
def test_a_month_ended_between_two_builds_only_across_a_month_boundary(previous, clock, ended):
    """scorecard_latest marks the months whose end (the first instant of the next month, UTC) is at
    or before the build's clock: within one calendar month that set cannot change."""
    from datetime import datetime

    def at(text):
        return None if text is None else datetime.fromisoformat(text)

    assert build_state.month_ended_between(at(previous), at(clock)) is ended


def test_the_next_build_knows_whether_a_month_ended_since_the_recorded_clock(tmp_path):
    """The clock is recorded with the watermark of a build that passed; a state written before the
    clock was kept (no such column) counts as a month ended."""
    from datetime import datetime

    with connect(tmp_path / "csat.duckdb") as con:
        with_marts(con)
        con.execute(
            "insert into raw.load_manifest values "
            "('orders', 'a.csv', 'sha', 'csv', 'utf-8', 1, 1, 1, 0, timestamp '2026-11-01 10:00:00', 0)"
        )
        con.execute(
            f"create table {build_state.STATE_TABLE} "
            "(fingerprint varchar not null, watermark timestamp, built_at timestamp not null)"
        )
        con.execute(
            f"insert into {build_state.STATE_TABLE} values ('f1', '2026-11-01 10:00:00', '2026-11-02 00:00:00')"
        )
        assert build_state.plan(con, "f1", datetime(2026, 11, 2, 6)).month_ended  # the old state's clock: unknown
        built = build_state.plan(con, "f1", datetime(2026, 11, 2, 6))
        build_state.record(con, built)
        assert build_state.plan(con, "f1", datetime(2026, 11, 30, 23)).month_ended is False
        assert build_state.plan(con, "f1", datetime(2026, 12, 1, 0)).month_ended is True
        assert build_state.plan(con, "f1").month_ended is True  # no clock given: not known
        assert build_state.plan(con, "f2", datetime(2026, 11, 3)).full_refresh


def test_dbt_s_tests_gate_through_dbt_s_build_not_as_blocking_checks():
    """Every dbt test is an asset check, none blocking: an error-severity failure fails dbt's build,
    which stops the run before anything downstream; an incremental build leaves tests out
    (build_scope.py), and a blocking check without a result is a warning per test on the terminal."""
    from dagster_project.assets.warehouse import build_warehouse_assets, get_dbt_project

    specs = list(build_warehouse_assets().check_specs)
    nodes = json.loads(get_dbt_project().manifest_path.read_text(encoding="utf-8"))["nodes"].values()
    assert len(specs) == sum(node["resource_type"] == "test" for node in nodes) > 150
    assert not any(spec.blocking for spec in specs)


def test_every_model_that_reads_the_clock_is_tagged_so():
    """An incremental build with nothing new delivered rebuilds only what reads the build's clock,
    found by its tag (build_scope.py): a model that read the clock untagged would keep a stale
    month. The project's SQL and macros are searched for the clock (dbt's macro, DuckDB's and
    Spark's functions)."""
    from dagster_project import build_scope
    from dagster_project.assets.warehouse import get_dbt_project

    manifest = json.loads(get_dbt_project().manifest_path.read_text(encoding="utf-8"))
    clock = re.compile(r"current_timestamp|current_date|\bnow\s*\(|\btoday\s*\(|localtimestamp", re.IGNORECASE)
    macros = [m for m in manifest["macros"].values() if m["package_name"] == "csat_warehouse"]
    assert [m["name"] for m in macros if clock.search(m["macro_sql"])] == []
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    reading = {n["name"] for n in models if clock.search(re.sub(r"--[^\n]*", "", n["raw_code"]))}
    tagged = {n["name"] for n in models if build_scope.BUILD_TIME_TAG in n["tags"]}
    assert reading == tagged == {"scorecard_latest"}


def test_a_lost_marts_file_makes_the_next_build_a_full_refresh(tmp_path):
    """A marts file removed or lost is created anew and empty: an incremental build would rebuild
    only the marts the delivered rows reach, and leave the others missing."""
    path = tmp_path / "csat.duckdb"
    with connect(path) as con:
        with_marts(con)
        build_state.record(con, build_state.BuildPlan("f1", "2026-11-01 10:00:00", None))
        assert not build_state.plan(con, "f1").full_refresh
    settings.marts_path(path).unlink()
    with connect(path) as con:
        assert build_state.plan(con, "f1").full_refresh
