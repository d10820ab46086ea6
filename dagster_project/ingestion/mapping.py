"""Per-entity mapping of a company's own export onto the contract, declared in YAML (no code).

A file `<mappings_dir>/<entity>.yml` (see dagster_project/deployment.py for the folder), e.g.:

    entity: tickets
    columns:                          # contract column: the export's column (case/space-insensitive)
      ticket_id: Complaint ID
      opened_at: Date received
      channel: Submitted via
    constants:                        # contract columns the export does not carry, one value for all rows
      ticket_type: complaint
    expressions:                      # contract columns computed from the export's (DuckDB SQL, text)
      opened_at: "\"Date received\" || ' ' || \"Time received\""
    values:                           # per column: export value -> contract value (trimmed, any case);
      channel: {Web: web, Postal mail: postal_mail}   # unlisted values pass through unchanged
      status: {Closed with explanation: closed, In progress: open}
    time_zone: America/New_York       # naive timestamps are local time there (default: UTC)
    date_only: [opened_at]            # timestamps delivered as dates: midnight in `time_zone`
    formats: {opened_at: "%m/%d/%Y"}  # strptime format of a date/timestamp column, when not ISO 8601
    delimiter: ";"                    # a CSV export's field separator (default ","; tab for .tsv)
    decimal_separator: ","            # numbers written 1.234,50: dots and spaces group the digits
    sheet: Orders                     # an Excel workbook's sheet to read (default: the first)

A survey tool's wide export (one row per respondent, one column per item) loads as item answers with
`item_columns` in the mapping of survey_item_scores: per score column, export column -> item code.
Each non-blank cell is one answer row; blank cells (unanswered items) are no row:

    entity: survey_item_scores
    columns: {response_id: Respondent ID}
    item_columns:
      perception_score: {Seat comfort: SEAT, Cleanliness: CLEAN}
      expectation_score: {Seat comfort (expected): SEAT}    # SERVQUAL: both scores of one item

Loading applies the mapping before the contract rules, so a value the mapping did not foresee is
still rejected with its reason. Nothing is lost: the original text of every column whose values the
mapping changed (value map, time zone, date-only, format) is kept in `_extra` under the export's
column name, and export columns that are not mapped stay in `_extra` as before.

Only required contract columns must be present; an absent optional column loads as NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from dagster_project import yaml_files
from dagster_project.contract import Entity
from dagster_project.ingestion.files import ContractError
from dagster_project.ingestion.readers import STAGE_TABLE, StagedDelivery
from dagster_project.ingestion.validation import is_blank
from dagster_project.sql_text import literal, quote

KEYS = (
    "entity",
    "columns",
    "constants",
    "expressions",
    "values",
    "time_zone",
    "date_only",
    "formats",
    "delimiter",
    "decimal_separator",
    "sheet",
    "item_columns",
)
# The contract column that names an item, in the entities whose rows are answers to items.
ITEM_COLUMN = "item_code"
# Delivered text of a contract column after mapping, in the staged table (never an export's name).
INTERNAL_PREFIX = "__contract_"
# The delivery with contract columns, when a mapping renames, converts or adds them.
MAPPED_TABLE = "_delivery_mapped"
# What groups a number's digits where the decimal separator is a comma: dots and spaces (French
# exports use no-break spaces), and a number written that way: 1.234,50, 1 234, 12,5, -7.
_DIGIT_GROUPING = r"[.\s\x{00A0}\x{202F}]"
_COMMA_DECIMAL = r"^\s*[+-]?(\d{1,3}([.\s\x{00A0}\x{202F}]\d{3})+|\d+)(,\d+)?\s*$"
# A time of day followed by a UTC offset or Z: the value is not naive and is left as delivered.
_HAS_OFFSET = r"\d:\d\d(:\d\d(\.\d+)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)$"


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class EntityMapping:
    entity: str
    columns: dict[str, str] = field(default_factory=dict)  # contract column -> export column
    constants: dict[str, str | None] = field(default_factory=dict)
    expressions: dict[str, str] = field(default_factory=dict)  # contract column -> SQL over export columns
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)  # keys trimmed, lower-cased
    time_zone: str | None = None
    date_only: tuple[str, ...] = ()
    formats: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None  # a CSV export's field separator; None: the file type's own
    decimal_separator: str = "."
    sheet: str | None = None  # an Excel workbook's sheet; None: the first
    # A wide export's item columns: item code -> {score column: export column}, in mapping order.
    items: dict[str, dict[str, str]] = field(default_factory=dict)
    path: Path | None = None

    @property
    def item_score_columns(self) -> list[str]:
        return score_columns(self.items)

    def transforms(self, entity: Entity, column: str) -> bool:
        """True when the mapping changes the delivered text of `column` (its original is then kept)."""
        if column in self.values or column in self.date_only or column in self.formats:
            return True
        kind = entity.column(column).type
        return (self.time_zone is not None and kind == "ts") or (self.decimal_comma and kind in ("int", "num"))

    @property
    def decimal_comma(self) -> bool:
        return self.decimal_separator == ","


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

    @property
    def delivered(self) -> list[str]:
        """Contract columns the file carries: constants, expressions and item columns included."""
        from_items = [ITEM_COLUMN, *score_columns(self.items)] if self.items else []
        return list(dict.fromkeys([*self.columns, *self.constants, *self.expressions, *from_items]))


def score_columns(items: dict[str, dict[str, str]]) -> list[str]:
    """The contract columns that item columns fill (expectation/perception), in order of first use."""
    return list(dict.fromkeys(score for scores in items.values() for score in scores))


# ------------------------------------------------------------------------------------------ loading


def _scalar(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MappingError(f"{where}: expected a single value (text, number, true/false or ~), got {value!r}")


def parse_mapping(data: Any, entity: Entity, *, path: Path | None = None) -> EntityMapping:
    """Validate a mapping document for `entity`; every problem is a MappingError naming the key."""
    where = str(path) if path else f"mapping of {entity.name}"
    if not isinstance(data, dict):
        raise MappingError(f"{where}: expected a mapping with keys {', '.join(KEYS)}")
    unknown = sorted(map(str, set(data) - set(KEYS)))
    if unknown:
        raise MappingError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(KEYS)}")
    if data.get("entity") not in (None, entity.name):
        raise MappingError(f"{where}: entity is {data.get('entity')!r} but this file maps {entity.name}")

    def contract_column(name: Any, key: str, types: tuple[str, ...] | None = None) -> str:
        if not isinstance(name, str) or name not in entity.column_names:
            raise MappingError(
                f"{where}: {key}: {name!r} is not a column of {entity.qualified_name}; "
                f"its columns: {', '.join(entity.column_names)}"
            )
        if types and entity.column(name).type not in types:
            raise MappingError(
                f"{where}: {key}: {name} is a {entity.column(name).type} column; only {'/'.join(types)} columns allowed"
            )
        return name

    def section(key: str) -> dict:
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise MappingError(f"{where}: {key} must be a mapping of contract column -> value")
        return value

    columns = {}
    for name, export in section("columns").items():
        contract_column(name, "columns")
        if not isinstance(export, str) or not export.strip():
            raise MappingError(f"{where}: columns: {name}: give the export's column name, got {export!r}")
        columns[name] = export
    constants = {}
    for name, value in section("constants").items():
        contract_column(name, "constants")
        if name in columns:
            raise MappingError(f"{where}: constants: {name} is also mapped from column {columns[name]!r}; keep one")
        constants[name] = _scalar(value, f"{where}: constants: {name}")
    expressions = {}
    for name, sql in section("expressions").items():
        contract_column(name, "expressions")
        if name in columns or name in constants:
            raise MappingError(f"{where}: expressions: {name} is also mapped in columns/constants; keep one")
        if not isinstance(sql, str) or not sql.strip():
            raise MappingError(f"{where}: expressions: {name}: give a SQL expression over the export's columns")
        expressions[name] = sql
    values = {}
    for name, table in section("values").items():
        contract_column(name, "values")
        if not isinstance(table, dict) or not table:
            raise MappingError(f"{where}: values: {name} must map export values to contract values")
        mapped: dict[str, str | None] = {}
        for source, target in table.items():
            source_text = _scalar(source, f"{where}: values: {name}")
            if source_text is None:
                raise MappingError(f"{where}: values: {name}: an export value cannot be empty (~)")
            mapped[source_text.strip().lower()] = _scalar(target, f"{where}: values: {name}: {source}")
        values[name] = mapped
    time_zone = data.get("time_zone")
    if time_zone is not None:
        try:
            ZoneInfo(str(time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(
                f"{where}: time_zone {time_zone!r} is not an IANA time zone (e.g. UTC, America/New_York)"
            ) from None
        time_zone = str(time_zone)
    date_only = data.get("date_only") or []
    if isinstance(date_only, str):
        date_only = [date_only]
    if not isinstance(date_only, list):
        raise MappingError(f"{where}: date_only must be a list of timestamp columns")
    date_only = tuple(contract_column(c, "date_only", ("ts",)) for c in date_only)
    formats = {}
    for name, fmt in section("formats").items():
        contract_column(name, "formats", ("ts", "date"))
        if not isinstance(fmt, str) or "%" not in fmt:
            raise MappingError(f"{where}: formats: {name}: give a strptime format such as '%m/%d/%Y', got {fmt!r}")
        formats[name] = fmt
    delimiter = _delimiter(data.get("delimiter"), where)
    decimal_separator = str(data.get("decimal_separator") or ".")
    if decimal_separator not in (".", ","):
        raise MappingError(f"{where}: decimal_separator must be '.' or ',', got {decimal_separator!r}")
    sheet = data.get("sheet")
    if sheet is not None and (not isinstance(sheet, (str, int)) or not str(sheet).strip()):
        raise MappingError(f"{where}: sheet must name a sheet of the workbook, got {sheet!r}")
    mapped = {**columns, **constants, **expressions}
    items = _item_columns(data.get("item_columns"), entity, where, contract_column, mapped)
    return EntityMapping(
        entity=entity.name,
        columns=columns,
        constants=constants,
        expressions=expressions,
        values=values,
        time_zone=time_zone,
        date_only=date_only,
        formats=formats,
        delimiter=delimiter,
        decimal_separator=decimal_separator,
        sheet=None if sheet is None else str(sheet),
        items=items,
        path=path,
    )


def _delimiter(value: Any, where: str) -> str | None:
    """One character that separates a CSV export's fields (`tab` or "\\t" for a tab)."""
    if value is None:
        return None
    text = "\t" if value in ("tab", "\\t") else value
    if not isinstance(text, str) or len(text) != 1 or text in ('"', "\n", "\r"):
        raise MappingError(f"{where}: delimiter must be one character such as ';', '|' or tab, got {value!r}")
    return text


