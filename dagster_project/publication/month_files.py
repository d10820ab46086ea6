"""The facts' Parquet files by month: `parquet/<fact>/month_start_date=<month>/data_0.parquet`.

A daily delivery changes a month or two of each large fact, yet a fact published as one Parquet
file was rewritten whole: in the 1M daily increment the four facts' files were about 4 s of a 9 s
publication, and at 10M most of a two-minute one (DECISIONLOG.md, "The facts' Parquet files by
month"). So a fact (`fct_*`) whose months are dates is published as one folder per month, in the
Hive layout that DuckDB, Spark and most BI tools read as one table (`<fact>/*/*.parquet`), and a
publication writes only the months whose content changed and removes the months the fact no
longer has.

Each file carries in its key-value metadata (`content_fingerprint`) a JSON object of month ->
fingerprint that covers its own month (the fingerprint of that month's rows, in the form of a
mart's: mart_changes.py), so the published folder says by itself what it holds, whatever an
interrupted publication left. When more than a quarter of a fact's months changed (its first
publication, a full rebuild that changed many), the fact is written in one partitioned `COPY`, a
single scan, whose files all carry the whole object; otherwise each changed month is a `COPY` of
its own rows.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from dagster_project.publication.layout import (
    FACT_PREFIX,
    MONTH_COLUMN,
    MONTH_FILE,
    NULL_PARTITION,
    READ_ONLY_MODE,
)
from dagster_project.publication.mart_changes import (
    Columns,
    Content,
    fingerprint_option,
    fingerprint_rows,
    month_fingerprints,
    parquet_fingerprints,
)
from dagster_project.sql_text import literal, quote

_PREFIX = f"{MONTH_COLUMN}="
_ONE_SCAN_SHARE = 4  # more than 1/4 of the months changed: the whole fact in one partitioned COPY
# Rows a partitioned COPY buffers per month and thread before writing them out (DuckDB's default,
# 524,288, buffers every month's rows at once: at 10M responses, 90 months of fct_customer_months
# under a 2 GB limit spilled 6 GB to disk, 56 s against 27 s; DECISIONLOG.md, "The partitioned
# Parquet writes, without spilling"). A DuckDB setting of the whole database: only the
# publication's own file is open with it.
_PARTITION_FLUSH_ROWS = 16_384


def published_by_month(mart: str, content: Content) -> bool:
    """Whether `mart` (holding `content`) is published as Parquet files by month: a fact whose months
    are dates (the marts' month grain). A fact with no rows (its source not delivered) is one empty
    `<fact>.parquet`, as any mart: a folder without files would give a reader no columns. So is one
    whose rows all lack a month: a folder of the NULL month alone reads back with the month column
    as text (a reader types a Hive column from its folder names), not as a date."""
    return (
        mart.startswith(FACT_PREFIX)
        and any(m is not None for m in content.months or ())
        and all(m is None or type(m) is date for m in content.months)
    )


def month_folder(month: date | None) -> str:
    """The folder of `month` (None: the rows without a month) in a fact's Parquet folder."""
    return _PREFIX + _month_value(month)


def is_month_folder(path: Path) -> bool:
    """Whether `path` is a month's folder of a fact's Parquet folder (as month_folder names it)."""
    return path.is_dir() and path.name.startswith(_PREFIX)


def _month_value(month: date | None) -> str:
    """How the folder name spells `month`; also the month's key in a file's fingerprint object."""
    return NULL_PARTITION if month is None else month.isoformat()


@dataclass
class MonthFilesPlan:
    """What a publication does to a fact's Parquet folder: the months to write (all of them in one
    scan when `whole`), their fingerprints, and the month folders to remove once the new files are
    in (months the fact no longer has)."""

    fingerprints: dict[date | None, str]
    months: list[date | None] = field(default_factory=list)
    whole: bool = False
    stale: list[Path] = field(default_factory=list)


def plan_month_files(
    con: duckdb.DuckDBPyConnection, folder: Path, content: Content, columns: Columns
) -> MonthFilesPlan:
    """Compare the working fact's months (`content`, `columns`) with the published `folder`."""
    wanted = month_fingerprints(content, columns)
    published = published_fingerprints(con, folder)
    changed = [m for m in wanted if published.get(month_folder(m)) != wanted[m]]
    plan = MonthFilesPlan(wanted, changed, whole=len(changed) * _ONE_SCAN_SHARE > len(wanted))
    keep = {month_folder(m) for m in wanted}
    if folder.is_dir():
        plan.stale = sorted(p for p in folder.iterdir() if p.name not in keep)
    return plan


def published_fingerprints(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, str]:
    """Month folder name -> the fingerprint its files were written with for that month. A month
    whose files disagree, one of which says nothing of it, or whose files hold other than the
    fingerprint's number of rows (a month's file copied beside itself: every file agrees, and a
    reader of the folder would count the month twice) is left out: it is written again."""
    glob = str(folder / f"{_PREFIX}*" / "*.parquet")
    if not any(folder.glob(f"{_PREFIX}*/*.parquet")):
        return {}
    rows: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for file_name, count in con.execute(
        f"select file_name, num_rows from parquet_file_metadata({literal(glob)})"
    ).fetchall():
        month = Path(file_name).parent.name
        rows[month] += count
        files[month] += 1
    recorded: dict[str, list[str | None]] = {}
    for file_name, value in parquet_fingerprints(con, glob).items():
        month = Path(file_name).parent.name
        try:
            fingerprint = json.loads(value).get(month.removeprefix(_PREFIX))
        except (ValueError, AttributeError):  # not an object of months: written by something else
            fingerprint = None
        recorded.setdefault(month, []).append(fingerprint)
    return {
        month: values[0]
        for month, values in recorded.items()
        if len(values) == files[month]
        and values[0] is not None
        and len(set(values)) == 1
        and fingerprint_rows(values[0]) == rows[month]
    }


def write_month_files(con: duckdb.DuckDBPyConnection, relation: str, folder: Path, plan: MonthFilesPlan) -> None:
    """Write the planned months of `relation` into `folder` (a new, temporary one), each file with
    its month's fingerprint in its key-value metadata."""
    if plan.whole:
        metadata = json.dumps({_month_value(m): f for m, f in plan.fingerprints.items()})
        con.execute(f"set partitioned_write_flush_threshold = {_PARTITION_FLUSH_ROWS}")
        con.execute(
            f"copy {relation} to {literal(str(folder))} (format parquet, partition_by ({quote(MONTH_COLUMN)}), "
            f"write_partition_columns true, {fingerprint_option(metadata)})"
        )
        return
    for month in plan.months:
        target = folder / month_folder(month)
        target.mkdir(parents=True)
        metadata = json.dumps({_month_value(month): plan.fingerprints[month]})
        condition = "is null" if month is None else f"= cast({literal(month.isoformat())} as date)"
        con.execute(
            f"copy (select * from {relation} where {quote(MONTH_COLUMN)} {condition}) "
            f"to {literal(str(target / MONTH_FILE))} "
            f"(format parquet, {fingerprint_option(metadata)})"
        )


def swap_in_month_files(written: Path, published: Path) -> None:
    """Move each month folder's files from `written` into the fact's `published` folder (one
    atomic rename per file), removing the files of those months that the new ones do not replace."""
    for month in sorted(written.iterdir()):
        target = published / month.name
        target.mkdir(parents=True, exist_ok=True)
        new = set()
        for part in sorted(month.iterdir()):
            os.chmod(part, READ_ONLY_MODE)
            os.replace(part, target / part.name)
            new.add(part.name)
        for old in target.iterdir():
            if old.name not in new:
                old.unlink()


def remove_path(path: Path) -> None:
    """Remove a published file or folder that the new publication no longer has."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
