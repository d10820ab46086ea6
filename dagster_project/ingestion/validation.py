"""The contract's row rules as SQL over the staged delivery.

For each row it computes the typed value of every contract column and the ordered list of rules the
row breaks. Order of checks (the first one is the reject's `rule`): per column in contract order
required, type, enum, range, future; then the order rules; then `duplicate` (several rows of one
file share a key: the latest by the entity's version column, else the last in the file, is kept).

Speed: every value is typed once; a row's conditions are OR-ed into one flag, and the list of
reasons (strings) is built only for the rows that break a rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from dagster_project.contract import Column, Entity
from dagster_project.ingestion.readers import STAGE_TABLE, StagedDelivery, literal, quote

CHECKED_TABLE = "_checked"
RULES = ("malformed", "required", "type", "enum", "range", "future", "order", "duplicate")

_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")


@dataclass(frozen=True)
class Check:
    condition: str  # SQL, true when the row breaks the rule (NULL counts as not broken)
    rule: str
    column: str | None
    message: str  # SQL producing the reason text

    @property
    def violation(self) -> str:
        """'rule|column|message' when broken, else NULL."""
        prefix = literal(f"{self.rule}|{self.column or ''}|")
        return f"case when {self.condition} then {prefix} || {self.message} end"


def _in_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def _text(name: str) -> str:
    """The delivered text of contract column `name` inside the checking query."""
    return quote(f"__text_{name}")


def is_blank(text: str) -> str:
    """NULL, empty or spaces only. Only values starting with a space are trimmed: trimming every
    value would copy every string."""
    return f"({text} is null or {text} = '' or (starts_with({text}, ' ') and trim({text}) = ''))"


def typed_expression(column: Column, text: str) -> str:
    """SQL turning text into the column's type; NULL when empty or unparseable."""
    if column.type == "str":
        return f"case when {is_blank(text)} then null else {text} end"
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


def _message(text: str, value_sql: str | None = None) -> str:
    return literal(text) if value_sql is None else f"{literal(text)} || {value_sql}"


def _bounds(column: Column) -> str:
    low = "" if column.min is None else f"{column.min:g}"
    high = "" if column.max is None else f"{column.max:g}"
    return f"{low}..{high}"


def column_checks(column: Column, entity: Entity, allowed: dict[str, tuple[str, ...]]) -> list[Check]:
    """Checks for one column, in order: required, type, enum, range, future.

    They read the delivered text (`__text_<name>`) and the typed value (`<name>`)."""
    name, text, typed = column.name, _text(column.name), quote(column.name)
    blank = is_blank(text)
    shown = f"coalesce({text}, '')"
    checks = []
    if column.required or name in entity.key:
        checks.append(Check(blank, "required", name, _message(f"{name} is required but empty")))
    if column.type != "str":  # any text is a valid str
        checks.append(
            Check(
                f"not {blank} and {typed} is null",
                "type",
                name,
                _message(f"{name} is not a valid {column.type}: ", shown),
            )
        )
    values = allowed.get(name, column.values)
    if values:
        checks.append(
            Check(
                f"not {blank} and lower(trim({text})) not in {_in_list(v.lower() for v in values)}",
                "enum",
                name,
                _message(f"{name} is not one of {', '.join(values)}: ", shown),
            )
        )
    if column.min is not None or column.max is not None:
        low = f"{typed} < {column.min}" if column.min is not None else "false"
        high = f"{typed} > {column.max}" if column.max is not None else "false"
        checks.append(
            Check(f"({low} or {high})", "range", name, _message(f"{name} outside {_bounds(column)}: ", shown))
        )
    if column.not_future:
        checks.append(
            Check(
                f"{typed} > cast(current_timestamp as timestamp)",
                "future",
                name,
                _message(f"{name} is in the future: ", shown),
            )
        )
    return checks


def order_checks(entity: Entity) -> list[Check]:
    """(later, earlier) rules on typed values."""
    checks = []
    for later, earlier in entity.order_rules:
        shown = f"cast({quote(later)} as varchar) || ' < ' || cast({quote(earlier)} as varchar)"
        checks.append(
            Check(
                f"{quote(later)} < {quote(earlier)}",
                "order",
                later,
                _message(f"{later} is before {earlier}: ", shown),
            )
        )
    return checks


