"""Shared fixtures. tests/ is on sys.path (no __init__.py), so helpers import as plain modules."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dagster_project.ingestion.warehouse import connect

# Ingestion pseudonymises e-mails and phones with a secret key (dagster_project/privacy); the tests
# use this one unless a test sets its own. Not a secret: it only ever keys test data.
os.environ.setdefault("CSAT_PSEUDONYM_KEY", "csat-test-pseudonym-key-0123456789abcdef")

from fixtures.postgres import postgres_server, postgres_url  # noqa: F401  (session-scoped PostgreSQL)

# pytest-xdist's workers run as `python -c ...`: their __main__ module has neither __spec__ nor
# __file__, which pyspark (the `spark` extra, in the test venv) takes for its own doctest runner:
# importing pyspark.sql.connect without its optional gRPC packages then ends the worker with
# sys.exit(0). Great Expectations imports that module whenever pyspark is installed, so under
# `pytest -n 2` the tests that build GX expectations died with SystemExit. A file for the worker's
# __main__ tells pyspark it is not a doctest run; it must exist and be harmless to run, as the GX
# worker process (multiprocessing, spawn) runs the parent's main file first. A plain pytest
# process has a __main__ file already.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = str(Path(__file__).parent / "fixtures" / "worker_main.py")

SLOW_KINDS = ("pipeline", "postgres", "browser", "superset", "spark")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test without a slow kind (pyproject's markers) is `fast`: `pytest -m fast` runs those."""
    for item in items:
        if not any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.fast)


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