def _item_columns(value: Any, entity: Entity, where: str, contract_column, mapped: dict) -> dict[str, dict[str, str]]:
    """`item_columns: {score column: {export column: item code}}` -> item code -> {score: export}."""
    if value is None:
        return {}
    if ITEM_COLUMN not in entity.column_names:
        raise MappingError(f"{where}: item_columns: {entity.name} has no {ITEM_COLUMN}; only survey_item_scores does")
    if not isinstance(value, dict) or not value:
        raise MappingError(f"{where}: item_columns must map a score column to {{export column: item code}}")
    for taken in (ITEM_COLUMN, *value):
        if taken in mapped:
            raise MappingError(f"{where}: item_columns: {taken} comes from the item columns; map it nowhere else")
    items: dict[str, dict[str, str]] = {}
    used: set[str] = set()
    for score, table in value.items():
        contract_column(score, "item_columns", ("int",))
        if score in entity.key or not isinstance(table, dict) or not table:
            raise MappingError(
                f"{where}: item_columns: {score} must map export columns to item codes, e.g. {{Seat comfort: SEAT}}"
            )
        for export, code in table.items():
            if not isinstance(export, str) or not export.strip() or not isinstance(code, str) or not code.strip():
                raise MappingError(
                    f"{where}: item_columns: {score}: give export column: item code, got {export!r}: {code!r}"
                )
            if export.strip().lower() in used:
                raise MappingError(f"{where}: item_columns: column {export!r} is listed twice; one column is one score")
            if score in items.setdefault(code, {}):
                raise MappingError(f"{where}: item_columns: {score}: item {code} comes from two columns; keep one")
            used.add(export.strip().lower())
            items[code][score] = export
    return items


