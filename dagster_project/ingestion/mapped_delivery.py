"""A delivered file's columns meet the contract through its entity's mapping (ingestion/mapping.py):
which export column feeds which contract column (`match_columns`), and the staged table of contract
columns the rules read (`stage_columns`): renames, constants, expressions, value maps, numbers and
timestamps converted, a wide export's item columns turned into answer rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from dagster_project.contract import Entity
from dagster_project.ingestion.files import JSON_FORMATS, ContractError, json_document_hint
from dagster_project.ingestion.mapping import ITEM_COLUMN, NUMBER_FORMATS, EntityMapping, score_columns
from dagster_project.ingestion.readers import STAGE_TABLE, StagedDelivery, json_pointer
from dagster_project.ingestion.validation import is_blank
from dagster_project.sql_text import literal, quote

# Delivered text of a contract column after mapping, in the staged table (never an export's name).
INTERNAL_PREFIX = "__contract_"
# The delivery with contract columns, when a mapping renames, converts or adds them.
MAPPED_TABLE = "_delivery_mapped"
# Spaces that group digits: French exports use no-break spaces.
_SPACES = r"\s\x{00A0}\x{202F}"
# What groups a number's digits where the decimal separator is a comma: dots and spaces, and a
# number written that way: 1.234,50, 1 234, 12,5, -7.
_DIGIT_GROUPING = rf"[.{_SPACES}]"
_COMMA_DECIMAL = rf"^\s*[+-]?(\d{{1,3}}({_DIGIT_GROUPING}\d{{3}})+|\d+)(,\d+)?\s*$"
# A declared thousands separator as a pattern: a Swiss apostrophe may be typographic, a space no-break.
_GROUP_SEPARATOR = {",": ",", "'": "['\u2019]", " ": f"[{_SPACES}]"}
_MAX_MILLISECONDS = 250_000_000_000_000
# A time of day followed by a UTC offset or Z: the value is not naive and is left as delivered.
_HAS_OFFSET = r"\d:\d\d(:\d\d(\.\d+)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)$"


@dataclass(frozen=True)
class ColumnMatch:
    """How one file's columns meet the contract: export column per present contract column."""

    columns: dict[str, str]  # contract column -> delivered column name (present columns only)
    constants: dict[str, str | None]
    extra_columns: list[str]  # delivered columns that are not mapped to the contract (expressions' inputs too)
    names: tuple[str, ...]  # every delivered column, in file order
    # A wide export: item code -> {score column: delivered column}, the item columns the file has.
    items: dict[str, dict[str, str]] = field(default_factory=dict)
    expressions: dict[str, str] = field(default_factory=dict)  # contract column -> SQL
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)  # contract key -> delivered columns (`key_from`)
    # A long export (`pivot`): its question and answer columns; `columns` then names each pivoted
    # column by its question, a column of the record's one row (`pivoted`).
    pivot: tuple[str, str] | None = None
    # A JSON record's nested member (`columns: {channel: via.channel}`): contract column -> (the
    # record's member, the names leading to the value in it), as APIs nest fields (HubSpot's
    # `properties`).
    paths: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def delivered(self) -> list[str]:
        """Contract columns the file carries: constants, expressions, keys and item columns included."""
        from_items = [ITEM_COLUMN, *score_columns(self.items)] if self.items else []
        computed = [*self.expressions, *self.keys, *self.paths]
        return list(dict.fromkeys([*self.columns, *self.constants, *computed, *from_items]))


# ----------------------------------------------------------------------------------------- matching


