"""Tables and views of the working warehouse that no dbt model or seed builds any more.

dbt creates and replaces the relations of the project's models and never drops one: a model removed
or renamed by an upgrade leaves its last table behind (`intermediate.int_customer_months`, 58M rows
at 10M responses, when the customer x month grid moved into `fct_customer_months`). Such a table
goes on taking space and, in `marts`, looks current to anyone who queries it. After a full-refresh
build, the one a changed project always gets (build_state.py), the relations in the schemas dbt's
models build into that the manifest does not list are dropped. Schemas no model builds into (raw,
the pipeline's own state, an analyst's scratch schema) are never touched, nor is a schema a source
reads, nor one a seed builds into: the seeds come from the deployment's folder (a company may add
its own CSV files there), which the manifest parsed before the run need not list.
"""

from collections.abc import Mapping
from typing import Any

import duckdb

from dagster_project import settings
from dagster_project.sql_text import quote

_BUILT = ("model", "snapshot")


def built_relations(manifest: Mapping[str, Any]) -> dict[str, set[str]]:
    """Schema -> the relation names the project's models and snapshots build there (ephemeral
    models build none), for the schemas that neither a source reads nor a seed builds into."""
    built: dict[str, set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] not in _BUILT or node.get("config", {}).get("materialized") == "ephemeral":
            continue
        built.setdefault(node["schema"], set()).add(node.get("alias") or node["name"])
    shared = [s["schema"] for s in manifest.get("sources", {}).values()]
    shared += [n["schema"] for n in manifest["nodes"].values() if n["resource_type"] == "seed"]
    for schema in shared:  # not the models' alone
        built.pop(schema, None)
    return built


def drop_stale_relations(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any]) -> list[str]:
    """Drop the tables and views of the schemas the project's models build into (built_relations)
    that no model or snapshot builds; returns them as `schema.name`, sorted."""
    built = built_relations(manifest)
    if not built:
        return []
    # the warehouse's own schemas, and the marts in its marts file (ingestion/warehouse.attach_marts)
    found = con.execute(
        "select table_catalog, table_schema, table_name, table_type from information_schema.tables "
        "where list_contains([current_database(), ?], table_catalog) and list_contains(?, table_schema) "
        "order by table_schema, table_name",
        [settings.MARTS_CATALOG, sorted(built)],
    ).fetchall()
    dropped = []
    for catalog, schema, name, table_type in found:
        if name in built[schema]:
            continue
        kind = "view" if table_type == "VIEW" else "table"
        con.execute(f"drop {kind} if exists {quote(catalog)}.{quote(schema)}.{quote(name)}")
        dropped.append(f"{schema}.{name}")
    return dropped
