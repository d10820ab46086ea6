"""Column names spread over several header rows, as survey tools export them (the mapping's
`header_rows`), made into one header row.

SurveyMonkey writes a question in the first row and, under it, what each of its columns holds: a
matrix question's items, "Response", a choice. The question is written over its first column only
(a merged cell in a workbook), so the names are joined per column, each upper row's text carried to
the right over the blank cells of the columns under it:

    Respondent ID | Please rate us:         |              | How likely ...?
                  | Staff                   | Cleanliness  | Response
    ->  Respondent ID, Please rate us: - Staff, Please rate us: - Cleanliness, How likely ...? - Response

A workbook's rows are joined as its CSV copy is written (ingestion/workbooks.py); a CSV export is
copied with the joined row in place of its header rows (and of the lines above them), so that every
reader then sees one header row.
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import tempfile
from pathlib import Path

from dagster_project.ingestion.files import DeliveredFile

SEPARATOR = " - "  # as Qualtrics names a matrix item's column: "<question> - <item>"


def joined_names(rows: list[list[str]]) -> list[str]:
    """One name per column from the header rows, top row first (see the module's docstring)."""
    width = max((len(row) for row in rows), default=0)
    levels = [[cell.strip() for cell in row] + [""] * (width - len(row)) for row in rows]
    carried = [""] * len(levels)  # per row, the text that spans to the right
    names = []
    for column in range(width):
        own = [level[column] for level in levels]
        for depth, text in enumerate(own):
            if text:  # a new heading starts here: what the rows under it carried ends
                carried[depth:] = [text] + [""] * (len(levels) - depth - 1)
        named = [depth for depth, text in enumerate(own) if text]
        if not named:
            names.append("")  # an unnamed column, as in a one-row header
            continue
        deepest = named[-1]
        names.append(SEPARATOR.join(part for part in carried[: deepest + 1] if part))
    return names


def csv_with_one_header(delivered: DeliveredFile, path: Path, workdir: Path) -> Path:
    """A copy of the CSV at `path` (its readable UTF-8 form) whose first line is the joined header."""
    target = Path(tempfile.mkstemp(dir=workdir, suffix=".csv")[1])
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with (
        opener(path, "rb") as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,
        open(target, "w", encoding="utf-8", newline="") as out,
    ):
        for _ in range(delivered.header_row - 1):  # lines, as DuckDB's `skip` counts them
            text.readline()
        reader = csv.reader(text, delimiter=delivered.delimiter, quotechar='"')
        rows = [next(reader, []) for _ in range(delivered.header_rows)]
        csv.writer(out, delimiter=delivered.delimiter, lineterminator="\n").writerow(joined_names(rows))
        shutil.copyfileobj(text, out)
    return target