def match_columns(
    entity: Entity, label: str, names: list[str], mapping: EntityMapping | None, *, file_format: str = "csv"
) -> ColumnMatch:
    """Meet a file's columns with the contract (after the mapping's renames, constants, expressions
    and item columns).

    Only required columns must be present; the error lists each missing one with how to fix it."""
    by_normal: dict[str, str] = {}
    for name in names:
        by_normal.setdefault(_normal(name), name)
    renames = mapping.columns if mapping else {}
    constants = mapping.constants if mapping else {}
    expressions = mapping.expressions if mapping else {}
    key_from = mapping.key_from if mapping else {}
    pivot = mapping.pivot.columns if mapping and mapping.pivot else {}
    from_items = {ITEM_COLUMN, *mapping.item_score_columns} if mapping and mapping.items else set()
    present: dict[str, str] = {}
    paths: dict[str, tuple[str, tuple[str, ...]]] = {}
    missing: list[str] = []
    for column in entity.column_names:
        if column in constants or column in expressions or column in from_items:
            continue
        if column in pivot:
            continue
        if column in key_from:
            missing += [f"{n} (for key_from: {column})" for n in key_from[column] if _normal(n) not in by_normal]
            continue
        wanted = renames.get(column, column)
        found = by_normal.get(_normal(wanted))
        nested = _nested_member(wanted, by_normal) if found is None and file_format in JSON_FORMATS else None
        if found is not None:
            present[column] = found
        elif nested is not None:
            paths[column] = nested
        elif column in entity.required_columns:
            missing.append(f"{column} (mapped from {wanted!r})" if column in renames else column)
    if mapping and mapping.pivot:
        long_columns = {"question": mapping.pivot.question, "answer": mapping.pivot.answer}
        missing += [
            f"{name} (pivot's {what} column)" for what, name in long_columns.items() if _normal(name) not in by_normal
        ]
    if missing:
        where = mapping.path if mapping and mapping.path else f"<mappings_dir>/{entity.name}.yml"
        hint = json_document_hint(label) or _header_hint(names, where, separated=file_format == "csv")
        raise ContractError(
            f"{label}: columns do not match the {entity.qualified_name} contract; "
            f"missing required column(s): {', '.join(missing)}. Found: {', '.join(names) or '(none)'}. "
            f"Add these columns to the export, or map the export's own columns to them in {where} "
            "(`columns: {<contract column>: <export column>}`, `constants:` or `expressions:`); see README, "
            f"'Bring your own data'. Optional columns may be left out.{hint}"
        )
    items = _present_items(label, by_normal, mapping) if from_items else {}
    used = set(present.values())
    long = None
    if pivot:
        long = (by_normal[_normal(mapping.pivot.question)], by_normal[_normal(mapping.pivot.answer)])
        used |= set(long)  # a row's question and answer are no column of the record
        taken = [q for q in pivot.values() if _normal(q) in by_normal]
        if taken:
            raise ContractError(
                f"{label}: the pivot's question(s) {', '.join(taken)} are also columns of the file; a pivoted "
                "answer would hide them: rename one"
            )
        present.update(pivot)
    return ColumnMatch(
        columns=present,
        constants=dict(constants),
        # A wide export's other columns describe the respondent, not the answer: they are not copied
        # to each answer (the same file delivered as survey_responses keeps them in its `_extra`).
        extra_columns=[] if items else [n for n in names if n not in used],
        names=tuple(names),
        items=items,
        expressions=dict(expressions),
        keys={column: tuple(by_normal[_normal(n)] for n in inputs) for column, inputs in key_from.items()},
        pivot=long,
        paths=paths,
    )


def _nested_member(wanted: str, by_normal: dict[str, str]) -> tuple[str, tuple[str, ...]] | None:
    """A mapped name that is a path into a JSON record's member (`properties.createdate`): the member
    (matched as columns are, the longest name first, so a member named `a.b` wins over `a`) and the
    names leading to the value in it; None when no member starts the path."""
    parts = wanted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        member = by_normal.get(_normal(".".join(parts[:cut])))
        if member is not None:
            return member, tuple(parts[cut:])
    return None


def _normal(name: str) -> str:
    """A column's name as matched: case and surrounding spaces ignored."""
    return name.strip().lower()


def _header_hint(names: list[str], where: object, *, separated: bool) -> str:
    """A header read as one column: another separator would split it (a CSV's: `separated`), or it is
    a report's title above the column names. Say how to declare either."""
    if len(names) != 1:
        return ""
    for separator, shown in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
        if separated and separator in names[0]:
            return f" The header looks separated by {shown}, not commas: declare `delimiter: {shown}` in {where}."
    return (
        f" If {names[0]!r} is a title above the column names, declare the line or sheet row that holds "
        f"them in {where} (`header_row`)."
    )


def _present_items(label: str, by_normal: dict[str, str], mapping: EntityMapping) -> dict[str, dict[str, str]]:
    """The mapping's item columns this file has. A questionnaire changes over time, so a file may
    lack some items (no answers to them); one with none of them is not this export."""
    items: dict[str, dict[str, str]] = {}
    for code, scores in mapping.items.items():
        for score, export in scores.items():
            found = by_normal.get(_normal(export))
            if found is not None:
                items.setdefault(code, {})[score] = found
    if not items:
        listed = [export for scores in mapping.items.values() for export in scores.values()]
        shown = ", ".join(listed[:5]) + (", ..." if len(listed) > 5 else "")
        raise ContractError(
            f"{label}: none of the item columns listed in {mapping.path or 'the mapping'} (item_columns) is in "
            f"the file: {shown}. Found: {', '.join(by_normal.values())}."
        )
    return items


