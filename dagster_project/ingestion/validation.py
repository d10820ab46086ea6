"""The contract's row rules as SQL over the staged delivery.

For each row it computes the typed value of every contract column and the ordered list of rules the
row breaks. Order of checks (the first one is the reject's `rule`): `malformed`, then `size` (a
delivered value longer than CSAT_MAX_FIELD_BYTES; such a row is not checked further), then per column
in contract order required, type, enum, range, future; then the order rules; then `duplicate`
(several rows of one file share a key: the latest by the entity's version column, else the last in
the file, is kept). A row the mapping's layout declares no record (a row describing the columns, a
footer: `_layout`, set when staged) is left out when it breaks a rule, as such a row does; one that
breaks none reads as a record, and is a `layout` reject rather than a record lost unseen. A row
outside the mapping's `where` (`_outside`) is another entity's, or nobody's: left out, whatever its
rules say.

Key columns are normalised as staging normalises them (trimmed; a key with a list of allowed values
takes the listed spelling, as `item_code` takes the seed's upper-case code) before duplicates are
looked for and before rows replace earlier rows, so ` R1` and `R1` are one key here as in the marts.

Speed: every value is typed once; a row's conditions are OR-ed into one flag, and the list of
reasons (strings) is built only for the rows that break a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import duckdb

from dagster_project import settings
from dagster_project.contract import Column, Entity
from dagster_project.ingestion.readers import StagedDelivery
from dagster_project.sql_text import literal, quote

CHECKED_TABLE = "_checked"
# The keys more than one kept row of the batch carries, with the latest file carrying each: the one
# aggregate over the batch's keys, read by the duplicate check below and by the replace-by-key.
REPEATED_KEYS_TABLE = "_repeated_keys"
RULES = ("malformed", "size", "required", "type", "enum", "range", "future", "order", "duplicate", "layout")
# The reason of a layout row that breaks no rule, after what `_layout` says of it.
_LAYOUT_ROW_PASSES = (
    ", passes every rule as a record does: a file delivered without those rows would lose a record "
    "here unseen, so it is not loaded; deliver the file as the mapping describes it, or change the key"
)
# A UTC offset beyond +-14:00 does not exist (UTC-12 .. UTC+14 are the extremes in use).
MAX_OFFSET_MINUTES = 14 * 60
# Shown values in reasons are cut to this many characters (the whole row is in raw_values).
_SHOWN_CHARS = 200


@dataclass(frozen=True)
class Limits:
    """Plausibility limits from the settings (README, "Configuration"), read once per delivery."""

    earliest_timestamp: datetime
    latest_timestamp: datetime
    earliest_date: datetime
    future_skew_seconds: int
    max_field_bytes: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            earliest_timestamp=settings.earliest_timestamp(),
            latest_timestamp=settings.latest_timestamp(),
            earliest_date=settings.earliest_date(),
            future_skew_seconds=settings.future_skew_seconds(),
            max_field_bytes=settings.max_field_bytes(),
        )


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


def _canonical_spelling(t: str, values: tuple[str, ...]) -> str:
    """The listed spelling of a value matched case-insensitively (values outside the list are enum
    rejects): upper or lower case when the list is, else a lookup."""
    if all(v == v.upper() for v in values):
        return f"upper({t})"
    if all(v == v.lower() for v in values):
        return f"lower({t})"
    whens = " ".join(f"when {literal(v.lower())} then {literal(v)}" for v in values)
    return f"case lower({t}) {whens} else {t} end"


def typed_expression(column: Column, text: str, *, key: bool = False, values: Iterable[str] | None = None) -> str:
    """SQL turning text into the column's type; NULL when empty or unparseable.

    A key column (`key`) is trimmed, and takes the listed spelling when it has allowed `values`:
    the same normalisation staging applies, so keys that differ only there are one key."""
    if column.type == "str":
        if key:
            # trim() copies every string: only values with a space at either end need it.
            t = f"(case when starts_with({text}, ' ') or ends_with({text}, ' ') then trim({text}) else {text} end)"
            value = _canonical_spelling(t, tuple(values)) if values else t
            return f"case when {is_blank(text)} then null else {value} end"
        return f"case when {is_blank(text)} then null else {text} end"
    t = f"trim({text})"
    if column.type == "int":
        # Digits only: an exact 64-bit cast (a detour through double would round above 2^53).
        # With a fraction or exponent ('7.0', '1e3'): integral values only, as DuckDB rounds '9.5'
        # to 10 when casting to an integer; decimal(38, 18) holds every 64-bit integer exactly.
        # DuckDB's casts skip surrounding whitespace, so no trim() (it would copy every value).
        exact = f"try_cast({text} as decimal(38, 18))"
        return (
            f"case when not (contains({text}, '.') or contains({text}, 'e') or contains({text}, 'E')) "
            f"then try_cast({text} as bigint) "
            f"when {exact} = trunc({exact}) then try_cast({exact} as bigint) end"
        )
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


def _shown(text: str) -> str:
    """The delivered text for a reason, cut to _SHOWN_CHARS characters."""
    return (
        f"case when length(coalesce({text}, '')) > {_SHOWN_CHARS} "
        f"then left({text}, {_SHOWN_CHARS}) || '... (' || length({text}) || ' characters)' "
        f"else coalesce({text}, '') end"
    )


def _decimal_scale(column: Column) -> int:
    match = re.fullmatch(r"DECIMAL\(\s*\d+\s*,\s*(\d+)\s*\)", column.duckdb_type)
    if match is None:
        raise ValueError(f"column {column.name}: num type {column.duckdb_type} has no scale")
    return int(match.group(1))


def _sql_timestamp(value: datetime) -> str:
    return f"timestamp '{value.isoformat(sep=' ')}'"


# The UTC offset of a timestamp's text: after a time of day, at the end (+08:00, +0800, +08, -05:30).
_OFFSET_PATTERN = r"[0-9]:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?\s*[+-]([0-9]{1,2}:?[0-9]{0,2})\s*$"


def _offset(name: str) -> str:
    """The offset digits of timestamp column `name` ('08:00', '0800', '08'; '' without an offset),
    extracted once per value in the checking query (one regular expression; the checks reuse it)."""
    return quote(f"__offset_{name}")


def offset_expression(text: str) -> str:
    # Only a '+', or a '-' after the date part, can start an offset: skip the expression otherwise.
    maybe = f"contains({text}, '+') or contains(substr({text}, 11), '-')"
    return f"case when {maybe} then regexp_extract({text}, {literal(_OFFSET_PATTERN)}, 1) else '' end"


def _offset_minutes(offset: str) -> str:
    """SQL: hours * 60 + minutes of an extracted offset; minutes of 60 or more count as too far."""
    digits = f"replace({offset}, ':', '')"
    hours = f"try_cast(left({digits}, 2) as integer)"
    minutes = f"coalesce(try_cast(nullif(substr({digits}, 3, 2), '') as integer), 0)"
    return (
        f"case when {offset} is null or {offset} = '' then null "
        f"when {minutes} >= 60 then {MAX_OFFSET_MINUTES + 1} else {hours} * 60 + {minutes} end"
    )


def _time_checks(column: Column, limits: Limits) -> list[Check]:
    """`range` for timestamps and dates: plausible bounds, and UTC offsets within +-14:00."""
    name, text, typed = column.name, _text(column.name), quote(column.name)
    earliest = limits.earliest_timestamp if column.type == "ts" else limits.earliest_date
    latest = limits.latest_timestamp
    shown_bounds = f"{earliest.isoformat(sep=' ')}..{latest.isoformat(sep=' ')} UTC"
    checks = [
        Check(
            f"({typed} < {_sql_timestamp(earliest)} or {typed} > {_sql_timestamp(latest)})",
            "range",
            name,
            _message(f"{name} outside {shown_bounds}: ", _shown(text)),
        )
    ]
    if column.type == "ts":
        checks.append(
            Check(
                f"{_offset_minutes(_offset(name))} > {MAX_OFFSET_MINUTES}",
                "range",
                name,
                _message(f"{name} has a UTC offset outside -14:00..+14:00: ", _shown(text)),
            )
        )
    return checks


def _bounds(column: Column) -> str:
    low = "" if column.min is None else f"{column.min:g}"
    high = "" if column.max is None else f"{column.max:g}"
    return f"{low}..{high}"


def column_checks(
    column: Column, entity: Entity, allowed: dict[str, tuple[str, ...]], limits: Limits | None = None
) -> list[Check]:
    """Checks for one column, in order: required, type, enum, range, future.

    They read the delivered text (`__text_<name>`) and the typed value (`<name>`)."""
    limits = limits or Limits.from_settings()
    name, text, typed = column.name, _text(column.name), quote(column.name)
    blank = is_blank(text)
    shown = _shown(text)
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
    if column.type == "num":
        # DuckDB would round a value with more decimals than the type's scale: refuse it instead.
        scale = _decimal_scale(column)
        checks.append(
            Check(
                # Cheap test first: only a text with more than `scale` characters after its '.' can
                # hold more decimals (or an exponent); only those take the exact comparison.
                f"case when {typed} is not null and (strlen({text}) - strpos({text}, '.') > {scale} "
                f"and strpos({text}, '.') > 0 or contains({text}, 'e') or contains({text}, 'E')) "
                f"then try_cast({text} as decimal(38, 18)) <> {typed} end",
                "type",
                name,
                _message(f"{name} has more than {scale} decimal places ({column.duckdb_type}): ", shown),
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
    if column.type in ("ts", "date"):
        checks += _time_checks(column, limits)
    if column.not_future:
        skew = f" + interval {limits.future_skew_seconds} second" if limits.future_skew_seconds else ""
        checks.append(
            Check(
                f"{typed} > cast(current_timestamp as timestamp){skew}",
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
    *,
    layout_rows: bool = False,
) -> None:
    """Create `_checked`: typed columns, `_extra`, `_violations` ('rule|column|message' list),
    `_left_out` (a layout row that breaks a rule, a row outside the mapping's `where`), `_keep`.

    `allowed` overrides a column's allowed values (e.g. item codes read from a seed); `extra_checks`
    come after the contract's (e.g. `item_scale_checks`). `layout_rows`: the staged files have rows
    their mapping declares no records (`_layout`); without them, those columns cost nothing.
    """
    allowed = allowed or {}
    limits = Limits.from_settings()
    checks = [c for column in entity.columns for c in column_checks(column, entity, allowed, limits)]
    checks += order_checks(entity)
    checks += extra_checks or []

    texts = [f"{_staged(staged, c.name)} as {_text(c.name)}" for c in entity.columns]
    timestamps = [c.name for c in entity.columns if c.type == "ts"]
    texts += [f"{offset_expression(_staged(staged, n))} as {_offset(n)}" for n in timestamps]
    typed = [
        f"{typed_expression(c, _text(c.name), key=c.name in entity.key, values=allowed.get(c.name, c.values))} "
        f"as {quote(c.name)}"
        for c in entity.columns
    ]
    delivered = [n for n in staged.columns.values() if n is not None]
    oversize = _oversize(delivered + staged.extra_columns, limits.max_field_bytes)
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
            select _file_index, _row_number, _malformed, {"_layout, " if layout_rows else ""}
                {"_outside, " if staged.outside_rows else ""}{oversize} as _oversize,
                {extra_json} as _extra,
                {", ".join(texts)}
            from {staged.table}
        ),
        typed as (
            select *, {", ".join(typed)} from texts
        ),
        checked as (
            select
                typed.* exclude (
                    {", ".join([_text(c.name) for c in entity.columns] + [_offset(n) for n in timestamps])}, _oversize
                ),
                case
                    when _malformed is not null then ['malformed||' || _malformed]
                    when _oversize is not null then _oversize
                    when {any_broken} then list_filter([{reasons}], lambda x: x is not null)
                    else cast([] as varchar[])
                end as _violations
            from typed
        )
        {_kept(layout_rows, staged.outside_rows)}
        from checked
        """
    )
    _keep_latest_of_duplicates(con, entity)


