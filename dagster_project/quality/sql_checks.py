"""Expectations evaluated inside DuckDB: counts of violating rows and a bounded sample of them.

Great Expectations stays the suite format and renders the Data Docs, but its pandas batches would
pull whole tables into memory (a 22M-row frame for the item scores at 10M responses). Each
expectation type the suites use is translated here into SQL over the batch query: one aggregate
query per batch computes every expectation's counts in a single scan (duplicate-key counts as
grouped sub-queries), and only a failing expectation fetches its first SAMPLE_LIMIT failing rows.
The numbers are returned in GX's result format (element_count, unexpected_count, unexpected_percent,
partial_unexpected_list, observed_value), with the semantics of GX's pandas engine: NULLs are
"missing" and never unexpected (except for not_null), `mostly` is the share of non-missing rows,
and an expectation over no (non-missing) rows succeeds.

An expectation type not listed in SQL_EXPECTATIONS is not evaluated here: validation runs it with
Great Expectations on a bounded sample of the batch (validation.FALLBACK_ROWS rows).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from dagster_project.quality.suites import BatchSpec, ExpectationSpec

SAMPLE_LIMIT = 20  # failing rows fetched per failing expectation (GX's partial_unexpected_count)
_QUERY_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

COLUMN_MAP = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_unique",
}
PAIR_MAP = {"expect_column_pair_values_a_to_be_greater_than_b", "expect_column_pair_values_to_be_equal"}
AGGREGATE = {"expect_table_row_count_to_be_between", "expect_column_unique_value_count_to_be_between"}
SQL_EXPECTATIONS = COLUMN_MAP | PAIR_MAP | AGGREGATE | {"expect_compound_columns_to_be_unique"}


class UnsupportedExpectation(ValueError):
    """An expectation (type or kwargs) this module cannot translate into SQL."""


@dataclass
class SqlResult:
    """One expectation's outcome in GX's result format."""

    success: bool
    result: dict[str, Any]
    sample: list[dict[str, Any]] = field(default_factory=list)
    exception: str | None = None


_KNOWN_KWARGS = {"column", "column_A", "column_B", "column_list", "value_set", "min_value", "max_value", "mostly"}
_KNOWN_KWARGS |= {"strict_min", "strict_max", "or_equal", "ignore_row_if"}
# The `$PARAMETER`s an expectation may use: query parameters every batch is given (validation).
PARAMETERS = ("now", "run_started_at")


def supported(spec: ExpectationSpec) -> bool:
    """True when `spec` translates into SQL (else validation runs it with GX on a sample)."""
    try:
        plan(spec)
    except UnsupportedExpectation:
        return False
    return True


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A value of a suite file (or a `$PARAMETER` reference to a query parameter) as SQL."""
    if isinstance(value, dict) and set(value) == {"$PARAMETER"}:
        name = str(value["$PARAMETER"])
        if name not in PARAMETERS:
            raise UnsupportedExpectation(f"unknown parameter {name!r}")
        return f"${name}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise UnsupportedExpectation(f"{value} as a bound")
        return repr(value)
    if isinstance(value, datetime):
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise UnsupportedExpectation(f"value {value!r} of type {type(value).__name__}")


def _mostly(spec: ExpectationSpec) -> float:
    return float(spec.kwargs.get("mostly", 1.0))


@dataclass(frozen=True)
class _Plan:
    """SQL of one expectation: the violating-row predicate, the ignored-row ("missing") predicate,
    or a scalar aggregate for table-level and duplicate expectations."""

    unexpected: str | None = None  # predicate over a batch row: the row violates the expectation
    missing: str | None = None  # predicate: the row is not considered (NULL values)
    observed: str | None = None  # aggregate over the batch: GX's observed_value
    duplicates: tuple[str, ...] = ()  # columns whose duplicated values are unexpected
    value_columns: tuple[str, ...] = ()  # columns shown in partial_unexpected_list