# ------------------------------------------------------------------------------------------ staging


def _value_map(text: str, table: dict[str, str | None]) -> str:
    whens = " ".join(
        f"when {literal(source)} then {'cast(null as varchar)' if target is None else literal(target)}"
        for source, target in table.items()
    )
    return f"case lower(trim({text})) {whens} else {text} end"


def _timestamp(text: str, column: str, kind: str, mapping: EntityMapping) -> str:
    """Text of a date/timestamp column rewritten as ISO text (UTC with an offset for timestamps);
    a value that does not parse is left as delivered, so the type rule rejects it with its text."""
    value = f"trim({text})"
    fmt = mapping.formats.get(column)
    if fmt in NUMBER_FORMATS:
        # Text that is no number, or one too large for a date (past about the year 9800), is left as
        # delivered for the type rule; a number is kept to the millisecond.
        number = f"try_cast({value} as double) * {NUMBER_FORMATS[fmt]}"
        milliseconds = f"case when abs({number}) < {_MAX_MILLISECONDS} then cast(round({number}) as bigint) end"
        # Excel's day 0 is 1899-12-30 once its phantom 1900-02-29 is counted (serials from March 1900).
        start = "timestamp '1899-12-30'" if fmt == "excel_serial" else "timestamp '1970-01-01'"
        parsed = f"{start} + to_milliseconds({milliseconds})"
    elif isinstance(fmt, tuple):  # the first pattern that reads the value
        parsed = f"try_strptime({value}, [{', '.join(map(literal, fmt))}])"
    elif fmt is not None:
        parsed = f"try_strptime({value}, {literal(fmt)})"
    elif column in mapping.date_only:
        parsed = f"cast(try_cast({value} as date) as timestamp)"
    else:
        parsed = f"try_cast({value} as timestamp)"
    if kind == "date":
        return f"coalesce(cast(cast({parsed} as date) as varchar), {text})"
    # An epoch counts in UTC whatever the export's time zone; other naive values are local there.
    zone = "UTC" if fmt in NUMBER_FORMATS and fmt != "excel_serial" else mapping.time_zone or "UTC"
    # timezone(zone, naive) reads the wall-clock time in `zone`; the session is UTC, so the text
    # carries +00. Values that already carry an offset are left as delivered (unless date-only).
    local = f"cast(timezone({literal(zone)}, {parsed}) as varchar)"
    if column in mapping.date_only or fmt is not None:
        return f"coalesce({local}, {text})"
    return f"case when regexp_matches({value}, {literal(_HAS_OFFSET)}) then {text} else coalesce({local}, {text}) end"


def stage_columns(
    con: duckdb.DuckDBPyConnection, entity: Entity, match: ColumnMatch, mapping: EntityMapping | None
) -> StagedDelivery:
    """Turn the staged delivery (export columns) into contract columns for the rules.

    Without a mapping the rules read the staged delivery itself (a contract column the export does
    not carry reads as NULL); with one, the mapped table is built from it. Either way the rejects
    keep the rows as delivered (`_delivery`).
    """
    if mapping is None:
        columns = {c: match.columns.get(c) for c in entity.column_names}
        return StagedDelivery(columns=columns, extra_columns=list(match.extra_columns))
    selected, originals = {}, []
    for column in entity.column_names:
        if column in match.columns:
            text = quote(match.columns[column])
            if mapping.transforms(entity, column):
                originals.append(match.columns[column])
        elif column in match.constants:
            value = match.constants[column]
            text = "cast(null as varchar)" if value is None else literal(value)
        elif column in match.expressions:
            text = _expression_text(match.expressions[column])
        elif column in match.keys:
            text = _key_text(match.keys[column])
        elif column in match.paths:
            text = _path_text(*match.paths[column])
        else:
            text = "cast(null as varchar)"
        selected[column] = _converted(text, column, entity, match, mapping)
    outside = _outside(mapping.where) if mapping.where else None
    if match.items:
        extras, query = [], _item_rows(entity, match, mapping, selected, outside)
    else:
        extras = list(dict.fromkeys([*match.extra_columns, *originals]))  # one export column may feed two
        kept = "".join(f", {quote(n)}" for n in extras)
        source = f"({pivoted(entity, match, outside)})" if match.pivot else STAGE_TABLE
        marked = ("_outside, " if match.pivot else f"{outside} as _outside, ") if outside else ""
        query = (
            f"select _file_index, _row_number, _malformed, _layout, {marked}{_as_contract(selected)}{kept} "
            f"from {source}"
        )
    con.execute(f"create or replace temp table {MAPPED_TABLE} as {query}")
    columns = {c: INTERNAL_PREFIX + c for c in entity.column_names}
    return StagedDelivery(columns=columns, extra_columns=extras, table=MAPPED_TABLE, outside_rows=bool(outside))


