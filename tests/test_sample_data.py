"""The sample-data generator: layout, formats, contract compliance, counts, built-in effects, dirty delivery.

The rules are re-implemented here in plain Python (independent of the loader) from the contract.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from csat_sample_data import (
    DRIVER_WEIGHTS,
    ITEM_CODES,
    SUMMARY_FILE,
    generate_sample_data,
    write_columns_mismatch_file,
    write_dirty_delivery,
)
from dagster_project import contract

REPO = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 1)
HISTORY_START = datetime(2024, 5, 1, tzinfo=UTC)
HISTORY_END = datetime(2026, 11, 1, tzinfo=UTC)
EXTRA_COLUMNS = {"source_system"}
SEED_ITEM_CODES = [r["item_code"] for r in csv.DictReader(open(REPO / "seeds" / "survey_items.csv"))]
NOT_GENERATED = {"company_response_at", "sla_met", "is_satisfied"}
SERVQUAL_SCALE = (1, 7)  # every item of the repo's catalogue


def seed_values(col: contract.Column) -> tuple[str, ...]:
    """Allowed values of a seed-driven column: the repo seed's values (any column of `col.seed`)."""
    file_name, columns = col.seed
    path = REPO / "seeds" / file_name
    if not path.exists():
        return contract.SEED_DEFAULTS[file_name]
    return tuple(r[c] for r in csv.DictReader(open(path)) for c in columns if r.get(c))


# ---------------------------------------------------------------------------------------------- reading files


def decode_csv_bytes(raw: bytes) -> tuple[str, str]:
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "gb18030"


def _as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_records(path: Path) -> tuple[list[str], list[tuple[int, dict | None]]]:
    """(columns, [(row_number, {column: text or None}) ...]); a malformed CSV line gives (n, None)."""
    suffix = path.suffix
    if suffix == ".csv":
        text, _ = decode_csv_bytes(path.read_bytes())
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        records = []
        for number, fields in enumerate(reader, start=1):
            if len(fields) != len(header):
                records.append((number, None))
            else:
                records.append((number, {c: (v if v != "" else None) for c, v in zip(header, fields, strict=True)}))
        return header, records
    if suffix == ".jsonl":
        records, columns = [], []
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                obj = json.loads(line)
                columns = columns or list(obj)
                records.append((number, {k: _as_text(v) for k, v in obj.items()}))
        return columns, records
    if suffix == ".parquet":
        con = duckdb.connect()
        con.execute("set TimeZone = 'UTC'")
        rel = con.sql(f"select * from read_parquet('{path}')")
        columns = rel.columns
        select = ", ".join(f'cast("{c}" as varchar)' for c in columns)
        casted = con.sql(f"select {select} from read_parquet('{path}')")
        rows = [(i, dict(zip(columns, values, strict=True))) for i, values in enumerate(casted.fetchall(), start=1)]
        con.close()
        return columns, rows
    raise AssertionError(f"unexpected file {path}")


def read_columns(path: Path) -> list[str]:
    if path.suffix == ".csv":
        text, _ = decode_csv_bytes(path.read_bytes())
        return next(csv.reader(io.StringIO(text.split("\n", 1)[0])))
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as f:
            return list(json.loads(f.readline()))
    return duckdb.sql(f"select * from read_parquet('{path}') limit 0").columns


def data_files(landing: Path) -> list[Path]:
    return sorted(p for p in landing.rglob("*") if p.is_file() and p.name != SUMMARY_FILE)


def entity_files(landing: Path, ent: contract.Entity) -> list[Path]:
    folder = landing / ent.source / ent.name
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.exists() else []


# ---------------------------------------------------------------------------------------------- the rules

_INT = re.compile(r"^[+-]?\d+(\.0*)?$")
_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_BOOLS = {"true", "false", "1", "0", "yes", "no", "t", "f", "y", "n"}
NOW = datetime.now(UTC)


