"""A small dirty delivery: for every entity, good rows plus rows that each break exactly one contract rule.

`write_dirty_delivery(landing_dir)` writes, per entity, one CSV (customers' in GB18030), one JSON Lines
and one Parquet file (all columns text) under `<landing>/<source>/<entity>/dirty_<entity>.<ext>`, and
returns the rows each file holds, the rows that must land in an empty warehouse and every reject the
loader must record (file, 1-based row number, rule, column). Rules, in the loader's order per column:
required, type, enum, range, future; then order rules; then duplicate; `malformed` for CSV lines with
the wrong number of fields. The bad rows are built from the contract, so a new column or rule is
covered without touching this module.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from csat_sample_data.generator import ITEM_CODES
from dagster_project import contract
from dagster_project.contract import Entity

FUTURE_TS = "2099-01-01T00:00:00Z"
# Values that are not empty and do not parse as the column type (two per type, used alternately).
BAD_TYPE_VALUES = {
    "int": ("abc", "9.5"),
    "num": ("twelve", "1.2.3"),
    "bool": ("maybe", "2"),
    "ts": ("not-a-timestamp", "2025-13-45 25:61:00"),
    "date": ("31/12/2024", "2025-02-30"),
}
BLANKS = (None, "", "   ")
FORMATS = ("csv", "jsonl", "parquet")
CSV_ENCODING = {"customers": "gb18030"}  # a Chinese CRM export


@dataclass
class ExpectedReject:
    entity: str
    file: str  # path relative to landing_dir, posix
    row_number: int
    rule: str
    column: str | None


@dataclass
class DirtyDelivery:
    files: list[Path]
    delivered: dict[str, int]
    loaded: dict[str, int]
    expected_rejects: list[ExpectedReject] = field(default_factory=list)


@dataclass
class _Row:
    values: dict
    rule: str | None = None
    column: str | None = None
    fmt: str | None = None  # the file format this row must go to
    malformed: str | None = None  # "extra" or "missing": a CSV line with a wrong field count


# ---------------------------------------------------------------------------------------------- good rows


def _ts(day: int, hour: int = 10, minute: int = 0) -> str:
    return f"2025-06-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def _good_survey_responses(i: int) -> dict:
    return {
        "response_id": f"DR-R{i:03d}", "survey_id": "SV-PUR-2025", "customer_id": f"DC{i:04d}",
        "submitted_at": _ts(1 + i % 28, 8 + i % 10, i % 60),
        "channel": contract.SURVEY_CHANNELS[i % len(contract.SURVEY_CHANNELS)],
        "touchpoint": contract.TOUCHPOINTS[i % len(contract.TOUCHPOINTS)],
        "likelihood_to_recommend": i % 11, "csat_score": 1 + i % 5, "effort_score": 1 + i % 7,
        "overall_satisfaction": 1 + i % 10, "expectation_confirmation": 1 + (i + 3) % 10,
        "ideal_comparison": 1 + (i + 5) % 10, "order_id": f"DO{i:04d}" if i % 2 else None,
        "ticket_id": None, "language": "en", "comment": "Fine, thanks." if i % 3 else None,
    }  # fmt: skip


def _good_survey_item_scores(i: int) -> dict:
    return {
        "response_id": f"DR-R{i // len(ITEM_CODES):03d}", "item_code": ITEM_CODES[i % len(ITEM_CODES)],
        "expectation_score": 1 + (i + 4) % 7, "perception_score": 1 + i % 7,
    }  # fmt: skip


def _good_tickets(i: int) -> dict:
    day = 1 + i % 25
    return {
        "ticket_id": f"DT{i:04d}", "customer_id": f"DC{i:04d}",
        "ticket_type": contract.TICKET_TYPES[i % 3], "channel": contract.TICKET_CHANNELS[i % 6],
        "category": contract.TICKET_CATEGORIES[i % 7], "severity": contract.SEVERITIES[i % 4],
        "opened_at": _ts(day, 9), "first_response_at": _ts(day, 11), "resolved_at": _ts(day, 20),
        "closed_at": _ts(day + 3, 9), "status": "closed", "reopen_count": i % 2, "contact_count": 1 + i % 3,
        "escalated": bool(i % 2), "agent_id": f"E{90000 + i % 5}", "order_id": f"DO{i:04d}",
        "description": "Parcel arrived damaged.",
    }  # fmt: skip


def _good_customers(i: int) -> dict:
    names = ("王芳", "李伟", "张静", "刘洋", "陈杰", "杨丽", "赵敏", "Emma Clarke")
    cities = ("北京", "上海", "广州", "成都", "武汉")
    return {
        "customer_id": f"DC{i:04d}", "full_name": names[i % len(names)],
        "email": f"dirty.customer{i}@example.com", "phone": f"+86 138-0000-{i:04d}", "gender": "FM"[i % 2],
        "birth_date": f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}", "city": cities[i % 5],
        "region": ("north", "east", "south", "west", "central")[i % 5], "segment": ("vip", "regular", "new")[i % 3],
        "signup_at": _ts(1 + i % 20, 3), "store_id": f"S{1 + i % 9:03d}", "account_manager_id": None,
        "updated_at": _ts(21 + i % 5, 4),
    }  # fmt: skip


def _good_orders(i: int) -> dict:
    return {
        "order_id": f"DO{i:04d}", "customer_id": f"DC{i:04d}", "ordered_at": _ts(1 + i % 28, 12),
        "status": contract.ORDER_STATUSES[i % 4], "channel": "app", "store_id": f"S{1 + i % 9:03d}",
        "product_category": "home", "amount": round(10 + 7.25 * i, 2), "currency": "CNY",
    }  # fmt: skip


def _good_stores(i: int) -> dict:
    return {
        "store_id": f"DS{i:03d}", "store_name": f"测试门店{i}号店", "city": "杭州", "region": "east",
        "opened_at": f"20{10 + i % 14}-0{1 + i % 9}-15",
    }  # fmt: skip


def _good_employees(i: int) -> dict:
    return {
        "employee_id": f"DE{i:04d}", "full_name": ("周杰", "Tom Ward", "林慧")[i % 3],
        "role": contract.EMPLOYEE_ROLES[i % 3], "team": "customer_care_1", "store_id": None,
        "hired_at": f"20{15 + i % 9}-0{1 + i % 9}-01",
    }  # fmt: skip


def _good_subscriptions(i: int) -> dict:
    return {
        "subscription_id": f"DSUB{i:04d}", "customer_id": f"DC{i:04d}", "plan": ("basic", "plus")[i % 2],
        "started_at": _ts(1 + i % 20, 6), "ended_at": _ts(22, 6) if i % 3 == 0 else None,
        "mrr": (19.0, 39.9)[i % 2], "cancel_reason": "price" if i % 3 == 0 else None,
    }  # fmt: skip


def _good_followups(i: int) -> dict:
    return {
        "followup_id": f"DF{i:04d}", "response_id": f"DR-R{i:03d}", "customer_id": f"DC{i:04d}",
        "ticket_id": f"DT{i:04d}" if i % 4 == 0 else None, "followed_up_at": _ts(2 + i % 25, 14),
        "channel": ("phone", "email")[i % 2], "employee_id": f"E{90000 + i % 5}", "outcome": "resolved",
    }  # fmt: skip


_GOOD: dict[str, Callable[[int], dict]] = {
    "survey_responses": _good_survey_responses,
    "survey_item_scores": _good_survey_item_scores,
    "tickets": _good_tickets,
    "customers": _good_customers,
    "orders": _good_orders,
    "stores": _good_stores,
    "employees": _good_employees,
    "subscriptions": _good_subscriptions,
    "followups": _good_followups,
}


def _special_good_rows(name: str, good: Callable[[int], dict]) -> list[dict]:
    """Good rows that a careless loader would reject: odd enum spelling, offsets, "7.0", Chinese text."""
    rows: list[dict] = []
    if name == "survey_responses":
        rows.append({**good(900), "channel": " Web ", "touchpoint": "DELIVERY"})
        rows.append({**good(901), "submitted_at": "2025-06-05T18:30:00+08:00", "language": "zh",
                     "comment": "送货很快，服务很好，下次还来！"})  # fmt: skip
        rows.append({**good(902), "likelihood_to_recommend": 7.0, "csat_score": "4.0", "submitted_at": "2025-06-06"})
        rows.append({**good(903), "submitted_at": "2025-06-07 09:15:00", "channel": "WeChat",
                     "comment": 'Said "next day", took 4 days, still OK'})  # fmt: skip
    elif name == "survey_item_scores":
        rows.append({**good(905), "perception_score": 7.0, "expectation_score": "5.0"})
    elif name == "tickets":
        rows.append({**good(900), "ticket_type": " Complaint ", "severity": "HIGH", "escalated": "yes",
                     "description": "商品有破损，要求退货。"})  # fmt: skip
        rows.append({**good(901), "opened_at": "2025-06-03T17:00:00+08:00", "first_response_at": "2025-06-03T10:30:00Z",
                     "resolved_at": "2025-06-03 20:00:00", "closed_at": None, "status": "Resolved",
                     "contact_count": 7.0, "escalated": "N"})  # fmt: skip
        rows.append({**good(902), "resolved_at": None, "closed_at": None, "status": "open", "first_response_at": None,
                     "reopen_count": 0, "escalated": None, "agent_id": None, "order_id": None})  # fmt: skip
    elif name == "customers":
        rows.append({**good(900), "signup_at": "2025-06-02T08:00:00+08:00", "segment": " VIP ", "birth_date": None})
        rows.append({**good(901), "full_name": "欧阳娜娜", "city": "呼和浩特", "updated_at": "2025-06-28 12:00:00"})
    elif name == "orders":
        rows.append({**good(900), "status": " Completed ", "amount": "0", "ordered_at": "2025-06-09T23:30:00+08:00"})
        rows.append({**good(901), "amount": 199.99, "product_category": "家居"})
    elif name == "stores":
        rows.append({**good(900), "store_name": "成都天街店", "city": "成都", "region": "west", "opened_at": None})
    elif name == "employees":
        rows.append({**good(900), "role": " Agent ", "full_name": "欧阳明"})
    elif name == "subscriptions":
        rows.append({**good(900), "started_at": "2025-06-01T00:00:00+08:00", "mrr": "0.00", "plan": "高级会员"})
        rows.append({**good(901), "ended_at": "2025-06-20 00:00:00", "cancel_reason": "服务太差"})
    return rows


# ---------------------------------------------------------------------------------------------- bad rows


def _order_columns(ent: Entity) -> set[str]:
    return {c for rule in ent.order_rules for c in rule}


def _isolated(ent: Entity, values: dict, keep: str) -> dict:
    """Blank the optional columns of order rules except `keep`, so no order rule can fire by accident."""
    out = dict(values)
    for col in _order_columns(ent):
        if col != keep and col not in ent.required_columns:
            out[col] = None
    return out


def _bad_rows(ent: Entity, good: Callable[[int], dict], start: int) -> list[_Row]:
    rows: list[_Row] = []
    n = start

    def base() -> dict:
        nonlocal n
        n += 1
        return good(n)

    for ci, col in enumerate(ent.columns):
        if col.required or col.name in ent.key:
            rows.append(_Row({**base(), col.name: BLANKS[len(rows) % 3]}, "required", col.name))
        if col.type != "str":
            value = BAD_TYPE_VALUES[col.type][ci % 2]
            rows.append(_Row({**base(), col.name: value}, "type", col.name))
        if col.values is not None or col.seed is not None:
            # "carrier_pigeon" is in no seed; "fax" in no fixed list
            rows.append(_Row({**base(), col.name: "fax" if col.values else "carrier_pigeon"}, "enum", col.name))
        if ent.name == "survey_item_scores" and col.name == "item_code":
            rows.append(_Row({**base(), col.name: "XYZ9"}, "enum", col.name))
        if ent.name == "survey_item_scores" and col.name in ("expectation_score", "perception_score"):
            rows.append(_Row({**base(), col.name: 8}, "range", col.name))  # the SERVQUAL items' scale is 1-7
        if col.min is not None:
            value = int(col.min) - 1 if col.type == "int" else -0.01
            rows.append(_Row({**base(), col.name: value}, "range", col.name))
        if col.max is not None:
            value = int(col.max) + 1 if col.type == "int" else col.max + 0.01
            rows.append(_Row({**base(), col.name: value}, "range", col.name))
        if col.not_future:
            rows.append(_Row(_isolated(ent, {**base(), col.name: FUTURE_TS}, col.name), "future", col.name))
    for later, earlier in ent.order_rules:
        values = _isolated(ent, base(), later)
        values[earlier] = values[earlier] or _ts(10, 12)
        if ent.name == "tickets" and earlier != "opened_at":  # closed_at before resolved_at, both after opening
            values["opened_at"], values[earlier], values[later] = _ts(10, 8), _ts(10, 15), _ts(10, 12)
        else:
            values[earlier], values[later] = _ts(10, 12), _ts(10, 11)
        rows.append(_Row(values, "order", later))
    return rows


def _duplicate_pair(ent: Entity, good: Callable[[int], dict], i: int) -> tuple[dict, dict]:
    """(loaded, rejected): two otherwise valid rows with the same key."""
    first, second = good(i), good(i + 1)
    for k in ent.key:
        second[k] = first[k]
    if ent.version_column:  # the greater version wins even though it comes first in the file
        first[ent.version_column], second[ent.version_column] = _ts(27, 10), _ts(26, 10)
    return first, second


# ---------------------------------------------------------------------------------------------- writing


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write_csv(path: Path, ent: Entity, rows: list[_Row], encoding: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ent.column_names)
    for row in rows:
        fields = [_text(row.values.get(c)) or "" for c in ent.column_names]
        if row.malformed == "extra":
            fields.append("unexpected")
        elif row.malformed == "missing":
            fields = fields[:-1]
        writer.writerow(fields)
    path.write_bytes(buf.getvalue().encode(encoding))


def _write_jsonl(path: Path, ent: Entity, rows: list[_Row]) -> None:
    lines = [json.dumps({c: row.values.get(c) for c in ent.column_names}, ensure_ascii=False) for row in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _write_parquet(path: Path, ent: Entity, rows: list[_Row]) -> None:
    con = duckdb.connect()
    try:
        con.execute("create table t (" + ", ".join(f'"{c}" varchar' for c in ent.column_names) + ")")
        if rows:
            con.executemany(
                "insert into t values (" + ", ".join("?" for _ in ent.column_names) + ")",
                [[_text(r.values.get(c)) for c in ent.column_names] for r in rows],
            )
        con.execute(f"copy t to '{str(path).replace(chr(39), chr(39) * 2)}' (format parquet)")
    finally:
        con.close()


def _key(ent: Entity, values: dict) -> tuple:
    return tuple(None if _text(values.get(k)) in (None, "") or not str(values.get(k)).strip() else values.get(k)
                 for k in ent.key)  # fmt: skip


def write_dirty_delivery(landing_dir: Path, *, seed: int = 7) -> DirtyDelivery:
    """Write the dirty delivery under landing_dir and say what loading it must do.

    `seed` rotates which file each good and bad row goes to (the rows themselves are fixed).
    """
    landing_dir = Path(landing_dir)
    result = DirtyDelivery(files=[], delivered={}, loaded={})
    for ei, ent in enumerate(contract.ENTITIES):
        good = _GOOD[ent.name]
        n_good = 12 if ent.name != "survey_item_scores" else 24
        goods = [_Row(good(i)) for i in range(n_good)] + [_Row(v) for v in _special_good_rows(ent.name, good)]
        bads = _bad_rows(ent, good, start=100)
        malformed = _Row(good(300), "malformed", None, "csv", ("extra", "missing")[ei % 2])
        winner, loser = _duplicate_pair(ent, good, 400)
        dup_fmt = FORMATS[(ei + seed) % 3]
        files: dict[str, list[_Row]] = {f: [] for f in FORMATS}
        for j, row in enumerate(goods):
            files[FORMATS[(j + seed) % 3]].append(row)
        for j, row in enumerate(bads):
            fmt = FORMATS[(j + seed + ei) % 3]
            # a blank key goes to a file with no other blank key of the same shape
            while any(_key(ent, r.values) == _key(ent, row.values) for r in files[fmt]):
                fmt = FORMATS[(FORMATS.index(fmt) + 1) % 3]
            files[fmt].append(row)
        files["csv"].insert(len(files["csv"]) // 2, malformed)
        winner_row = _Row(winner)
        loser_row = _Row(loser, "duplicate", None)
        loser_row.column = ",".join(ent.key)
        if ent.version_column:  # winner (greater version) first, loser last
            files[dup_fmt].insert(0, winner_row)
            files[dup_fmt].append(loser_row)
        else:  # no version: the last row wins
            files[dup_fmt].insert(0, loser_row)
            files[dup_fmt].append(winner_row)
        folder = landing_dir / ent.source / ent.name
        folder.mkdir(parents=True, exist_ok=True)
        delivered = 0
        keys = set()
        for fmt in FORMATS:
            rows = files[fmt]
            path = folder / f"dirty_{ent.name}.{fmt}"
            if fmt == "csv":
                _write_csv(path, ent, rows, CSV_ENCODING.get(ent.name, "utf-8"))
            elif fmt == "jsonl":
                _write_jsonl(path, ent, rows)
            else:
                _write_parquet(path, ent, rows)
            result.files.append(path)
            rel = path.relative_to(landing_dir).as_posix()
            delivered += len(rows)
            for number, row in enumerate(rows, start=1):
                if row.rule is None:
                    key = _key(ent, row.values)
                    if key in keys:
                        raise AssertionError(f"dirty delivery: key {key} of {ent.name} is loaded twice")
                    keys.add(key)
                else:
                    result.expected_rejects.append(ExpectedReject(ent.name, rel, number, row.rule, row.column))
        result.delivered[ent.name] = delivered
        result.loaded[ent.name] = len(keys)
        rejected = sum(1 for r in result.expected_rejects if r.entity == ent.name)
        assert delivered == len(keys) + rejected, (ent.name, delivered, len(keys), rejected)
    return result


def write_columns_mismatch_file(landing_dir: Path, entity_name: str) -> tuple[Path, list[str]]:
    """A CSV for the entity that lacks required contract columns; returns (path, missing columns).

    It drops every required column but the first key column, or the only required column if there is
    just one.
    """
    ent = contract.entity(entity_name)
    required = ent.required_columns
    missing = [c for c in required if c != ent.key[0]] or list(required)
    columns = [c for c in ent.column_names if c not in missing]
    good = _GOOD[ent.name]
    folder = Path(landing_dir) / ent.source / ent.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"columns_mismatch_{ent.name}.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for i in range(3):
        values = good(500 + i)
        writer.writerow([_text(values.get(c)) or "" for c in columns])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path, missing