def pivoted(entity: Entity, match: ColumnMatch, outside: str | None) -> str:
    """SQL: a long export's rows (one per record and question) as one row per record, which the
    mapping then reads as it reads a wide export's row.

    A record is its rows in one file sharing the key's text. Its row takes the number of its first
    row (a reject names it), that row's value of every other column (they repeat the record's), and
    per pivoted question its answer; a question answered twice, differently, makes the record
    malformed rather than one answer chosen. A question the mapping does not pivot is ignored (the
    item answers read those rows). A malformed row, a layout row and a row outside the `where` are
    not grouped: each stays a row of its own, to be rejected or left out as such."""
    question, answer = match.pivot
    asked = f"lower(trim({quote(question)}))"
    others = [n for n in match.names if n not in match.pivot]
    # the pivoted columns, each named by its question (match_columns)
    questions = {name: _normal(name) for name in match.columns.values() if name not in match.names}
    twice = " ".join(
        f"when count(distinct trim({quote(answer)})) filter (where {asked} = {literal(q)}) > 1 "
        f"then {literal(f'the rows of one record answer {name} twice, differently')}"
        for name, q in questions.items()
    )
    record = [
        *(f"arg_min({quote(n)}, _row_number) as {quote(n)}" for n in others),
        *(
            f"max({quote(answer)}) filter (where {asked} = {literal(q)}) as {quote(name)}"
            for name, q in questions.items()
        ),
    ]
    key = "".join(f", {_key_expression(k, match)}" for k in entity.key if k not in match.constants)
    inside = "_malformed is null and _layout is null" + (f" and not {outside}" if outside else "")
    grouped_flag, own_flag = (", false as _outside", f", {outside} as _outside") if outside else ("", "")
    return f"""
        select _file_index, min(_row_number) as _row_number, case {twice} end as _malformed,
            cast(null as varchar) as _layout{grouped_flag}, {", ".join(record)}
        from {STAGE_TABLE} where {inside}
        group by _file_index{key}
        union all by name
        select _file_index, _row_number, _malformed, _layout{own_flag}, {", ".join(map(quote, others))}
        from {STAGE_TABLE} where not ({inside})
    """


def _key_expression(column: str, match: ColumnMatch) -> str:
    """SQL: the text of a key column as delivered (mapped, computed, nested or from `key_from`), trimmed."""
    if column in match.keys:
        return _key_text(match.keys[column])
    if column in match.expressions:
        return f"trim({_expression_text(match.expressions[column])})"
    if column in match.paths:
        return f"trim({_path_text(*match.paths[column])})"
    return f"trim(cast({quote(match.columns[column])} as varchar))"


def _path_text(member: str, names: tuple[str, ...]) -> str:
    """SQL: the text at a path into a JSON record's member (`via.channel`); NULL where the member is
    no JSON object (a plain text) or has nothing there."""
    value = f"json_extract_string({quote(member)}, {json_pointer(*names)})"
    return f"case when json_valid({quote(member)}) then {value} end"


def _outside(where: str) -> str:
    """SQL: whether a row is outside the mapping's `where`, so another entity's (or nobody's) and left
    out: the condition is not true. A malformed row is never outside: its columns cannot be trusted
    to say whose it is, so it is rejected as malformed."""
    return f"(_malformed is null and not coalesce(({where}), false))"


def _converted(text: str, column: str, entity: Entity, match: ColumnMatch, mapping: EntityMapping) -> str:
    """SQL: a contract column's text after the mapping's value map, number and date/time conversion."""
    if column in mapping.values:
        text = _value_map(text, mapping.values[column])
    kind = entity.column(column).type
    if kind in ("int", "num") and mapping.decimal_comma:
        # Only a number well formed in that notation is rewritten (1.234,50 -> 1234.50). Any other
        # text is left as delivered: 12.5 cannot be digit groups, so it reads as 12.5, and 12,3,4
        # stays a type reject; a blanket rewrite would have read 12.5 as 125.
        converted = f"replace(regexp_replace({text}, {literal(_DIGIT_GROUPING)}, '', 'g'), ',', '.')"
        text = _when_written(text, _COMMA_DECIMAL, converted)
    elif kind in ("int", "num") and mapping.thousands_separator is not None:
        # Likewise only a number grouped in threes (or the lakh's twos, 1,23,456.50) loses its
        # separators: 12,5 stays a type reject rather than becoming 125.
        group = _GROUP_SEPARATOR[mapping.thousands_separator]
        grouped = rf"^\s*[+-]?\d{{1,3}}({group}\d{{2,3}})*{group}\d{{3}}(\.\d+)?\s*$"
        text = _when_written(text, grouped, f"regexp_replace({text}, {literal(group)}, '', 'g')")
    computed = column in match.columns or column in match.expressions or column in match.paths
    if kind in ("ts", "date") and computed and mapping.transforms(entity, column):
        text = _timestamp(text, column, kind, mapping)
    return text


