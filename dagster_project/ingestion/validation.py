"""The contract's row rules as SQL over the staged delivery.

For each row it computes the typed value of every contract column and the ordered list of rules the
row breaks. Order of checks (the first one is the reject's `rule`): per column in contract order
required, type, enum, range, future; then the order rules; then `duplicate` (several rows of one
delivery share a key: the latest by the entity's version column, else the last in the file, is kept).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from dagster_project.contract import Column, Entity
from dagster_project.ingestion.readers import STAGE_TABLE, StagedDelivery, literal, quote

CHECKED_TABLE = "_checked"
RULES = ("malformed", "required", "type", "enum", "range", "future", "order", "duplicate")

_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def typed_expression(column: Column, text: str) -> str:
    """SQL turning trimmed text into the column's type; NULL when empty or unparseable."""
    if column.type == "str":
        return f"case when trim({text}) = '' then null else {text} end"
    t = f"trim({text})"
    if column.type == "int":
        # DuckDB rounds '9.5' to 10 when casting to an integer: accept integral values only.
        as_double = f"try_cast({t} as double)"
        return f"case when {as_double} = floor({as_double}) then try_cast({as_double} as bigint) end"
    if column.type == "num":
        return f"try_cast({t} as {column.duckdb_type})"
    if column.type == "bool":
        return (
            f"case when lower({t}) in {_in_list(_TRUE)} then true when lower({t}) in {_in_list(_FALSE)} then false end"
        )
    if column.type == "ts":
        # Offsets are applied; naive values are read in the session time zone, which is UTC.
        return f"cast(try_cast({t} as timestamptz) as timestamp)"
    if column.type == "date":
        return f"try_cast({t} as date)"
    raise ValueError(f"no typing rule for {column.type}")


def _violation(condition: str, rule: str, column: str | None, message_sql: str) -> str:
    """A SQL expression: 'rule|column|message' when the condition holds, else NULL."""
    prefix = literal(f"{rule}|{column or ''}|")
    return f"case when {condition} then {prefix} || {message_sql} end"


def _message(text: str, value_sql: str | None = None) -> str:
    return literal(text) if value_sql is None else f"{literal(text)} || {value_sql}"


def _bounds(column: Column) -> str:
    low = "" if column.min is None else f"{column.min:g}"
    high = "" if column.max is None else f"{column.max:g}"
    return f"{low}..{high}"


def column_checks(
    column: Column, text: str, typed: str, entity: Entity, allowed: dict[str, tuple[str, ...]]
) -> list[str]:
    """Rule expressions for one column, in check order: required, type, enum, range, future."""
    name = column.name
    blank = f"({text} is null or trim({text}) = '')"
    shown = f"coalesce({text}, '')"
    checks = []
    if column.required or name in entity.key:
        checks.append(_violation(blank, "required", name, _message(f"{name} is required but empty")))
    checks.append(
        _violation(
            f"not {blank} and {typed} is null",
            "type",
            name,
            _message(f"{name} is not a valid {column.type}: ", shown),
        )
    )
    values = allowed.get(name, column.values)
    if values:
        lowered = _in_list(v.lower() for v in values)
        listed = ", ".join(values)
        checks.append(
            _violation(
                f"not {blank} and lower(trim({text})) not in {lowered}",
                "enum",
                name,
                _message(f"{name} is not one of {listed}: ", shown),
            )
        )
    if column.min is not None or column.max is not None:
        low = f"{typed} < {column.min}" if column.min is not None else "false"
        high = f"{typed} > {column.max}" if column.max is not None else "false"
        checks.append(
            _violation(f"({low} or {high})", "range", name, _message(f"{name} outside {_bounds(column)}: ", shown))
        )
    if column.not_future:
        checks.append(
            _violation(
                f"{typed} > cast(current_timestamp as timestamp)",
                "future",
                name,
                _message(f"{name} is in the future: ", shown),
            )
        )
    return checks


def order_checks(entity: Entity) -> list[str]:
    """(later, earlier) rules on typed values."""
    checks = []
    for later, earlier in entity.order_rules:
        shown = f"cast({quote(later)} as varchar) || ' < ' || cast({quote(earlier)} as varchar)"
        checks.append(
            _violation(
                f"{quote(later)} < {quote(earlier)}",
                "order",
                later,
                _message(f"{later} is before {earlier}: ", shown),
            )
        )
    return checks


def _sql_list(expressions: list[str]) -> str:
    if not expressions:
        return "cast([] as varchar[])"
    return f"list_filter([{', '.join(expressions)}], lambda x: x is not null)"


def check_delivery(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    staged: StagedDelivery,
    allowed: dict[str, tuple[str, ...]] | None = None,
) -> None:
    """Create `_checked`: typed columns, `_extra`, `_violations` ('rule|column|message' list), `_keep`.

    `allowed` overrides a column's allowed values (e.g. item codes read from a seed).
    """
    allowed = allowed or {}
    typed_columns = []
    checks = []
    for column in entity.columns:
        text = quote(staged.columns[column.name])
        typed = typed_expression(column, text)
        typed_columns.append(f"{typed} as {quote(column.name)}")
        checks.extend(column_checks(column, text, typed, entity, allowed))
    extras = staged.extra_columns
    extra_json = (
        "json_object(" + ", ".join(f"{literal(n)}, {quote(n)}" for n in extras) + ")"
        if extras
        else "cast(null as json)"
    )
    key = ", ".join(quote(k) for k in entity.key)
    version = f"{quote(entity.version_column)} desc nulls last, " if entity.version_column else ""
    con.execute(
        f"""
        create or replace temp table {CHECKED_TABLE} as
        with typed as (
            select
                _row_number,
                {", ".join(typed_columns)},
                {extra_json} as _extra,
                case when _malformed is not null then ['malformed||' || _malformed]
                    else {_sql_list(checks)} end as _column_violations
            from {STAGE_TABLE}
        ),
        checked as (
            select
                typed.* exclude (_column_violations),
                list_concat(_column_violations, {_sql_list(order_checks(entity))}) as _violations
            from typed
        )
        select
            checked.*,
            len(_violations) = 0
            and row_number() over (
                partition by len(_violations) = 0, {key}
                order by {version}_row_number desc
            ) = 1 as _keep
        from checked
        """
    )
