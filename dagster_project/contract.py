"""The source data contract (see docs/SOURCES.md): entities, columns, types and rules.

This module is the single place the contract lives. Ingestion generates its validation SQL from
it, the sample-data generator writes files that follow it, and the tests read it to build bad rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# Contract type -> DuckDB type of the column in the `raw` schema.
DUCKDB_TYPES = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "num": "DECIMAL(18, 4)",
    "bool": "BOOLEAN",
    "ts": "TIMESTAMP",  # always UTC: offsets are applied, naive values are taken as UTC
    "date": "DATE",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "str"
    required: bool = False
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None  # allowed values, compared trimmed and lower-cased
    # Allowed values read from a seed instead (file in the seeds dir, column(s) of it): a company's
    # own taxonomy. `values` is then None; the defaults below are the repo seed's contents.
    seed: tuple[str, tuple[str, ...]] | None = None
    not_future: bool = False
    personal: bool = False  # personal data: allowed in raw, never in clear in a mart

    def __post_init__(self) -> None:
        if self.type not in DUCKDB_TYPES:
            raise ValueError(f"column {self.name}: unknown contract type {self.type!r}")

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class Entity:
    source: str
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    # (later, earlier): `later` must not be before `earlier` when both are present.
    order_rules: tuple[tuple[str, str], ...] = ()
    # Among rows of one delivery that share a key, the one with the greatest value here is kept
    # (then the last row of the file); the others are rejected as `duplicate`.
    version_column: str | None = None
    formats: tuple[str, ...] = field(default=("csv", "jsonl", "parquet"))
    # Rows that never change once delivered (survey answers): a later delivery that changes one is
    # recorded in raw.revised_rows, which the raw suite's `redeliveries` check blocks on; one that
    # repeats it as it was (a cumulative export downloaded again) is not.
    immutable: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required or c.name in self.key]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.qualified_name} has no column {name!r}")


# Enumerations live in seeds (seeds/*.csv, one home each; a deployment's seeds folder may replace any):
# a column with `seed` accepts the values of those seed columns. Ingestion validates against them, the
# raw expectation suites are generated from this contract with them (dagster_project/quality/suites.py),
# and dbt tests the staged columns against the same seeds (`accepted_values_from_seed`).
CHANNEL_SEED = ("channels.csv", ("channel",))
TOUCHPOINT_SEED = ("touchpoints.csv", ("touchpoint",))
# Hierarchical (product -> issue): a ticket's category may be any node of the tree.
CATEGORY_SEED = ("complaint_categories.csv", ("category", "parent_category"))
TICKET_TYPE_SEED = ("ticket_types.csv", ("ticket_type",))
SEVERITY_SEED = ("sla_policies.csv", ("severity",))  # every severity has its SLA targets
TICKET_STATUS_SEED = ("ticket_statuses.csv", ("status",))
ORDER_STATUS_SEED = ("order_statuses.csv", ("status",))
EMPLOYEE_ROLE_SEED = ("employee_roles.csv", ("role",))
# The sample-data generator's vocabularies (which channels surveys and tickets use); the repo's seeds
# list these and more.
SURVEY_CHANNELS = ("web", "app", "email", "sms", "phone", "store", "wechat", "other")
TOUCHPOINTS = ("purchase", "delivery", "support", "onboarding", "relationship")
TICKET_CHANNELS = ("phone", "email", "chat", "social", "store", "app")
TICKET_CATEGORIES = (
    "product_quality",
    "price",
    "service_attitude",
    "delivery",
    "billing",
    "environment",
    "other",
)
# What a seed-driven column accepts when its seed file exists neither in the deployment's seeds dir
# nor in the repo's seeds (the repo's seeds list these and more). The enumerations below have no
# fallback: their seed is their only home (a checkout without it is broken, see seed_values).
SEED_DEFAULTS = {
    CHANNEL_SEED[0]: tuple(dict.fromkeys(SURVEY_CHANNELS + TICKET_CHANNELS)),
    TOUCHPOINT_SEED[0]: TOUCHPOINTS,
    CATEGORY_SEED[0]: TICKET_CATEGORIES,
}
# Module attributes read lazily from the repo's seeds (PEP 562 __getattr__ below, no file read at
# import), in the seed's row order: the generator writes these values.
_SEEDED_ENUMS = {
    "TICKET_TYPES": TICKET_TYPE_SEED,
    "SEVERITIES": SEVERITY_SEED,
    "TICKET_STATUSES": TICKET_STATUS_SEED,
    "ORDER_STATUSES": ORDER_STATUS_SEED,
    "EMPLOYEE_ROLES": EMPLOYEE_ROLE_SEED,
}
SERVQUAL_DIMENSIONS = ("tangibles", "reliability", "responsiveness", "assurance", "empathy")

# The 22 SERVQUAL items (Parasuraman, Zeithaml & Berry, 1988), also shipped as the seed
# `seeds/survey_items.csv`; the ingestion rule "item_code is a known item" reads that seed.
SERVQUAL_ITEMS_PER_DIMENSION = {
    "tangibles": 4,
    "reliability": 5,
    "responsiveness": 4,
    "assurance": 4,
    "empathy": 5,
}

SURVEY_RESPONSES = Entity(
    source="survey",
    name="survey_responses",
    key=("response_id",),
    version_column="submitted_at",
    immutable=True,
    columns=(
        Column("response_id", required=True),
        Column("survey_id", required=True),
        Column("customer_id"),
        Column("submitted_at", "ts", required=True, not_future=True),
        Column("channel", seed=CHANNEL_SEED),
        Column("touchpoint", seed=TOUCHPOINT_SEED),
        Column("likelihood_to_recommend", "int", min=0, max=10),
        Column("csat_score", "int", min=1, max=5),
        Column("effort_score", "int", min=1, max=7),
        Column("overall_satisfaction", "int", min=1, max=10),
        Column("expectation_confirmation", "int", min=1, max=10),
        Column("ideal_comparison", "int", min=1, max=10),
        Column("order_id"),
        Column("ticket_id"),
        Column("language"),
        Column("comment"),
        Column("is_satisfied", "bool"),  # an overall satisfied / not satisfied label
    ),
)

SURVEY_ITEM_SCORES = Entity(
    source="survey",
    name="survey_item_scores",
    key=("response_id", "item_code"),
    immutable=True,
    columns=(
        Column("response_id", required=True),
        Column("item_code", required=True),  # allowed values: the seed survey_items
        # Range per item: scale_min..scale_max (or the item's na_code) of the seed survey_items.
        Column("expectation_score", "int"),
        Column("perception_score", "int"),
    ),
)

TICKETS = Entity(
    source="complaints",
    name="tickets",
    key=("ticket_id",),
    order_rules=(
        ("first_response_at", "opened_at"),
        ("resolved_at", "opened_at"),
        ("closed_at", "resolved_at"),
        ("company_response_at", "opened_at"),
    ),
    columns=(
        Column("ticket_id", required=True),
        Column("customer_id"),  # optional: public complaint registers have anonymous consumers
        Column("ticket_type", seed=TICKET_TYPE_SEED),
        Column("channel", seed=CHANNEL_SEED),
        Column("category", seed=CATEGORY_SEED),
        Column("severity", seed=SEVERITY_SEED),
        Column("opened_at", "ts", required=True, not_future=True),
        Column("first_response_at", "ts", not_future=True),
        Column("resolved_at", "ts", not_future=True),
        Column("closed_at", "ts", not_future=True),
        Column("status", seed=TICKET_STATUS_SEED),
        Column("reopen_count", "int", min=0),
        Column("contact_count", "int", min=1),
        Column("escalated", "bool"),
        Column("agent_id"),
        Column("order_id"),
        Column("description"),
        Column("company_response_at", "ts", not_future=True),  # the company's (first) response
        Column("sla_met", "bool"),  # source-given "timely response" flag
    ),
)

CUSTOMERS = Entity(
    source="crm",
    name="customers",
    key=("customer_id",),
    version_column="updated_at",
    columns=(
        Column("customer_id", required=True),
        Column("full_name", personal=True),
        Column("email", personal=True),
        Column("phone", personal=True),
        Column("gender"),
        Column("birth_date", "date", personal=True),
        Column("city"),
        Column("region"),
        Column("segment"),  # open list (vip, regular, new, ...): lower-cased at staging
        Column("signup_at", "ts", not_future=True),
        Column("store_id"),
        Column("account_manager_id"),
        Column("updated_at", "ts", not_future=True),
    ),
)

ORDERS = Entity(
    source="crm",
    name="orders",
    key=("order_id",),
    columns=(
        Column("order_id", required=True),
        Column("customer_id", required=True),
        Column("ordered_at", "ts", required=True, not_future=True),
        Column("status", seed=ORDER_STATUS_SEED),
        Column("channel"),
        Column("store_id"),
        Column("product_category"),
        Column("amount", "num", min=0),
        Column("currency"),
    ),
)

STORES = Entity(
    source="crm",
    name="stores",
    key=("store_id",),
    columns=(
        Column("store_id", required=True),
        Column("store_name"),
        Column("city"),
        Column("region"),
        Column("opened_at", "date"),
    ),
)

EMPLOYEES = Entity(
    source="crm",
    name="employees",
    key=("employee_id",),
    columns=(
        Column("employee_id", required=True),
        Column("full_name", personal=True),
        Column("role", seed=EMPLOYEE_ROLE_SEED),
        Column("team"),
        Column("store_id"),
        Column("hired_at", "date"),
    ),
)

SUBSCRIPTIONS = Entity(
    source="churn",
    name="subscriptions",
    key=("subscription_id",),
    order_rules=(("ended_at", "started_at"),),
    columns=(
        Column("subscription_id", required=True),
        Column("customer_id", required=True),
        Column("plan"),
        Column("started_at", "ts", required=True, not_future=True),
        Column("ended_at", "ts"),
        Column("mrr", "num", min=0),
        Column("cancel_reason"),
    ),
)

# Closed-loop follow-up contacts (a call back after a detractor response or a complaint).
FOLLOWUPS = Entity(
    source="survey",
    name="followups",
    key=("followup_id",),
    columns=(
        Column("followup_id", required=True),
        Column("response_id"),
        Column("customer_id"),
        Column("ticket_id"),
        Column("followed_up_at", "ts", required=True, not_future=True),
        Column("channel"),
        Column("employee_id"),
        Column("outcome"),
    ),
)

ENTITIES: tuple[Entity, ...] = (
    SURVEY_RESPONSES,
    SURVEY_ITEM_SCORES,
    TICKETS,
    CUSTOMERS,
    ORDERS,
    STORES,
    EMPLOYEES,
    SUBSCRIPTIONS,
    FOLLOWUPS,
)
ENTITIES_BY_NAME = {e.name: e for e in ENTITIES}
CRM_ENTITIES = tuple(e for e in ENTITIES if e.source == "crm")


def entity(name: str) -> Entity:
    try:
        return ENTITIES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown entity {name!r}; known: {', '.join(ENTITIES_BY_NAME)}") from None


def seed_rows(file_name: str, seeds_dir: Path | None = None) -> list[dict[str, str]] | None:
    """Rows of a seed CSV in the deployment's seeds dir, else in the repo's seeds; None if neither."""
    from dagster_project.settings import repo_root

    for folder in (*([Path(seeds_dir)] if seeds_dir else []), repo_root() / "seeds"):
        path = folder / file_name
        if path.is_file():
            return _read_seed(str(path.resolve()), path.stat().st_mtime_ns)
    return None


@cache
def _read_seed(path: str, mtime_ns: int) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def seed_values(seed: tuple[str, tuple[str, ...]], seeds_dir: Path | None = None) -> tuple[str, ...]:
    """The allowed values of a seed-driven column: the distinct non-empty values of the seed's
    columns, in row order, from `seeds_dir` (else the repo's seeds)."""
    file_name, columns = seed
    rows = seed_rows(file_name, seeds_dir)
    if rows is None:
        if file_name in SEED_DEFAULTS:
            return SEED_DEFAULTS[file_name]
        raise FileNotFoundError(f"seed {file_name} is missing from the deployment's seeds and the repo's seeds/")
    return tuple(dict.fromkeys(row[c].strip() for row in rows for c in columns if (row.get(c) or "").strip()))


def __getattr__(name: str) -> tuple[str, ...]:
    if name in _SEEDED_ENUMS:
        return seed_values(_SEEDED_ENUMS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
