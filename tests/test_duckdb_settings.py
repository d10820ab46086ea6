"""CSAT_DUCKDB_MEMORY_LIMIT reaches every DuckDB connection that writes: ingestion, dbt, publication."""

from __future__ import annotations

import duckdb
import pytest

from dagster_project.ingestion import warehouse

from kpi_reference import dbt_show

LIMIT = "1GB"


def _shown(limit: str | None) -> str:
    """How DuckDB reports a memory limit (it prints GiB/MiB, not what was set)."""
    with duckdb.connect(config={"memory_limit": limit} if limit else {}) as con:
        return con.execute("select current_setting('memory_limit')").fetchone()[0]


@pytest.fixture
def limited(monkeypatch) -> str:
    assert _shown(LIMIT) != _shown(None), "the test limit must differ from DuckDB's default"
    monkeypatch.setenv("CSAT_DUCKDB_MEMORY_LIMIT", LIMIT)
    return _shown(LIMIT)


def test_ingestion_connection_has_the_memory_limit(limited, tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == limited


def test_unset_leaves_duckdb_default(monkeypatch, tmp_path):
    monkeypatch.delenv("CSAT_DUCKDB_MEMORY_LIMIT", raising=False)
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] == _shown(None)


@pytest.mark.pipeline  # starts dbt
def test_dbt_profile_has_the_memory_limit(limited, monkeypatch, tmp_path):
    [row] = dbt_show("select current_setting('memory_limit') as memory_limit", tmp_path, monkeypatch)
    assert row["memory_limit"] == limited
