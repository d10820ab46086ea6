"""A dbt build leaves its parse state where the next build starts from (no full re-parse per run)."""

from __future__ import annotations

from dagster_project.assets.warehouse import keep_partial_parse


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