def _kept(layout_rows: bool, outside_rows: bool) -> str:
    """SQL: `_checked`'s columns from `checked`, with what is kept and what is left out: a row outside
    the mapping's `where` (`outside_rows`), whatever its rules say, and a layout row that breaks a
    rule (`layout_rows`; one that breaks none is a `layout` reject)."""
    dropped, replaced = ["_malformed"], ""
    left_out, kept = ["false"], ["len(_violations) = 0"]  # `false or ...`: nothing left out by default
    if layout_rows:
        dropped.append("_layout")
        passes = f"['layout||' || _layout || {literal(_LAYOUT_ROW_PASSES)}]"
        layout_passes = f"case when _layout is not null and len(_violations) = 0 then {passes} else _violations end"
        replaced = f" replace ({layout_passes} as _violations)"
        left_out.append("coalesce(_layout is not null and len(_violations) > 0, false)")
        kept.append("_layout is null")
    if outside_rows:
        dropped.append("_outside")
        left_out.append("_outside")
        kept.append("not _outside")
    return f"""
        select
            checked.* exclude ({", ".join(dropped)}){replaced},
            {" or ".join(left_out)} as _left_out,
            {" and ".join(kept)} as _keep
    """


def _staged(staged: StagedDelivery, column: str) -> str:
    """SQL: a contract column's delivered text; NULL for an optional column the export does not carry."""
    name = staged.columns.get(column)
    return "cast(null as varchar)" if name is None else quote(name)


