"""What the previous successful dbt build read, so that the next one rebuilds only what changed.

The month-partitioned incremental facts (dbt_project/macros/incremental_scope.sql) recompute the
rows touched by raw rows loaded after the previous successful build. This module keeps, in the
working warehouse, the newest load that build had read (the watermark) and a fingerprint of what
else decides the marts' contents: the dbt project's SQL, the seeds, the dbt vars and which
entities and columns the deployment has delivered. A build is incremental only when both are known
and the fingerprint is unchanged; otherwise it is a full refresh. An erasure (`csat forget`),
`csat run --full-refresh` or `--rebuild` (a new warehouse file) drop the state, so the next build is
a full refresh too. The entities delivered since the watermark decide which models an
incremental build rebuilds at all (build_scope.py).

The watermark is written only after a build that passed: after a failed build the next one starts
from the same watermark and recomputes the same rows again (deleting before inserting, so never
twice). With it goes the build's clock (UTC, taken before dbt starts, so at or before the time any
model reads): the models that read the clock (scorecard_latest: which months have ended) hold the
same rows until a month ends, so the next build rebuilds them only when one has.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project import settings
from dagster_project.contract import ENTITIES_BY_NAME
from dagster_project.ingestion.warehouse import RAW_SCHEMA, transaction
from dagster_project.privacy.pseudonyms import PRIVACY_CHANGES_TABLE
from dagster_project.publication.layout import MART_SCHEMA
from dagster_project.sql_text import quote

STATE_TABLE = f"{RAW_SCHEMA}.dbt_build_state"

# A change to these forces a full refresh: the SQL and configuration of the dbt project. Seeds are
# hashed from the folder the build reads (a deployment's own seeds included).
_PROJECT_PARTS = ("models", "macros", "dbt_project.yml")

# dbt vars that say where things are, not what the marts hold.
_LOCATION_VARS = ("csat_warehouse_path", "csat_seed_path", "csat_build_state")


@dataclass(frozen=True)
class BuildPlan:
    """How the next build runs: `changed_since` is None for a full refresh."""

    fingerprint: str
    watermark: str | None  # the newest change to raw this build reads (a load, or rows changed in place)
    changed_since: str | None
    delivered: frozenset[str] = frozenset()  # entities changed since (incremental builds; see plan)
    clock: datetime | None = None  # this build's clock (UTC); None: not known
    month_ended: bool = True  # a month ended since the previous build's clock (or either is not known)

    @property
    def full_refresh(self) -> bool:
        return self.changed_since is None


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]


def fingerprint(project_dir: Path, seeds_dir: Path, dbt_vars: Mapping[str, str]) -> str:
    """sha256 over the project's SQL and YAML, the seed files and the vars that shape the marts."""
    digest = hashlib.sha256()
    for base, parts in ((project_dir, _PROJECT_PARTS), (seeds_dir, (".",))):
        for part in parts:
            for path in _files(base / part):
                if path.suffix == ".pyc":
                    continue
                digest.update(str(path.relative_to(base)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    shaping = {k: v for k, v in dbt_vars.items() if k not in _LOCATION_VARS}
    digest.update(json.dumps(shaping, sort_keys=True).encode())
    return digest.hexdigest()


def with_deliveries(con: duckdb.DuckDBPyConnection, project_fingerprint: str) -> str:
    """`project_fingerprint` with what the deployment has delivered so far: the entities delivered
    and the contract columns their files carried (raw.entity_delivery, raw.delivered_columns). They
    decide models of every month (which measures make a response low, which KPIs have inputs), so
    a first delivery of an entity or a column makes the next build a full refresh, as a changed
    seed does."""
    digest = hashlib.sha256(project_fingerprint.encode())
    for query in (
        f"select entity, is_declared, is_delivered from {RAW_SCHEMA}.entity_delivery order by all",
        f"select distinct entity, column_name from {RAW_SCHEMA}.delivered_columns order by all",
    ):
        digest.update(json.dumps(con.execute(query).fetchall()).encode())
    return digest.hexdigest()


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"create table if not exists {STATE_TABLE} "
        "(fingerprint varchar not null, watermark timestamp, built_at timestamp not null, clock timestamp)"
    )
    # A warehouse whose state predates the clock: its builds' clock is not known (NULL).
    con.execute(f"alter table {STATE_TABLE} add column if not exists clock timestamp")


def month_ended_between(previous: datetime | None, clock: datetime | None) -> bool:
    """Whether a month ended between two clock readings, i.e. whether a model that marks the months
    that ended at or before its clock (scorecard_latest) could hold other rows at `clock` than at
    `previous`. Months end at the first instant of the next month, so within one calendar month the
    set of ended months is the same; in either direction across months it may not be. Unknown: True."""
    if previous is None or clock is None:
        return True
    return (previous.year, previous.month) != (clock.year, clock.month)


def _exists(con: duckdb.DuckDBPyConnection, qualified: str, column: str | None = None) -> bool:
    """Whether the table `schema.table` exists (with `column`, when given)."""
    schema, table = qualified.split(".")
    found = con.execute(
        "select count(*) from information_schema.columns "
        "where table_schema = ? and table_name = ? and column_name = coalesce(?, column_name)",
        [schema, table, column],
    ).fetchone()
    return bool(found and found[0])


def _holds_marts(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse's marts file holds marts (a removed or lost marts file is created anew,
    empty: only a full refresh builds every mart again)."""
    [(found,)] = con.execute(
        "select count(*) from information_schema.tables where table_catalog = ? and table_schema = ?",
        [settings.MARTS_CATALOG, MART_SCHEMA],
    ).fetchall()
    return found > 0


def plan(con: duckdb.DuckDBPyConnection, current_fingerprint: str, clock: datetime | None = None) -> BuildPlan:
    """Incremental from the last build's watermark when its fingerprint is this one and the marts it
    built are there; else full. The watermark is the newest change to raw: a load, or rows changed
    in place by the privacy maintenance (raw.privacy_changes). The entities delivered since are
    those with files loaded since, or all of them after rows changed in place (those rows carry no
    load time). `clock` is this build's (UTC, read before dbt starts); whether a month ended since
    the last build's clock decides whether the models that read the clock are rebuilt
    (build_scope.py)."""
    events = f"select entity, loaded_at as happened_at from {RAW_SCHEMA}.load_manifest"
    if _exists(con, PRIVACY_CHANGES_TABLE):  # rows changed in place name no entity (NULL): all of them
        events += f" union all select null, changed_at from {PRIVACY_CHANGES_TABLE}"
    [(watermark,)] = con.execute(f"select cast(max(happened_at) as varchar) from ({events})").fetchall()
    previous = None
    if _exists(con, STATE_TABLE):
        # A state written before the clock was kept has no clock column: its clock is not known.
        clock_column = "clock" if _exists(con, STATE_TABLE, "clock") else "null"
        previous = con.execute(
            f"select fingerprint, cast(watermark as varchar), {clock_column} from {STATE_TABLE}"
        ).fetchone()
    since, delivered, month_ended = None, frozenset(), True
    if previous and previous[0] == current_fingerprint and previous[1] is not None and _holds_marts(con):
        since = previous[1]
        query = f"select distinct entity from ({events}) where happened_at > cast(? as timestamp)"
        found = {entity for (entity,) in con.execute(query, [since]).fetchall()}
        delivered = frozenset(ENTITIES_BY_NAME) if None in found else frozenset(found)
        month_ended = month_ended_between(previous[2], clock)
    return BuildPlan(
        fingerprint=current_fingerprint,
        watermark=watermark,
        changed_since=since,
        delivered=delivered,
        clock=clock,
        month_ended=month_ended,
    )


def record(con: duckdb.DuckDBPyConnection, build: BuildPlan) -> None:
    """After a build that passed: the next build starts from this one's watermark."""
    _ensure_table(con)
    with transaction(con):
        con.execute(f"delete from {STATE_TABLE}")
        con.execute(
            f"insert into {STATE_TABLE} (fingerprint, watermark, built_at, clock) "
            "values (?, cast(? as timestamp), cast(current_timestamp as timestamp), ?)",
            [build.fingerprint, build.watermark, build.clock],
        )


def forget(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> None:
    """The next build is a full refresh (after an erasure, or when asked for)."""
    prefix = f"{quote(catalog)}." if catalog else ""
    con.execute(f"drop table if exists {prefix}{STATE_TABLE}")
