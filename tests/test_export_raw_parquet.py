"""scripts/export_raw_parquet.py: the raw schema as one Parquet folder per table, for dbt on Spark."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]


def _export_module():
    spec = importlib.util.spec_from_file_location("export_raw_parquet", REPO / "scripts" / "export_raw_parquet.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["export_raw_parquet"] = module
    spec.loader.exec_module(module)
    return module


export_raw_parquet = _export_module()


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "csat.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw")
        con.execute(
            "create table raw.tickets as select 't1' as ticket_id, timestamp '2026-01-02 03:04:05.123456' as opened_at"
        )
        con.execute("create table raw.followups (followup_id varchar, _loaded_at timestamp)")  # empty
        con.execute("create schema marts")
        con.execute("create table marts.kpi as select 1 as n")  # not raw: not exported
    return path


def test_every_raw_table_one_folder(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert export_raw_parquet.export_raw(warehouse, out) == {"followups": 0, "tickets": 1}
    assert sorted(p.name for p in out.iterdir()) == ["followups", "tickets"]
    con = duckdb.connect()
    # an empty table still has its columns; timestamps stay zone-less microseconds (Spark: TIMESTAMP_NTZ)
    assert con.execute(f"describe select * from '{out}/followups/*.parquet'").fetchall()[1][:2] == (
        "_loaded_at",
        "TIMESTAMP",
    )
    assert con.execute(f"select ticket_id, opened_at from '{out}/tickets/*.parquet'").fetchall() == [
        ("t1", duckdb.execute("select timestamp '2026-01-02 03:04:05.123456'").fetchone()[0])
    ]
    assert (
        con.execute(f"select logical_type from parquet_schema('{out}/tickets/data.parquet') where name = 'opened_at'")
        .fetchone()[0]
        .startswith("TimestampType(isAdjustedToUTC=0")
    )


def test_refuses_a_used_folder_and_a_missing_warehouse(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    (out / "tickets").mkdir(parents=True)
    (out / "tickets" / "stale.parquet").write_bytes(b"")
    with pytest.raises(FileExistsError, match="not empty"):
        export_raw_parquet.export_raw(warehouse, out)
    with pytest.raises(FileNotFoundError, match="no such DuckDB warehouse"):
        export_raw_parquet.export_raw(tmp_path / "missing.duckdb", tmp_path / "other")