def mapping_path(mappings_dir: Path, entity: Entity) -> Path | None:
    for suffix in (".yml", ".yaml"):
        path = Path(mappings_dir) / f"{entity.name}{suffix}"
        if path.is_file():
            return path
    return None


def load_mapping(mappings_dir: Path | None, entity: Entity) -> EntityMapping | None:
    """The mapping file of `entity` in `mappings_dir`, validated; None when there is none."""
    path = mapping_path(mappings_dir, entity) if mappings_dir else None
    if path is None:
        return None
    try:
        data = yaml_files.safe_load(path.read_text(encoding="utf-8"))
    except yaml_files.YAMLError as error:
        raise MappingError(f"{path}: not valid YAML: {error}") from error
    return parse_mapping(data, entity, path=path)


# ----------------------------------------------------------------------------------------- matching


def match_columns(entity: Entity, label: str, names: list[str], mapping: EntityMapping | None) -> ColumnMatch:
    """Meet a file's columns with the contract (after the mapping's renames and constants).

    Only required columns must be present; the error lists each missing one with how to fix it."""
    by_normal: dict[str, str] = {}
    for name in names:
        by_normal.setdefault(name.strip().lower(), name)
    renames = mapping.columns if mapping else {}
    constants = mapping.constants if mapping else {}
    expressions = mapping.expressions if mapping else {}
    from_items = {ITEM_COLUMN, *mapping.item_score_columns} if mapping and mapping.items else set()
    present: dict[str, str] = {}
    missing: list[str] = []
    for column in entity.column_names:
        if column in constants or column in expressions or column in from_items:
            continue
        wanted = renames.get(column, column)
        found = by_normal.get(wanted.strip().lower())
        if found is not None:
            present[column] = found
        elif column in entity.required_columns:
            missing.append(f"{column} (mapped from {wanted!r})" if column in renames else column)
    if missing:
        where = mapping.path if mapping and mapping.path else f"<mappings_dir>/{entity.name}.yml"
        raise ContractError(
            f"{label}: columns do not match the {entity.qualified_name} contract; "
            f"missing required column(s): {', '.join(missing)}. Found: {', '.join(names) or '(none)'}. "
            f"Add these columns to the export, or map the export's own columns to them in {where} "
            "(`columns: {<contract column>: <export column>}` or `constants:`); see README, "
            f"'Bring your own data'. Optional columns may be left out.{_separator_hint(names, where)}"
        )
    items = _present_items(label, by_normal, mapping) if from_items else {}
    used = set(present.values())
    return ColumnMatch(
        columns=present,
        constants=dict(constants),
        # A wide export's other columns describe the respondent, not the answer: they are not copied
        # to each answer (the same file delivered as survey_responses keeps them in its `_extra`).
        extra_columns=[] if items else [n for n in names if n not in used],
        names=tuple(names),
        items=items,
        expressions=dict(expressions),
    )