def plan(spec: ExpectationSpec) -> _Plan:
    kw = spec.kwargs
    t = spec.type
    if t not in SQL_EXPECTATIONS or not set(kw) <= _KNOWN_KWARGS:
        raise UnsupportedExpectation(f"{t} with kwargs {sorted(kw)}")
    if t == "expect_table_row_count_to_be_between":
        return _Plan(observed="count(*)")
    if t == "expect_column_unique_value_count_to_be_between":
        return _Plan(observed=f"count(distinct {_ident(kw['column'])})")
    if t == "expect_compound_columns_to_be_unique":
        columns = tuple(kw["column_list"])
        all_null = " and ".join(f"{_ident(c)} is null" for c in columns)
        return _Plan(missing=f"({all_null})", duplicates=columns, value_columns=columns)
    if t in PAIR_MAP:
        a, b = _ident(kw["column_A"]), _ident(kw["column_B"])
        default = "both_values_are_missing"
        ignore = kw.get("ignore_row_if", default)
        missing = {
            "both_values_are_missing": f"({a} is null and {b} is null)",
            "either_value_is_missing": f"({a} is null or {b} is null)",
            "neither": "false",
        }.get(ignore)
        if missing is None:
            raise UnsupportedExpectation(f"ignore_row_if {ignore!r}")
        if t == "expect_column_pair_values_to_be_equal":
            bad = f"{a} is distinct from {b}"
        else:
            bad = f"not coalesce({a} {'>=' if kw.get('or_equal') else '>'} {b}, false)"
        return _Plan(unexpected=bad, missing=missing, value_columns=(kw["column_A"], kw["column_B"]))
    column = _ident(kw["column"])
    values = (kw["column"],)
    if t == "expect_column_values_to_not_be_null":
        return _Plan(unexpected=f"{column} is null", missing="false", value_columns=values)
    missing = f"{column} is null"
    if t == "expect_column_values_to_be_unique":
        return _Plan(missing=missing, duplicates=(kw["column"],), value_columns=values)
    if t == "expect_column_values_to_be_in_set":
        value_set = list(kw.get("value_set") or [])
        bad = f"{column} not in ({', '.join(literal(v) for v in value_set)})" if value_set else "true"
        return _Plan(unexpected=bad, missing=missing, value_columns=values)
    # expect_column_values_to_be_between
    parts = []
    if kw.get("min_value") is not None:
        parts.append(f"{column} {'<=' if kw.get('strict_min') else '<'} {literal(kw['min_value'])}")
    if kw.get("max_value") is not None:
        parts.append(f"{column} {'>=' if kw.get('strict_max') else '>'} {literal(kw['max_value'])}")
    if not parts:
        raise UnsupportedExpectation("expect_column_values_to_be_between without min_value or max_value")
    return _Plan(unexpected=" or ".join(f"({p})" for p in parts), missing=missing, value_columns=values)


def _duplicates_sql(columns: tuple[str, ...]) -> str:
    """Rows whose (non-missing) value combination occurs more than once."""
    cols = ", ".join(_ident(c) for c in columns)
    all_null = " and ".join(f"{_ident(c)} is null" for c in columns)
    return (
        f"(select coalesce(sum(n), 0) from (select count(*) as n from batch where not ({all_null}) "
        f"group by {cols} having count(*) > 1))"
    )


def _aggregates(i: int, p: _Plan) -> list[str]:
    out = []
    if p.observed is not None:
        out.append(f"{p.observed} as observed_{i}")
    if p.missing is not None:
        out.append(f"count(*) filter (where {p.missing}) as missing_{i}")
    if p.unexpected is not None:
        out.append(f"count(*) filter (where not ({p.missing or 'false'}) and ({p.unexpected})) as unexpected_{i}")
    if p.duplicates:
        out.append(f"{_duplicates_sql(p.duplicates)} as unexpected_{i}")
    return out


def _parameters(sql: str, values: dict[str, Any]) -> dict[str, Any]:
    used = set(_QUERY_PARAMETER.findall(sql))
    missing = used - set(values)
    if missing:
        raise UnsupportedExpectation(f"unknown parameters {sorted(missing)}")
    return {k: v for k, v in values.items() if k in used}


def _query(con: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, Any]):
    cursor = con.execute(sql, _parameters(sql, parameters))
    names = [d[0] for d in cursor.description]
    return names, cursor.fetchall()


def _with_batch(batch: BatchSpec, body: str) -> str:
    return f"with batch as ({batch.sql()})\n{body}"


def check_batch_query(con: duckdb.DuckDBPyConnection, batch: BatchSpec, parameters: dict[str, Any]) -> None:
    """Raises duckdb.Error when the batch query itself cannot run (binding only, no rows read)."""
    _query(con, _with_batch(batch, "select * from batch limit 0"), parameters)