def _when_written(text: str, pattern: str, converted: str) -> str:
    """SQL: `converted` where the text is a number written as `pattern` says, else the text as delivered."""
    return f"case when regexp_matches({text}, {literal(pattern)}) then {converted} else {text} end"


def _key_text(names: tuple[str, ...]) -> str:
    """SQL: a key the export lacks (`key_from`), from the text of the columns that identify a row: 32
    hex digits of the SHA-256 of their trimmed texts, so the same row delivered again (a cumulative
    export downloaded each day) gets the same key and replaces itself. NULL, a `required` reject,
    when every one of them is blank."""
    texts = [f"coalesce(trim(cast({quote(n)} as varchar)), '')" for n in names]
    blank = " and ".join(f"{t} = ''" for t in texts)
    return f"case when {blank} then null else left(sha256(concat_ws(chr(31), {', '.join(texts)})), 32) end"


def _expression_text(sql: str) -> str:
    return f"cast(({sql}) as varchar)"


def check_expressions(con: duckdb.DuckDBPyConnection, label: str, match: ColumnMatch, mapping: EntityMapping) -> None:
    """Bind each of the mapping's expressions, and its `where`, to the file's columns (text, as
    staged) before a row is read: an unknown column or a type error is the file's ContractError
    naming the key, where it would otherwise fail the whole batch of files. A value an expression
    cannot convert still fails its file when the rows are read: use try_cast / try_strptime, which
    give NULL."""
    sql_of = {f"expressions: {column}": _expression_text(sql) for column, sql in match.expressions.items()}
    if mapping.where:
        sql_of["where"] = f"coalesce(({mapping.where}), false)"  # a condition: true, false or NULL
    columns = ", ".join(f"cast(null as varchar) as {quote(name)}" for name in match.names) or "1 as _"
    for key, sql in sql_of.items():
        try:
            con.execute(f"select {sql} from (select {columns}) limit 0")
        except duckdb.Error as error:
            raise ContractError(f"{label}: {mapping.path or 'the mapping'}: {key}: {error}") from None


def _as_contract(selected: dict[str, str]) -> str:
    return ", ".join(f"{text} as {quote(INTERNAL_PREFIX + column)}" for column, text in selected.items())


def _item_rows(
    entity: Entity, match: ColumnMatch, mapping: EntityMapping, selected: dict[str, str], outside: str | None
) -> str:
    """SQL: a wide export unpivoted, one row per (delivered row, item) with a non-blank score.

    Each answer keeps its delivered row's number, so a reject names the file's row. A row that could
    not be parsed is one reject, not one per item; a row outside the mapping's `where`, one row left
    out (`outside`: its condition, from `_outside`)."""
    scores = mapping.item_score_columns
    answers = []
    marked, inside = ("false as _outside, ", f" and not {outside}") if outside else ("", "")
    for code, columns in match.items.items():
        per_item = dict(selected, **{ITEM_COLUMN: literal(code)})
        cells = {score: quote(columns[score]) if score in columns else "cast(null as varchar)" for score in scores}
        per_item.update({score: _converted(cells[score], score, entity, match, mapping) for score in scores})
        answered = " or ".join(f"not {is_blank(quote(name))}" for name in columns.values())
        answers.append(
            f"select _file_index, _row_number, _malformed, _layout, {marked}{_as_contract(per_item)} "
            f"from {STAGE_TABLE} where _malformed is null and ({answered}){inside}"
        )
    unparsed = dict(selected, **dict.fromkeys([ITEM_COLUMN, *scores], "cast(null as varchar)"))
    answers.append(
        f"select _file_index, _row_number, _malformed, _layout, {marked}{_as_contract(unparsed)} "
        f"from {STAGE_TABLE} where _malformed is not null"
    )
    if outside:
        answers.append(
            f"select _file_index, _row_number, _malformed, _layout, true as _outside, {_as_contract(unparsed)} "
            f"from {STAGE_TABLE} where {outside}"
        )
    return "\nunion all ".join(answers)
