"""Retention of clear-text personal data in `raw` (CSAT_PERSONAL_DATA_RETENTION_DAYS).

The contract marks personal columns (`personal=True`: names, e-mails, phones, birth dates). Rows
loaded more than N days ago keep their ids and every other column, but those columns become NULL,
as do the same fields in rejected rows and the undeclared extra columns (`_extra`) of entities with
personal data, which may hold more of it. The pseudonyms were computed at load time, so the marts
keep matching e-mails and phones.
"""

from __future__ import annotations

import json

import duckdb

from dagster_project.contract import ENTITIES


def _personal_entities() -> dict[str, list[str]]:
    return {e.name: [c.name for c in e.columns if c.personal] for e in ENTITIES if any(c.personal for c in e.columns)}


def apply_retention(con: duckdb.DuckDBPyConnection, days: int) -> dict[str, int]:
    """Blank personal columns older than `days`; returns rows blanked per table."""
    counts: dict[str, int] = {}
    cutoff = f"cast(current_timestamp as timestamp) - to_days({int(days)})"
    for entity, columns in _personal_entities().items():
        sets = ", ".join(f'"{c}" = null' for c in columns)
        still = " or ".join(f'"{c}" is not null' for c in [*columns, "_extra"])
        changed = con.execute(
            f"update raw.{entity} set {sets}, _extra = null where _loaded_at < {cutoff} and ({still})"
        ).fetchone()
        if changed and changed[0]:
            counts[f"raw.{entity}"] = int(changed[0])
        # json_merge_patch with a NULL member removes it: the reject keeps its ids, rule and reason.
        patch = json.dumps(dict.fromkeys(columns))
        keys = " or ".join(f"raw_values->>'{c}' is not null" for c in columns)
        changed = con.execute(
            f"""
            update raw.load_rejects set raw_values = json_merge_patch(raw_values, ?)
            where entity = ? and rejected_at < {cutoff} and ({keys})
            """,
            [patch, entity],
        ).fetchone()
        if changed and changed[0]:
            counts[f"raw.load_rejects ({entity})"] = int(changed[0])
    return counts
