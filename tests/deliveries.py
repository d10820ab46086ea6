"""Writing small hand-made deliveries in each file format, for the ingestion tests."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import duckdb
import openpyxl
import pandas
import xlwt
import yaml

from dagster_project.contract import Entity
from dagster_project.ingestion.loader import EntityRules, entity_rules

REPO_SEEDS = Path(__file__).parent.parent / "seeds"


def mapped_rules(tmp_path: Path, entity: Entity, mapping: dict, seeds: Path = REPO_SEEDS) -> EntityRules:
    """The entity's rules with `mapping` as its mapping file (in `tmp_path/mappings/`)."""
    folder = tmp_path / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{entity.name}.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    return entity_rules(entity, seeds, folder)


def entity_folder(landing: Path, entity: Entity) -> Path:
    folder = landing / entity.source / entity.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_csv(path: Path, rows: list[dict], columns: list[str], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def write_parquet(path: Path, rows: list[dict], columns: list[str]) -> Path:
    """Parquet with every column as text (typed Parquet columns are covered by the generator data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("create table t (" + ", ".join(f'"{c}" varchar' for c in columns) + ")")
    for row in rows:
        con.execute(
            "insert into t values (" + ", ".join("?" for _ in columns) + ")",
            [None if row.get(c) is None else str(row.get(c)) for c in columns],
        )
    con.execute(f"copy t to '{path}' (format parquet)")
    con.close()
    return path


def survey_response(response_id: str, **overrides) -> dict:
    row = {
        "response_id": response_id,
        "survey_id": "S1",
        "customer_id": "C1",
        "submitted_at": "2025-03-10T12:00:00Z",
        "channel": "web",
        "touchpoint": "purchase",
        "likelihood_to_recommend": "9",
        "csat_score": "5",
        "effort_score": "6",
        "overall_satisfaction": "9",
        "expectation_confirmation": "8",
        "ideal_comparison": "9",
        "order_id": None,
        "ticket_id": None,
        "language": "en",
        "comment": "fine",
    }
    row.update(overrides)
    return row


def ticket(ticket_id: str, **overrides) -> dict:
    row = {
        "ticket_id": ticket_id,
        "customer_id": "C1",
        "ticket_type": "complaint",
        "channel": "phone",
        "category": "delivery",
        "severity": "high",
        "opened_at": "2025-03-10T08:00:00Z",
        "first_response_at": "2025-03-10T09:00:00Z",
        "resolved_at": "2025-03-11T08:00:00Z",
        "closed_at": "2025-03-12T08:00:00Z",
        "status": "closed",
        "reopen_count": "0",
        "contact_count": "1",
        "escalated": "false",
        "agent_id": "E1",
        "order_id": None,
        "description": "late parcel",
    }
    row.update(overrides)
    return row


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A workbook with a sheet per entry of `sheets`, in the format its suffix names (.xlsx with some
    formatting past each sheet's cells, .xls, .ods)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        _write_xls(path, sheets)
    elif suffix == ".ods":
        with pandas.ExcelWriter(path, engine="odf") as writer:
            for name, rows in sheets.items():
                pandas.DataFrame(rows).to_excel(writer, sheet_name=name, header=False, index=False)
    else:
        book = openpyxl.Workbook()
        book.remove(book.active)
        for name, rows in sheets.items():
            sheet = book.create_sheet(name)
            for row in rows:
                sheet.append(row)
            sheet.cell(row=len(rows) + 5, column=8).number_format = "0.00"  # formatting below and right
        book.save(path)
    return path


def _write_xls(path: Path, sheets: dict[str, list[list]]) -> None:
    book = xlwt.Workbook()
    timestamp = xlwt.easyxf(num_format_str="YYYY-MM-DD HH:MM:SS")
    for name, rows in sheets.items():
        sheet = book.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value, *([timestamp] if isinstance(value, datetime) else []))
    book.save(str(path))