def _separator_hint(names: list[str], where: object) -> str:
    """A header read as one column that another separator would split: say how to declare it."""
    if len(names) != 1:
        return ""
    for separator, shown in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
        if separator in names[0]:
            return f" The header looks separated by {shown}, not commas: declare `delimiter: {shown}` in {where}."
    return ""


def _present_items(label: str, by_normal: dict[str, str], mapping: EntityMapping) -> dict[str, dict[str, str]]:
    """The mapping's item columns this file has. A questionnaire changes over time, so a file may
    lack some items (no answers to them); one with none of them is not this export."""
    items: dict[str, dict[str, str]] = {}
    for code, scores in mapping.items.items():
        for score, export in scores.items():
            found = by_normal.get(export.strip().lower())
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
    if fmt is not None:
        parsed = f"try_strptime({value}, {literal(fmt)})"
    elif column in mapping.date_only:
        parsed = f"cast(try_cast({value} as date) as timestamp)"
    else:
        parsed = f"try_cast({value} as timestamp)"
    if kind == "date":
        return f"coalesce(cast(cast({parsed} as date) as varchar), {text})"
    zone = mapping.time_zone or "UTC"
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
        else:
            text = "cast(null as varchar)"
        selected[column] = _converted(text, column, entity, match, mapping)
    if match.items:
        extras, query = [], _item_rows(entity, match, mapping, selected)
    else:
        extras = list(dict.fromkeys([*match.extra_columns, *originals]))  # one export column may feed two
        kept = "".join(f", {quote(n)}" for n in extras)
        query = f"select _file_index, _row_number, _malformed, {_as_contract(selected)}{kept} from {STAGE_TABLE}"
    con.execute(f"create or replace temp table {MAPPED_TABLE} as {query}")
    columns = {c: INTERNAL_PREFIX + c for c in entity.column_names}
    return StagedDelivery(columns=columns, extra_columns=extras, table=MAPPED_TABLE)


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
        text = f"case when regexp_matches({text}, {literal(_COMMA_DECIMAL)}) then {converted} else {text} end"
    computed = column in match.columns or column in match.expressions
    if kind in ("ts", "date") and computed and mapping.transforms(entity, column):
        text = _timestamp(text, column, kind, mapping)
    return text