def _oversize(delivered_columns: list[str], max_bytes: int) -> str:
    """SQL: the `size` violations of a row (delivered values longer than max_bytes), else NULL.

    The reader accepts lines far longer than the limit so that such a value is one rejected row
    with its row number, not a file that cannot be read."""
    if not delivered_columns:
        return "cast(null as varchar[])"
    too_long = [(n, f"strlen({quote(n)}) > {max_bytes}") for n in delivered_columns]
    violations = ", ".join(
        f"case when {cond} then {literal(f'size|{n}|{n} is ')} || strlen({quote(n)}) || "
        f"{literal(f' bytes long, more than the limit of {max_bytes} (CSAT_MAX_FIELD_BYTES)')} end"
        for n, cond in too_long
    )
    any_long = " or ".join(cond for _, cond in too_long)
    return f"case when {any_long} then list_filter([{violations}], lambda x: x is not null) end"


def _keep_latest_of_duplicates(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Among valid rows of one file sharing a key, keep the latest version (then the last row).

    One aggregate over the kept rows' keys lists the keys that more than one row carries
    (`_repeated_keys`); most deliveries repeat no key, and then nothing else runs here. Otherwise the
    rows of those keys alone say whether a file repeats one (a key can also repeat across files,
    which the replace-by-key settles), and only then the delivery is sorted. Each distinct count over
    every kept key was a full aggregate of its own: at 10M responses, 8.6 and 3.0 s of the item
    scores' 32.5 s, with the delete's distinct keys another 3.0 s."""
    key = ", ".join(quote(k) for k in entity.key)
    con.execute(
        f"""
        create or replace temp table {REPEATED_KEYS_TABLE} as
        select {key}, max(_file_index) as _latest_file_index
        from {CHECKED_TABLE}
        where _keep
        group by {key}
        having count(*) > 1
        """
    )
    duplicates = con.execute(
        f"""
        select count(*) - count(distinct (_file_index, {key}))
        from {CHECKED_TABLE} semi join {REPEATED_KEYS_TABLE} using ({key})
        where _keep
        """
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