def parse_ts(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parses(col: contract.Column, text: str) -> bool:
    text = text.strip()
    if col.type == "int":
        return bool(_INT.match(text))
    if col.type == "num":
        return bool(_NUM.match(text))
    if col.type == "bool":
        return text.lower() in _BOOLS
    if col.type == "ts":
        return parse_ts(text) is not None
    if col.type == "date":
        return bool(re.match(r"^\d{4}-\d{2}-\d{2}$", text)) and _date_ok(text)
    return True


def _date_ok(text: str) -> bool:
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        return False


@functools.cache  # each column's seed is read once, not once per row checked
def _allowed_lower(entity_name: str, col: contract.Column) -> frozenset[str] | None:
    """The values `col` accepts, lower-cased (the loader compares trimmed, lower-cased text)."""
    allowed = seed_values(col) if col.seed else col.values
    if entity_name == "survey_item_scores" and col.name == "item_code":
        allowed = tuple(SEED_ITEM_CODES)
    return None if allowed is None else frozenset(v.lower() for v in allowed)


def first_violation(ent: contract.Entity, values: dict) -> tuple[str, str] | None:
    """(rule, column) of the first rule the row breaks, duplicates aside; None when it passes."""
    for col in ent.columns:
        text = values.get(col.name)
        blank = text is None or not str(text).strip()
        if blank:
            if col.required or col.name in ent.key:
                return "required", col.name
            continue
        if not parses(col, text):
            return "type", col.name
        allowed = _allowed_lower(ent.name, col)
        if allowed is not None and text.strip().lower() not in allowed:
            return "enum", col.name
        low, high = col.min, col.max
        if ent.name == "survey_item_scores" and col.name in ("expectation_score", "perception_score"):
            low, high = SERVQUAL_SCALE
        if low is not None or high is not None:
            number = float(text)
            if (low is not None and number < low) or (high is not None and number > high):
                return "range", col.name
        if col.not_future and parse_ts(text) > NOW:
            return "future", col.name
    for later, earlier in ent.order_rules:
        a, b = values.get(later), values.get(earlier)
        if a and a.strip() and b and b.strip() and parse_ts(a) < parse_ts(b):
            return "order", later
    return None


def check_file(ent: contract.Entity, path: Path) -> dict[int, tuple[str, str | None]]:
    """{row_number: (rule, column)} for every row the loader must reject."""
    _, records = read_records(path)
    rejects: dict[int, tuple[str, str | None]] = {}
    survivors: dict[tuple, list[tuple[int, dict]]] = defaultdict(list)
    for number, values in records:
        if values is None:
            rejects[number] = ("malformed", None)
            continue
        violation = first_violation(ent, values)
        if violation:
            rejects[number] = violation
        else:
            survivors[tuple(values[k].strip() for k in ent.key)].append((number, values))
    for rows in survivors.values():
        if len(rows) < 2:
            continue
        if ent.version_column:
            best = max(range(len(rows)), key=lambda i: (parse_ts(rows[i][1][ent.version_column] or "0001-01-01"), i))
        else:
            best = len(rows) - 1
        for i, (number, _) in enumerate(rows):
            if i != best:
                rejects[number] = ("duplicate", ",".join(ent.key))
    return rejects


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, object]:
    landing = tmp_path_factory.mktemp("clean") / "landing"
    summary = generate_sample_data(landing, seed=42, responses=12_000)
    return landing, summary


@pytest.fixture(scope="module")
def frames(clean) -> dict[str, pd.DataFrame]:
    """Every entity as one DataFrame of text, files in delivery order, with `_file` and `_row`."""
    landing, _ = clean
    out = {}
    for ent in contract.ENTITIES:
        parts = []
        for path in entity_files(landing, ent):
            columns, records = read_records(path)
            df = pd.DataFrame([v for _, v in records], columns=columns)
            df["_file"] = path.name
            df["_row"] = [n for n, _ in records]
            parts.append(df)
        out[ent.name] = pd.concat(parts, ignore_index=True)
    return out


