"""Workbooks delivered as landing files (Excel's .xlsx and older .xls, OpenDocument's .ods), read
through a CSV copy.

CRM reports, survey tools and billing systems hand out workbooks as often as CSV. DuckDB's Excel
extension would be downloaded at run time, which deployments behind a firewall cannot do, so the
sheet is read with calamine (a Rust reader: 200,000 rows of 9 columns in 1.3 s, where openpyxl's
streaming reader took 23 s) and written as a UTF-8 CSV in the run's work folder; from there every
rule reads it as it reads a CSV export: the same typing, rejects and row numbers (the sheet's
non-blank rows, its first one the header, or the mapping's `header_row` when a report puts a title
above it: the rows above are left out of the copy, and `header_rows` are joined into one:
ingestion/header_rows.py). Rows under the header that are no records (`skip_rows_after_header`,
`skip_footer_rows`) stay in the copy: the staged view sets them apart as it does a CSV's.

Cells become the text a CSV export of the sheet would hold: numbers as Excel holds them, to 15
significant digits (2.55, 17850), dates and times in ISO 8601 (naive: the mapping's `time_zone`
applies), booleans `true`/`false`, a formula its last computed value. Blank rows are skipped, as
blank CSV lines are. calamine holds the sheet's cells in memory while it is copied (about 85 bytes a
cell: 783 MB for 1,000,000 rows of 9 columns); Excel's limit of 1,048,576 rows bounds that.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path

from dagster_project.ingestion.files import ContractError, DeliveredFile, name_matches
from dagster_project.ingestion.header_rows import joined_names


def matching_sheets(path: Path, label: str, patterns: tuple[str, ...]) -> list[str]:
    """The workbook's sheets that match the mapping's `sheet` patterns (case-insensitive, `*` and `?`
    as in file names), in the workbook's order: each is a delivery of its own. Raises ContractError
    naming the workbook when it cannot be read or no sheet matches."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as error:
        raise ContractError(f"{label}: not a readable workbook: {error}") from None
    try:
        names = list(book.sheet_names)
    finally:
        book.close()
    matching = [n for n in names if name_matches(n, patterns)]
    if not matching:
        raise ContractError(
            f"{label}: no sheet matches the mapping's `sheet` ({', '.join(patterns)}); its sheets: {', '.join(names)}"
        )
    return matching


def workbook_as_csv(delivered: DeliveredFile, workdir: Path) -> Path:
    """The delivered workbook's sheet (`delivered.sheet`, else the first) as a CSV file in `workdir`."""
    from python_calamine import CalamineError, CalamineWorkbook  # only runs that receive a workbook

    label = delivered.source_label
    try:
        book = CalamineWorkbook.from_path(str(delivered.path))
    except (CalamineError, OSError, ValueError) as error:
        raise ContractError(f"{label}: not a readable {delivered.file_format} workbook: {error}") from None
    try:
        if delivered.sheet is not None and delivered.sheet not in book.sheet_names:
            raise ContractError(
                f"{label}: no sheet {delivered.sheet!r} (the mapping's `sheet`); "
                f"its sheets: {', '.join(book.sheet_names)}"
            )
        try:
            sheet = book.get_sheet_by_name(delivered.sheet) if delivered.sheet else book.get_sheet_by_index(0)
            target = Path(tempfile.mkstemp(dir=workdir, suffix=".csv")[1])
            with open(target, "w", encoding="utf-8", newline="") as out:
                _write_rows(sheet.iter_rows(), csv.writer(out), delivered)
        except (CalamineError, ValueError) as error:
            raise ContractError(f"{label}: cannot read the sheet of this workbook: {error}") from None
    finally:
        book.close()
    return target


def _write_rows(rows: Iterable[list], writer, delivered: DeliveredFile) -> None:
    width = None  # the header's
    # calamine yields the sheet's rows from its first (row 1), blank ones included.
    numbered = enumerate(rows, start=1)
    for number, row in numbered:
        if number < delivered.header_row:
            continue
        cells = [_text(value) for value in row]
        if number == delivered.header_row > 1 and not any(cells):
            raise ContractError(
                f"{delivered.source_label}: row {number} of the sheet, the mapping's `header_row`, is blank: "
                "give the row that holds the column names"
            )
        if not any(cells):
            continue
        if width is None and delivered.header_rows > 1:  # the rows under it name the columns too
            more = [[_text(value) for value in next(numbered, (0, []))[1]] for _ in range(delivered.header_rows - 1)]
            cells = joined_names([cells, *more])
        last = max(i + 1 for i, c in enumerate(cells) if c != "")
        if width is None:  # the header: cells past its last name are formatting
            width = last
            writer.writerow(cells[:width])
            continue
        # A value right of the header stays, so the row is malformed as a CSV line would be.
        writer.writerow(cells[: max(width, last)] + [""] * (width - len(cells)))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # A whole number is exact up to 2^53: all its digits, without `.0` (an id 17850, and a
        # 16-digit id whole, not 1.23456789012346e+15, which two ids could share).
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        # Otherwise Excel keeps 15 significant digits and shows no more; past them a stored double is
        # binary noise (3 x 2.55 is saved as 7.6499999999999995), which would break a column's decimals.
        return format(value, ".15g")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)
