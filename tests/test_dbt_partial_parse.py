"""A dbt build leaves its parse state where the next build starts from (no full re-parse per run)."""

from __future__ import annotations

import os

from dagster_project.assets.warehouse import (
    DBT_PROJECT_DIR,
    PROJECT_SOURCES,
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