def latest(frames: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """What raw.<name> holds after loading: one row per key, the last delivery wins."""
    ent = contract.entity(name)
    df = frames[name]
    return df.drop_duplicates(list(ent.key), keep="last").reset_index(drop=True)


def to_num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


@pytest.fixture(scope="module")
def dirty(tmp_path_factory):
    landing = tmp_path_factory.mktemp("dirty") / "landing"
    return landing, write_dirty_delivery(landing)


# ---------------------------------------------------------------------------------------------- clean data


def test_item_codes_match_the_seed():
    assert list(ITEM_CODES) == SEED_ITEM_CODES


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    def build(name: str, seed: int) -> dict[str, bytes]:
        landing = tmp_path / name
        generate_sample_data(landing, seed=seed, responses=400, months=4)
        return {p.relative_to(landing).as_posix(): p.read_bytes() for p in landing.rglob("*") if p.is_file()}

    first, again, other = build("a", 1), build("b", 1), build("c", 2)
    assert first == again
    assert first.keys() == other.keys()
    changed = [name for name in first if first[name] != other[name]]
    assert len(changed) >= len(first) - 1  # at most a tiny file may coincide


def test_layout_formats_and_delivery_order(clean):
    landing, summary = clean
    files = data_files(landing)
    assert sorted(summary.files) == files
    by_entity = defaultdict(list)
    for path in files:
        source, name, file_name = path.relative_to(landing).parts
        ent = contract.entity(name)
        assert ent.source == source
        assert re.match(r"^\d{4}-\d{2}(-\d{2})?_", file_name), file_name
        by_entity[name].append(path)
    assert set(by_entity) == {e.name for e in contract.ENTITIES}
    suffixes = {name: {p.suffix for p in paths} for name, paths in by_entity.items()}
    assert suffixes == {
        "survey_responses": {".csv"}, "survey_item_scores": {".parquet"}, "tickets": {".jsonl"},
        "customers": {".csv"}, "orders": {".parquet"}, "stores": {".csv"}, "employees": {".csv"},
        "subscriptions": {".jsonl"}, "followups": {".csv"},
    }  # fmt: skip
    assert len(by_entity["survey_responses"]) == 30
    months = [p.name[:7] for p in by_entity["survey_responses"]]
    assert months[0] == "2024-05" and months[-1] == "2026-10"
    summary_json = json.loads((landing / SUMMARY_FILE).read_text(encoding="utf-8"))
    assert summary_json["delivered"] == summary.delivered
    assert summary_json["distinct_keys"] == summary.distinct_keys
    assert summary_json["files"] == [p.relative_to(landing).as_posix() for p in summary.files]


def test_every_file_has_the_contract_columns(clean):
    landing, _ = clean
    for path in data_files(landing):
        ent = contract.entity(path.parent.name)
        columns = read_columns(path)
        # Optional columns a register or survey tool delivers; the generator's sources do not.
        expected = [c for c in ent.column_names if c not in NOT_GENERATED]
        assert columns[: len(expected)] == expected, path
        assert set(columns[len(expected) :]) <= EXTRA_COLUMNS, path


def test_clean_data_breaks_no_rule(clean):
    landing, _ = clean
    for path in data_files(landing):
        ent = contract.entity(path.parent.name)
        rejects = check_file(ent, path)
        assert not rejects, f"{path.name}: {list(rejects.items())[:5]}"


def test_summary_counts_match_the_files(clean, frames):
    _, summary = clean
    for ent in contract.ENTITIES:
        df = frames[ent.name]
        assert summary.delivered[ent.name] == len(df), ent.name
        assert summary.distinct_keys[ent.name] == len(df.drop_duplicates(list(ent.key))), ent.name
    assert summary.delivered["survey_responses"] == 12_000
    assert summary.delivered["customers"] > summary.distinct_keys["customers"]  # a changes delivery
    assert summary.delivered["tickets"] > summary.distinct_keys["tickets"]  # state updates
    # proportions
    n = 12_000
    keys = summary.distinct_keys
    assert keys["customers"] == n // 4 and keys["orders"] == round(1.5 * n) and keys["tickets"] == n // 5
    assert 1.1 < keys["subscriptions"] / keys["customers"] < 1.35
    assert 0.08 < keys["survey_item_scores"] / 22 / n < 0.12


def test_history_timestamps_and_time_zones(frames):
    submitted = frames["survey_responses"]["submitted_at"]
    parsed = submitted.map(parse_ts)
    assert parsed.min() >= HISTORY_START and parsed.max() < HISTORY_END
    assert parsed.map(lambda t: (t.year, t.month)).nunique() >= 24
    assert submitted.str.endswith("+08:00").any() and submitted.str.endswith("Z").any()
    assert (~submitted.str.contains(r"Z|[+-]\d\d:\d\d$")).any()  # naive = UTC
    for name, column in (("tickets", "opened_at"), ("orders", "ordered_at"), ("subscriptions", "started_at"),
                         ("customers", "updated_at")):  # fmt: skip
        assert frames[name][column].map(parse_ts).max() < HISTORY_END, name
    assert frames["tickets"]["opened_at"].str.endswith("+08:00").any()
    assert frames["customers"]["signup_at"].str.endswith("+08:00").all()


def test_customers_gb18030_export_and_later_changes(clean, frames):
    landing, _ = clean
    files = entity_files(landing, contract.CUSTOMERS)
    assert len(files) == 2
    raw = files[0].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert re.search(r"[\u4e00-\u9fff]{2,}", text)  # Chinese names and cities
    files[1].read_bytes().decode("utf-8")
    df = frames["customers"]
    first, later = df[df["_file"] == files[0].name], df[df["_file"] == files[1].name]
    both = first.merge(later, on="customer_id", suffixes=("_old", "_new"))
    assert len(both) > 0
    assert (both["updated_at_new"].map(parse_ts) > both["updated_at_old"].map(parse_ts)).all()
    upgraded = both[(both["segment_old"].str.lower() == "regular") & (both["segment_new"].str.lower() == "vip")]
    assert len(upgraded) > 0
    assert (both["region_old"] != both["region_new"]).any()
    shares = latest(frames, "customers")["segment"].str.lower().value_counts(normalize=True)
    assert 0.07 < shares["vip"] < 0.15 and 0.5 < shares["regular"] < 0.65 and 0.25 < shares["new"] < 0.35


def test_ticket_state_updates(frames):
    df = frames["tickets"]
    repeated = df[df.duplicated("ticket_id", keep=False)]
    assert len(repeated) > 0
    final = latest(frames, "tickets").set_index("ticket_id")
    first = df.drop_duplicates("ticket_id", keep="first").set_index("ticket_id")
    moved = first.index[first["status"].isin(["open", "pending"]) & final.loc[first.index, "status"].isin(
        ["resolved", "closed"])]  # fmt: skip
    assert len(moved) > 0
    re_resolved = final[(to_num(final["reopen_count"]) >= 1) & final["status"].isin(["resolved", "closed"])]
    assert len(re_resolved) > 0
    assert (df["status"] == "reopened").any()
    complaints = final[final["ticket_type"] == "complaint"]
    assert 0.5 < len(complaints) / len(final) < 0.7
    assert complaints["description"].str.contains(r"[\u4e00-\u9fff]", na=False).any()
    assert final["agent_id"].notna().all()


def test_links_roles_and_anonymous_responses(frames):
    employees = latest(frames, "employees").set_index("employee_id")
    customers = latest(frames, "customers")
    tickets = latest(frames, "tickets")
    responses = frames["survey_responses"]
    am = customers["account_manager_id"].dropna()
    assert len(am) and (employees.loc[am, "role"] == "account_manager").all()
    assert (employees.loc[tickets["agent_id"], "role"] == "agent").all()
    assert set(customers["store_id"]) <= set(frames["stores"]["store_id"])
    assert responses["customer_id"].isna().mean() > 0.03  # anonymous
    assert responses["order_id"].notna().mean() > 0.3 and responses["ticket_id"].notna().any()
    assert set(responses["ticket_id"].dropna()) <= set(tickets["ticket_id"])
    orders = set(frames["orders"]["order_id"])
    assert set(responses["order_id"].dropna()) <= orders and set(tickets["order_id"].dropna()) <= orders
    assert responses["channel"].str.lower().eq("wechat").any()
    assert (responses["language"] == "zh").any() and (responses["language"] == "en").any()
    assert responses["comment"].str.contains(r"[\u4e00-\u9fff]", na=False).any()
    statuses = frames["orders"]["status"].value_counts(normalize=True)
    assert statuses["completed"] > 0.75 and {"pending", "cancelled", "refunded"} <= set(statuses.index)


# ---------------------------------------------------------------------------------------------- built-in effects


def _responses(frames) -> pd.DataFrame:
    r = frames["survey_responses"].copy()
    for c in ("likelihood_to_recommend", "overall_satisfaction", "expectation_confirmation", "ideal_comparison",
              "csat_score", "effort_score"):  # fmt: skip
        r[c] = to_num(r[c])
    r["csi"] = sum((r[c] - 1) / 9 * 100 for c in ("overall_satisfaction", "expectation_confirmation",
                                                  "ideal_comparison")) / 3  # fmt: skip
    r["submitted"] = r["submitted_at"].map(parse_ts)
    return r


def _nps(scores: pd.Series) -> float:
    scores = scores.dropna()
    return 100 * ((scores >= 9).mean() - (scores <= 6).mean())


def test_scores_are_plausible(frames):
    r = _responses(frames)
    nps = _nps(r["likelihood_to_recommend"])
    assert 0 < nps < 50
    csat = 100 * (r["csat_score"].dropna() >= 4).mean()
    assert 55 < csat < 90
    assert r.loc[r["touchpoint"] == "relationship", "csat_score"].isna().all()


def test_unresolved_complaints_lower_nps(frames):
    r = _responses(frames)
    t = latest(frames, "tickets")
    unresolved = t[(t["ticket_type"] == "complaint") & t["status"].isin(["open", "pending", "reopened"])]
    opened = unresolved.groupby("customer_id")["opened_at"].min().map(parse_ts)
    after = r[r["customer_id"].isin(opened.index)]
    after = after[after["submitted"] > after["customer_id"].map(opened)]
    others = r[r["customer_id"].notna() & ~r["customer_id"].isin(t.loc[t["ticket_type"] == "complaint", "customer_id"])]
    assert len(after) >= 20
    assert after["likelihood_to_recommend"].mean() < others["likelihood_to_recommend"].mean() - 1.0
    assert _nps(after["likelihood_to_recommend"]) < _nps(others["likelihood_to_recommend"]) - 20


def _latest_category(r: pd.DataFrame) -> pd.Series:
    known = r[r["customer_id"].notna() & r["likelihood_to_recommend"].notna()].sort_values("submitted")
    last = known.groupby("customer_id")["likelihood_to_recommend"].last()
    return pd.cut(last, [-1, 6, 8, 10], labels=["detractor", "passive", "promoter"])


def test_detractors_churn_more_and_buy_less(frames):
    r = _responses(frames)
    category = _latest_category(r)
    subs = latest(frames, "subscriptions")
    ended = subs[subs["plan"] != "delivery_pass"].groupby("customer_id")["ended_at"].apply(lambda s: s.notna().any())
    churn = ended.reindex(category.index).groupby(category, observed=True).mean()
    assert churn["detractor"] > churn["promoter"] * 1.3
    orders = frames["orders"].drop_duplicates("order_id").groupby("customer_id").size()
    per_customer = orders.reindex(category.index).fillna(0).groupby(category, observed=True).mean()
    assert per_customer["detractor"] < per_customer["promoter"] * 0.85


def test_unresolved_complaints_churn_more(frames):
    t = latest(frames, "tickets")
    complaints = t[t["ticket_type"] == "complaint"]
    bad = set(complaints.loc[complaints["status"].isin(["open", "pending", "reopened"]), "customer_id"])
    bad |= set(complaints.loc[complaints["escalated"] == "true", "customer_id"])
    subs = latest(frames, "subscriptions")
    ended = subs[subs["plan"] != "delivery_pass"].groupby("customer_id")["ended_at"].apply(lambda s: s.notna().any())
    assert ended[ended.index.isin(bad)].mean() > ended[~ended.index.isin(bad)].mean() * 1.3
    reasons = subs["cancel_reason"].value_counts()
    assert reasons.get("unresolved_complaint", 0) > 0


def test_vip_customers_are_more_satisfied(frames):
    r = _responses(frames)
    segment = latest(frames, "customers").set_index("customer_id")["segment"].str.lower()
    csi = r.dropna(subset=["customer_id", "csi"]).groupby(lambda i: segment.get(r.at[i, "customer_id"]))["csi"].mean()
    assert csi["vip"] > csi["regular"] + 2 and csi["vip"] > csi["new"] + 2


def test_holiday_dip_in_delivery_experience(frames):
    r = _responses(frames)
    delivery = r[r["touchpoint"] == "delivery"]
    december = delivery["submitted"].map(lambda t: t.month == 12)
    assert delivery.loc[december, "likelihood_to_recommend"].mean() < delivery.loc[
        ~december, "likelihood_to_recommend"].mean() - 0.5  # fmt: skip
    orders = frames["orders"].drop_duplicates("order_id")
    per_month = orders["ordered_at"].map(parse_ts).map(lambda t: (t.year, t.month)).value_counts()
    december = per_month[[m for m in per_month.index if m[1] == 12]].mean()
    spring_summer = per_month[[m for m in per_month.index if m[1] in (3, 4, 5, 7, 8, 9)]].mean()
    assert december > spring_summer * 1.2


def test_reliability_drives_satisfaction_most(frames):
    assert max(DRIVER_WEIGHTS, key=DRIVER_WEIGHTS.get) == "reliability"
    assert min(DRIVER_WEIGHTS, key=DRIVER_WEIGHTS.get) == "tangibles"
    assert abs(sum(DRIVER_WEIGHTS.values()) - 1) < 1e-9
    items = frames["survey_item_scores"].copy()
    assert items.groupby("response_id").size().eq(22).all()
    seed = pd.read_csv(REPO / "seeds" / "survey_items.csv").set_index("item_code")["dimension"]
    items["dimension"] = items["item_code"].map(seed)
    items["perception"] = to_num(items["perception_score"])
    wide = items.pivot_table(index="response_id", columns="dimension", values="perception", aggfunc="mean")
    r = _responses(frames).set_index("response_id")
    data = wide.join(r["csi"], how="inner").dropna()
    x = (data[list(contract.SERVQUAL_DIMENSIONS)] - data[list(contract.SERVQUAL_DIMENSIONS)].mean()).to_numpy()
    x = x / x.std(axis=0)
    coef, *_ = np.linalg.lstsq(np.c_[np.ones(len(x)), x], data["csi"].to_numpy(), rcond=None)
    ranking = [d for _, d in sorted(zip(coef[1:], contract.SERVQUAL_DIMENSIONS, strict=True), reverse=True)]
    assert ranking[0] == "reliability", dict(zip(contract.SERVQUAL_DIMENSIONS, coef[1:].round(2), strict=True))
    assert ranking[-1] == "tangibles", dict(zip(contract.SERVQUAL_DIMENSIONS, coef[1:].round(2), strict=True))


# ---------------------------------------------------------------------------------------------- dirty delivery


def test_dirty_counts_add_up(dirty):
    _, delivery = dirty
    for ent in contract.ENTITIES:
        rejected = [r for r in delivery.expected_rejects if r.entity == ent.name]
        assert delivery.delivered[ent.name] == delivery.loaded[ent.name] + len(rejected), ent.name
        assert 15 <= delivery.delivered[ent.name] <= 60
    assert sum(delivery.delivered.values()) == sum(len(read_records(p)[1]) for p in delivery.files)


def test_dirty_rejects_are_exactly_the_rule_breakers(dirty):
    landing, delivery = dirty
    expected = {(r.file, r.row_number): (r.rule, r.column) for r in delivery.expected_rejects}
    assert len(expected) == len(delivery.expected_rejects)
    found = {}
    for path in delivery.files:
        ent = contract.entity(path.parent.name)
        for number, violation in check_file(ent, path).items():
            found[(path.relative_to(landing).as_posix(), number)] = violation
    assert found == expected
    loaded = defaultdict(set)
    for path in delivery.files:
        ent = contract.entity(path.parent.name)
        rel = path.relative_to(landing).as_posix()
        for number, values in read_records(path)[1]:
            if (rel, number) not in expected:
                loaded[ent.name].add(tuple(values[k].strip() for k in ent.key))
    assert {k: len(v) for k, v in loaded.items()} == delivery.loaded


def _applicable_rules(ent: contract.Entity) -> set[str]:
    rules = {"required", "duplicate", "malformed"}
    for col in ent.columns:
        if col.type != "str":
            rules.add("type")
        item_code = (ent.name, col.name) == ("survey_item_scores", "item_code")
        if col.values is not None or col.seed is not None or item_code:
            rules.add("enum")
        if col.min is not None or col.max is not None or ent.name == "survey_item_scores":
            rules.add("range")
        if col.not_future:
            rules.add("future")
    if ent.order_rules:
        rules.add("order")
    return rules


def test_dirty_covers_every_rule_and_format(dirty):
    landing, delivery = dirty
    for ent in contract.ENTITIES:
        rejects = [r for r in delivery.expected_rejects if r.entity == ent.name]
        assert {r.rule for r in rejects} == _applicable_rules(ent), ent.name
        columns_hit = {(r.rule, r.column) for r in rejects}
        for col in ent.columns:
            if col.required or col.name in ent.key:
                assert ("required", col.name) in columns_hit
            if col.type != "str":
                assert ("type", col.name) in columns_hit
            if col.not_future:
                assert ("future", col.name) in columns_hit
        for later, _ in ent.order_rules:
            assert ("order", later) in columns_hit
        assert {p.suffix for p in entity_files(landing, ent)} == {".csv", ".jsonl", ".parquet"}
    dup = [r for r in delivery.expected_rejects if r.rule == "duplicate" and r.entity == "survey_item_scores"]
    assert dup[0].column == "response_id,item_code"
    malformed = [r for r in delivery.expected_rejects if r.rule == "malformed"]
    assert all(r.column is None and r.file.endswith(".csv") for r in malformed)


def test_dirty_good_rows_include_the_tricky_cases(dirty):
    landing, delivery = dirty
    gb = landing / "crm" / "customers" / "dirty_customers.csv"
    raw = gb.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert "王芳" in raw.decode("gb18030")
    rejected = {(r.file, r.row_number) for r in delivery.expected_rejects}
    good_values = defaultdict(list)
    for path in delivery.files:
        rel = path.relative_to(landing).as_posix()
        for number, values in read_records(path)[1]:
            if (rel, number) not in rejected:
                for column, value in values.items():
                    good_values[column].append(value)
    assert " Web " in good_values["channel"]  # enum with other case and spaces
    assert any(v and v.endswith("+08:00") for v in good_values["submitted_at"])
    assert "7.0" in good_values["likelihood_to_recommend"]
    assert any(v and re.search(r"[\u4e00-\u9fff]", v) for v in good_values["comment"])


def test_columns_mismatch_file(tmp_path):
    for ent in contract.ENTITIES:
        path, missing = write_columns_mismatch_file(tmp_path, ent.name)
        assert path.parent == tmp_path / ent.source / ent.name
        header = next(csv.reader(open(path, encoding="utf-8")))
        assert missing and set(missing) <= set(ent.required_columns)
        assert not set(missing) & set(header)
        assert set(header) <= set(ent.column_names)


# ---------------------------------------------------------------------------------------------- package boundary


def test_the_runtime_package_imports_the_generator_only_inside_functions():
    """`csat_sample_data` is a demo tool beside the runtime: `dagster_project` may import it only lazily
    (inside `csat generate`), so loading the pipeline never loads the generator."""
    import ast

    package = REPO / "dagster_project"
    module_level, lazy = [], []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        in_function = {
            id(node)
            for func in ast.walk(tree)
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
            for node in ast.walk(func)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name.split(".")[0] == "csat_sample_data" for name in names):
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                (lazy if id(node) in in_function else module_level).append(where)
    assert module_level == [], f"module-level imports of the generator in the runtime package: {module_level}"
    assert [where.split(":")[0] for where in lazy] == ["dagster_project/cli.py"], lazy