def _expression_text(sql: str) -> str:
    return f"cast(({sql}) as varchar)"


def check_expressions(con: duckdb.DuckDBPyConnection, label: str, match: ColumnMatch, mapping: EntityMapping) -> None:
    """Bind each of the mapping's expressions to the file's columns (text, as staged) before a row is
    read: an unknown column or a type error is the file's ContractError naming the key, where it
    would otherwise fail the whole batch of files. A value an expression cannot convert still fails
    its file when the rows are read: use try_cast / try_strptime, which give NULL."""
    if not match.expressions:
        return
    columns = ", ".join(f"cast(null as varchar) as {quote(name)}" for name in match.names) or "1 as _"
    for column, sql in match.expressions.items():
        try:
            con.execute(f"select {_expression_text(sql)} from (select {columns}) limit 0")
        except duckdb.Error as error:
            where = mapping.path or "the mapping"
            raise ContractError(f"{label}: {where}: expressions: {column}: {error}") from None


def _as_contract(selected: dict[str, str]) -> str:
    return ", ".join(f"{text} as {quote(INTERNAL_PREFIX + column)}" for column, text in selected.items())


def _item_rows(entity: Entity, match: ColumnMatch, mapping: EntityMapping, selected: dict[str, str]) -> str:
    """SQL: a wide export unpivoted, one row per (delivered row, item) with a non-blank score.

    Each answer keeps its delivered row's number, so a reject names the file's row. A row that could
    not be parsed is one reject, not one per item."""
    scores = mapping.item_score_columns
    answers = []
    for code, columns in match.items.items():
        per_item = dict(selected, **{ITEM_COLUMN: literal(code)})
        cells = {score: quote(columns[score]) if score in columns else "cast(null as varchar)" for score in scores}
        per_item.update({score: _converted(cells[score], score, entity, match, mapping) for score in scores})
        answered = " or ".join(f"not {is_blank(quote(name))}" for name in columns.values())
        answers.append(
            f"select _file_index, _row_number, _malformed, {_as_contract(per_item)} "
            f"from {STAGE_TABLE} where _malformed is null and ({answered})"
        )
    unparsed = dict(selected, **dict.fromkeys([ITEM_COLUMN, *scores], "cast(null as varchar)"))
    answers.append(
        f"select _file_index, _row_number, _malformed, {_as_contract(unparsed)} "
        f"from {STAGE_TABLE} where _malformed is not null"
    )
    return "\nunion all ".join(answers)
