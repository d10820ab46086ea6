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
    thousands_separator: ","          # with decimal points, numbers written 1,234.50 (or 1'234.50)
    sheet: Orders                     # a workbook's sheet to read (default: the first)
    header_row: 4                     # the line (CSV) or sheet row holding the column names, when a
                                      # report puts its title and filters above them (default 1)
    header_rows: 2                    # rows that together name the columns, as SurveyMonkey's question
                                      # and item rows: joined "<question> - <item>" (default 1)
    skip_rows_after_header: 2         # rows under the column names that describe them, as Qualtrics'
                                      # question texts and import ids (default 0)
    records: tickets                  # a .json document's member holding the array of records, as
                                      # APIs wrap a page ({"tickets": [...], "next_page": ...});
                                      # a list for a nested one: [data, items]

A survey tool's wide export (one row per respondent, one column per item) loads as item answers with
`item_columns` in the mapping of survey_item_scores: per score column, export column -> item code.
Each non-blank cell is one answer row; blank cells (unanswered items) are no row:

    entity: survey_item_scores
    columns: {response_id: Respondent ID}
    item_columns:
      perception_score: {Seat comfort: SEAT, Cleanliness: CLEAN}
      expectation_score: {Seat comfort (expected): SEAT}    # SERVQUAL: both scores of one item

Loading applies the mapping (ingestion/mapped_delivery.py) before the contract rules, so a value the
mapping did not foresee is still rejected with its reason. Nothing is lost: the original text of
every column whose values the mapping changed (value map, number notation, time zone, date-only,
format) is kept in `_extra` under the export's column name, and export columns that are not mapped
(an expression's inputs too) stay in `_extra` as before.

Only required contract columns must be present; an absent optional column loads as NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster_project import yaml_files
from dagster_project.contract import Entity

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
    "thousands_separator",
    "sheet",
    "header_row",
    "header_rows",
    "skip_rows_after_header",
    "records",
    "item_columns",
)
# What may group a number's digits when its decimal separator is a point: 1,234.50, 1'234.50 (Swiss),
# 1 234.50.
THOUSANDS_SEPARATORS = (",", "'", " ")
# The contract column that names an item, in the entities whose rows are answers to items.
ITEM_COLUMN = "item_code"


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
    thousands_separator: str | None = None  # with decimal points: ",", "'" or " " between digit groups
    sheet: str | None = None  # a workbook's sheet; None: the first
    header_row: int = 1  # a CSV's line or a workbook's row with the column names; the ones above are skipped
    header_rows: int = 1  # rows from header_row on whose texts are joined into the column names
    skip_rows_after_header: int = 0  # rows under the column names that are not records (CSV, workbooks)
    records: tuple[str, ...] = ()  # the members leading to a .json document's array of records
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
        grouped = self.decimal_comma or self.thousands_separator is not None
        return (self.time_zone is not None and kind == "ts") or (grouped and kind in ("int", "num"))

    @property
    def decimal_comma(self) -> bool:
        return self.decimal_separator == ","


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
    thousands_separator = data.get("thousands_separator")
    if thousands_separator == "space":
        thousands_separator = " "
    if thousands_separator is not None and thousands_separator not in THOUSANDS_SEPARATORS:
        raise MappingError(f"{where}: thousands_separator must be ',', \"'\" or space, got {thousands_separator!r}")
    if thousands_separator is not None and decimal_separator == ",":
        raise MappingError(
            f"{where}: thousands_separator goes with decimal points; with decimal_separator ',' the digit "
            "groups are dots or spaces already (1.234,50)"
        )
    sheet = data.get("sheet")
    if sheet is not None and (not isinstance(sheet, (str, int)) or not str(sheet).strip()):
        raise MappingError(f"{where}: sheet must name a sheet of the workbook, got {sheet!r}")
    header_row = data.get("header_row", 1)
    if not _whole_number(header_row, 1):
        raise MappingError(
            f"{where}: header_row must be the number of the line (CSV) or sheet row holding the column "
            f"names, 1 or more, got {header_row!r}"
        )
    header_rows = data.get("header_rows", 1)
    if not _whole_number(header_rows, 1):
        raise MappingError(
            f"{where}: header_rows must be the number of rows that together name the columns, 1 or more, "
            f"got {header_rows!r}"
        )
    skip_rows_after_header = data.get("skip_rows_after_header", 0)
    if not _whole_number(skip_rows_after_header, 0):
        raise MappingError(
            f"{where}: skip_rows_after_header must be the number of rows under the column names that are "
            f"not records (0 or more), got {skip_rows_after_header!r}"
        )
    records = data.get("records") or ()
    records = (records,) if isinstance(records, str) else records
    if not isinstance(records, (list, tuple)) or not all(isinstance(m, str) and m for m in records):
        raise MappingError(
            f"{where}: records must name the member that holds the array of records (e.g. tickets), "
            f"or list the members leading to it (e.g. [data, items]), got {data.get('records')!r}"
        )
    items = _item_columns(
        data.get("item_columns"), entity, where, contract_column, {**columns, **constants, **expressions}
    )
    if items and ITEM_COLUMN in values:  # the codes are the item columns' own: a value map would be ignored
        raise MappingError(f"{where}: values: {ITEM_COLUMN} comes from item_columns; give the codes there")
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
        thousands_separator=thousands_separator,
        sheet=None if sheet is None else str(sheet),
        header_row=header_row,
        header_rows=header_rows,
        skip_rows_after_header=skip_rows_after_header,
        records=tuple(records),
        items=items,
        path=path,
    )


def _whole_number(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


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
