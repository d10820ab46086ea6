"""Shared fixtures. tests/ is on sys.path (no __init__.py), so helpers import as plain modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagster_project.ingestion.warehouse import connect

from fixtures.postgres import postgres_server, postgres_url  # noqa: F401  (session-scoped PostgreSQL)


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "csat.duckdb"


@pytest.fixture
def con(warehouse_path: Path):
    connection = connect(warehouse_path)
    yield connection
    connection.close()
