"""A dbt build leaves its parse state where the next build starts from (no full re-parse per run)."""

from __future__ import annotations

import os
import threading
import time
from types import SimpleNamespace

import duckdb

from dagster_project.assets import warehouse
from dagster_project.assets.warehouse import (
    DBT_PROJECT_DIR,
    PROJECT_SOURCES,
    dbt_folders_of_this_run,
    ensure_manifest,
    keep_partial_parse,
    manifest_is_stale,
)


def test_the_build_s_parse_state_replaces_the_project_s(tmp_path):
    run_target, project_target = tmp_path / "target" / "build-abc1234-def5678", tmp_path / "target"
    run_target.mkdir(parents=True)
    (project_target / "partial_parse.msgpack").write_bytes(b"state of the last dbt parse")
    (run_target / "partial_parse.msgpack").write_bytes(b"state of this build")
    assert keep_partial_parse(run_target, project_target)
    assert (project_target / "partial_parse.msgpack").read_bytes() == b"state of this build"
    assert sorted(p.name for p in project_target.iterdir()) == ["build-abc1234-def5678", "partial_parse.msgpack"]


def test_a_build_without_parse_state_changes_nothing(tmp_path):
    (tmp_path / "partial_parse.msgpack").write_bytes(b"old")
    assert not keep_partial_parse(tmp_path / "missing", tmp_path)
    assert (tmp_path / "partial_parse.msgpack").read_bytes() == b"old"


def test_a_manifest_older_than_a_project_file_is_stale(tmp_path):
    """After a `git pull` that changed a model, the pipeline re-parses instead of building its assets
    from the old manifest (a model that became a Dagster asset would be defined twice)."""
    manifest = tmp_path / "manifest.json"
    assert manifest_is_stale(manifest)  # missing
    manifest.write_text("{}")
    sources = [DBT_PROJECT_DIR / name for name in PROJECT_SOURCES]
    files = [f for s in sources for f in ([s] if s.is_file() else s.rglob("*")) if f.is_file()]
    newest = max(f.stat().st_mtime for f in files)
    os.utime(manifest, (newest + 60, newest + 60))
    assert not manifest_is_stale(manifest)
    os.utime(manifest, (newest - 60, newest - 60))
    assert manifest_is_stale(manifest)


def test_processes_that_find_the_manifest_stale_at_once_parse_once(tmp_path, monkeypatch):
    """Two at once (pytest's workers after a model changed) used to both run `dbt parse` and write
    manifest.json together, and readers found it torn: the second now waits and uses the first's."""
    manifest = tmp_path / "target" / "manifest.json"
    parses = []

    def parse():
        parses.append(threading.get_ident())
        time.sleep(0.5)  # long enough for the other caller to find the manifest still missing
        manifest.write_text("{}")

    monkeypatch.setattr(warehouse, "get_dbt_project", lambda: SimpleNamespace(manifest_path=manifest))
    monkeypatch.setattr(warehouse, "_parse", parse)
    # threads stand for the processes: each call opens the lock file itself, and a flock belongs to
    # the open file, so the two calls exclude each other as two processes' would
    callers = [threading.Thread(target=ensure_manifest) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=30)
    assert len(parses) == 1 and manifest.read_text() == "{}"


def test_dbt_sees_every_warehouse_at_one_path_that_leads_to_its_folder(tmp_path):
    """One path for every warehouse file of a name (the vars and profile dbt keys its parse on stay the
    same); the link is to the folder, so DuckDB's files land next to the warehouse itself."""
    first, second = tmp_path / "a" / "csat.duckdb", tmp_path / "b" / "csat.duckdb"
    first.parent.mkdir()
    second.parent.mkdir()
    with dbt_folders_of_this_run(first) as seen_first:
        pass
    with dbt_folders_of_this_run(second) as seen_second:
        with duckdb.connect(str(seen_second)) as con:
            con.execute("create table t as select 1 as x")
    assert seen_first == seen_second and seen_second.name == "csat.duckdb"
    assert second.is_file() and not first.exists()
    assert sorted(p.name for p in second.parent.iterdir()) == ["csat.duckdb"]


def test_a_second_run_from_the_checkout_waits_for_the_first_s_dbt_step(tmp_path):
    order = []

    def second_run():
        with dbt_folders_of_this_run(tmp_path / "b" / "csat.duckdb") as seen:
            order.append(("second", seen.resolve().parent))

    with dbt_folders_of_this_run(tmp_path / "a" / "csat.duckdb") as seen:
        waiting = threading.Thread(target=second_run)
        waiting.start()
        waiting.join(timeout=1)
        assert waiting.is_alive()  # blocked on the lock, the link not repointed under the first
        order.append(("first", seen.resolve().parent))
    waiting.join(timeout=30)
    assert order == [("first", tmp_path.resolve() / "a"), ("second", tmp_path.resolve() / "b")]
