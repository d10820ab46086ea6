"""Are two warehouses' marts identical? Every table of schema `marts`, compared row for row.

    python bench/compare_marts.py before.duckdb after.duckdb [--round 12]

Each argument is a working warehouse (its marts are read from its marts file beside it,
`settings.marts_path`) or a published copy.

For each mart: row counts, and the rows of one that are missing from the other, in both directions
(`EXCEPT ALL`, so duplicates count). Exit code 0 when every mart is identical, 1 otherwise. Used to
check that a change of materialization (view -> table) changed no published number. `--round N`
compares floating-point columns rounded to N decimals: sums of doubles depend on the order in which
DuckDB's threads add them, so two builds of the same data can differ in the last bit.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

from dagster_project import settings


def marts_database(path: str) -> str:
    """The DuckDB file holding the marts of `path`: a working warehouse's marts file, else `path`."""
    marts = settings.marts_path(path)
    return str(marts) if marts.is_file() else path


def compare(
    before: str, after: str, schema: str = "marts", round_to: int | None = None
) -> list[tuple[str, int, int, int, int]]:
    con = duckdb.connect()
    con.execute(f"attach '{marts_database(before)}' as a (read_only)")
    con.execute(f"attach '{marts_database(after)}' as b (read_only)")
    names = lambda db: {  # noqa: E731
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = ? and table_schema = ?",
            [db, schema],
        ).fetchall()
    }
    rows = []
    for table in sorted(names("a") | names("b")):
        if table not in names("a") or table not in names("b"):
            rows.append((table, -1, -1, -1, -1))
            continue
        a, b = f'a.{schema}."{table}"', f'b.{schema}."{table}"'
        count_a = con.execute(f"select count(*) from {a}").fetchone()[0]
        count_b = con.execute(f"select count(*) from {b}").fetchone()[0]
        # columns in the same order by name, so a reordered column is not a difference
        types = con.execute(f"select column_name, column_type from (describe {a})").fetchall()
        columns = ", ".join(
            f'round("{name}", {round_to}) as "{name}"'
            if round_to is not None and kind in ("DOUBLE", "FLOAT")
            else f'"{name}"'
            for name, kind in types
        )
        only_a = con.execute(
            f"select count(*) from (select {columns} from {a} except all select {columns} from {b})"
        ).fetchone()[0]
        only_b = con.execute(
            f"select count(*) from (select {columns} from {b} except all select {columns} from {a})"
        ).fetchone()[0]
        rows.append((table, count_a, count_b, only_a, only_b))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description="Compare the marts of two warehouses row for row.")
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--round", type=int, help="round DOUBLE/FLOAT columns to this many decimals")
    args = parser.parse_args()
    rows = compare(args.before, args.after, round_to=args.round)
    print(f"{'mart':<34}{'rows before':>12}{'rows after':>12}{'only before':>13}{'only after':>12}")
    for table, a, b, only_a, only_b in rows:
        print(f"{table:<34}{a:>12,}{b:>12,}{only_a:>13,}{only_b:>12,}")
    same = all(a == b and a >= 0 and only_a == 0 and only_b == 0 for _, a, b, only_a, only_b in rows)
    print("every mart identical" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
