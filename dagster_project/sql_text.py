"""Quoting for SQL the package writes as text (DuckDB): identifiers and string literals."""


def quote(identifier: str) -> str:
    """A quoted identifier: `"name"`, inner quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string literal: `'text'`, inner apostrophes doubled (paths in read_parquet, COPY, ATTACH)."""
    return "'" + text.replace("'", "''") + "'"