@dataclass(frozen=True)
class ItemScale:
    """The answer scale of one survey item (seed survey_items: scale_min, scale_max, na_code)."""

    scale_min: int
    scale_max: int
    na_code: int | None = None

    @property
    def label(self) -> str:
        na = f", not applicable {self.na_code}" if self.na_code is not None else ""
        return f"{self.scale_min}..{self.scale_max}{na}"


ITEM_SCORE_COLUMNS = ("expectation_score", "perception_score")


def item_scale_checks(scales: dict[str, ItemScale], item_column: str = "item_code") -> list[Check]:
    """Range rules of item scores on each item's own scale; the na_code is a valid score.

    Items are grouped by scale, so the SQL has one branch per distinct scale, not per item."""
    if not scales:
        return []
    groups: dict[ItemScale, list[str]] = {}
    for code, scale in scales.items():
        groups.setdefault(scale, []).append(code.strip().lower())
    item = f"lower(trim({quote(item_column)}))"
    checks = []
    for name in ITEM_SCORE_COLUMNS:
        score = quote(name)
        outside = " ".join(
            f"when {item} in {_in_list(codes)} then ({score} < {s.scale_min} or {score} > {s.scale_max})"
            + (f" and {score} <> {s.na_code}" if s.na_code is not None else "")
            for s, codes in groups.items()
        )
        labels = " ".join(f"when {item} in {_in_list(codes)} then {literal(s.label)}" for s, codes in groups.items())
        checks.append(
            Check(
                f"(case {outside} end)",
                "range",
                name,
                f"{literal(name + ' outside the scale of item ')} || {quote(item_column)} || ' (' || "
                f"(case {labels} end) || '): ' || cast({score} as varchar)",
            )
        )
    return checks


def check_delivery(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    staged: StagedDelivery,
    allowed: dict[str, tuple[str, ...]] | None = None,
    extra_checks: list[Check] | None = None,
) -> None:
    """Create `_checked`: typed columns, `_extra`, `_violations` ('rule|column|message' list), `_keep`.

    `allowed` overrides a column's allowed values (e.g. item codes read from a seed); `extra_checks`
    come after the contract's (e.g. `item_scale_checks`).
    """
    allowed = allowed or {}
    checks = [c for column in entity.columns for c in column_checks(column, entity, allowed)]
    checks += order_checks(entity)
    checks += extra_checks or []

    texts = [f"{quote(staged.columns[c.name])} as {_text(c.name)}" for c in entity.columns]
    typed = [f"{typed_expression(c, _text(c.name))} as {quote(c.name)}" for c in entity.columns]
    extras = staged.extra_columns
    extra_json = (
        "json_object(" + ", ".join(f"{literal(n)}, {quote(n)}" for n in extras) + ")"
        if extras
        else "cast(null as json)"
    )
    any_broken = " or ".join(f"coalesce({c.condition}, false)" for c in checks)
    reasons = ", ".join(c.violation for c in checks)
    con.execute(
        f"""
        create or replace temp table {CHECKED_TABLE} as
        with texts as (
            select _file_index, _row_number, _malformed, {extra_json} as _extra, {", ".join(texts)}
            from {STAGE_TABLE}
        ),
        typed as (
            select *, {", ".join(typed)} from texts
        ),
        checked as (
            select
                typed.* exclude ({", ".join(_text(c.name) for c in entity.columns)}),
                case
                    when _malformed is not null then ['malformed||' || _malformed]
                    when {any_broken} then list_filter([{reasons}], lambda x: x is not null)
                    else cast([] as varchar[])
                end as _violations
            from typed
        )
        select checked.* exclude (_malformed), len(_violations) = 0 as _keep
        from checked
        """
    )
    _keep_latest_of_duplicates(con, entity)


def _keep_latest_of_duplicates(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Among valid rows sharing a key, keep the latest version (then the last row); a sort over the
    delivery, so it only runs when a duplicate exists."""
    key = ", ".join(quote(k) for k in entity.key)
    duplicates = con.execute(
        f"select count(*) - count(distinct (_file_index, {key})) from {CHECKED_TABLE} where _keep"
    ).fetchone()[0]
    if not duplicates:
        return
    version = f"{quote(entity.version_column)} desc nulls last, " if entity.version_column else ""
    con.execute(
        f"""
        create or replace temp table {CHECKED_TABLE} as
        select
            * exclude (_keep),
            _keep
            and row_number() over (
                partition by _keep, _file_index, {key} order by {version}_row_number desc
            ) = 1 as _keep
        from {CHECKED_TABLE}
        """
    )