def _sample(
    con: duckdb.DuckDBPyConnection, batch: BatchSpec, spec: ExpectationSpec, p: _Plan, parameters: dict[str, Any]
) -> tuple[list[str], list[tuple]]:
    columns = list(dict.fromkeys([*batch.key, *spec.columns]))
    selected = ", ".join(_ident(c) for c in columns) or "*"
    if p.duplicates:
        cols = ", ".join(_ident(c) for c in p.duplicates)
        all_null = " and ".join(f"{_ident(c)} is null" for c in p.duplicates)
        match = " and ".join(f"d.{_ident(c)} is not distinct from batch.{_ident(c)}" for c in p.duplicates)
        where = (
            f"not ({all_null}) and exists (select 1 from (select {cols} from batch where not ({all_null}) "
            f"group by {cols} having count(*) > 1) as d where {match})"
        )
    else:
        where = f"not ({p.missing or 'false'}) and ({p.unexpected})"
    return _query(
        con, _with_batch(batch, f"select {selected} from batch where {where} limit {SAMPLE_LIMIT}"), parameters
    )


def evaluate_batch(
    con: duckdb.DuckDBPyConnection,
    batch: BatchSpec,
    specs: list[ExpectationSpec],
    parameters: dict[str, Any],
) -> tuple[int, list[SqlResult]]:
    """Evaluate `specs` (all `supported`) over `batch` in DuckDB, in order; returns the batch's row
    count and the results.

    One aggregate query computes every expectation's counts; if it fails (e.g. one expectation
    compares incompatible types), each expectation is evaluated on its own so that only the broken
    one reports the error."""
    plans = [plan(s) for s in specs]
    select = ["count(*) as n", *(a for i, p in enumerate(plans) for a in _aggregates(i, p))]
    try:
        names, rows = _query(con, _with_batch(batch, f"select {', '.join(select)} from batch"), parameters)
        counts = [dict(zip(names, rows[0], strict=True))] * len(plans)
        indexes = list(range(len(plans)))
    except duckdb.Error:
        counts, indexes = [], []
        for i, p in enumerate(plans):
            try:
                one = ["count(*) as n", *_aggregates(i, p)]
                names, rows = _query(con, _with_batch(batch, f"select {', '.join(one)} from batch"), parameters)
                counts.append(dict(zip(names, rows[0], strict=True)))
            except duckdb.Error as error:
                counts.append({"error": str(error).strip()})
            indexes.append(i)
    rows_in_batch = next((int(c["n"]) for c in counts if "n" in c), 0)
    results = []
    for i, spec, p, row in zip(indexes, specs, plans, counts, strict=True):
        if "error" in row:
            results.append(SqlResult(False, {}, exception=row["error"]))
            continue
        results.append(_outcome(con, batch, spec, p, i, row, parameters))
    return rows_in_batch, results


def _outcome(
    con: duckdb.DuckDBPyConnection,
    batch: BatchSpec,
    spec: ExpectationSpec,
    p: _Plan,
    i: int,
    row: dict[str, Any],
    parameters: dict[str, Any],
) -> SqlResult:
    kw = spec.kwargs
    n = int(row["n"])
    if p.observed is not None:
        observed = row[f"observed_{i}"]
        low, high = kw.get("min_value"), kw.get("max_value")
        ok = (low is None or observed >= low) and (high is None or observed <= high)
        return SqlResult(bool(ok), {"observed_value": int(observed)})
    missing = int(row.get(f"missing_{i}") or 0)
    unexpected = int(row.get(f"unexpected_{i}") or 0)
    considered = n - missing
    share_bad = unexpected / considered if considered else 0.0
    success = considered == 0 or (1 - share_bad) >= _mostly(spec)
    result: dict[str, Any] = {
        "element_count": n,
        "unexpected_count": unexpected,
        "unexpected_percent": 100 * share_bad if considered else None,
        "partial_unexpected_list": [],
    }
    if spec.type != "expect_column_values_to_not_be_null":
        result["missing_count"] = missing
        result["missing_percent"] = 100 * missing / n if n else None
        result["unexpected_percent_total"] = 100 * unexpected / n if n else None
        result["unexpected_percent_nonmissing"] = result["unexpected_percent"]
    else:
        result["unexpected_percent"] = 100 * unexpected / n if n else None
    sample: list[dict[str, Any]] = []
    if unexpected:
        try:
            names, rows = _sample(con, batch, spec, p, parameters)
        except duckdb.Error:
            names, rows = [], []
        sample = [dict(zip(names, r, strict=True)) for r in rows]
        values = []
        for r in sample:
            picked = [r.get(c) for c in p.value_columns]
            if spec.type == "expect_compound_columns_to_be_unique":
                values.append(dict(zip(p.value_columns, picked, strict=True)))
            else:
                values.append(tuple(picked) if len(picked) > 1 else picked[0])
        result["partial_unexpected_list"] = values
    return SqlResult(bool(success), result, sample)
