"""What models the project no longer has left in the warehouse is dropped; nothing else is (seeds'
and sources' schemas included)."""

import duckdb

from dagster_project import settings
from dagster_project.ingestion.warehouse import connect
from dagster_project.stale_relations import built_relations, drop_stale_relations

from fixtures.manifests import manifest_node

MANIFEST = {
    "nodes": {
        "model.p.fct_customer_months": manifest_node("model", "marts", "fct_customer_months"),
        "model.p.stg_orders": manifest_node("model", "staging", "stg_orders", "view"),
        "model.p.renamed": manifest_node("model", "marts", "renamed_model", alias="published_name"),
        "model.p.int_helper": manifest_node("model", "intermediate", "int_helper", "ephemeral"),
        "seed.p.channels": manifest_node("seed", "seeds", "channels", "seed"),
        "test.p.unique_x": manifest_node("test", "dbt_test__audit", "unique_x", "test"),
    },
    "sources": {"source.p.raw.orders": {"schema": "raw", "name": "orders"}},
}


def test_the_schemas_and_names_dbt_builds_are_read_from_the_manifest():
    assert built_relations(MANIFEST) == {
        "marts": {"fct_customer_months", "published_name"},
        "staging": {"stg_orders"},
    }
    # a schema a source reads is never dbt's alone, even when a model builds into it
    shared = {**MANIFEST, "nodes": {**MANIFEST["nodes"], "model.p.in_raw": manifest_node("model", "raw", "in_raw")}}
    assert "raw" not in built_relations(shared)


def test_only_relations_of_dbt_s_schemas_that_no_model_builds_are_dropped():
    con = duckdb.connect()
    for schema in ("marts", "staging", "seeds", "intermediate", "raw", "analyst"):
        con.execute(f"create schema {schema}")
    kept = [
        "create table marts.fct_customer_months as select 1 as x",
        "create table marts.published_name as select 1 as x",
        "create view staging.stg_orders as select 1 as x",
        "create table seeds.channels as select 1 as x",
        # a seed of the deployment's own folder, which the manifest parsed before the run lacks
        "create table seeds.company_lookup as select 1 as x",
        "create table raw.orders as select 1 as x",  # a source's schema
        "create table analyst.notes as select 1 as x",  # a schema dbt does not build into
        "create table intermediate.int_customer_months as select 1 as x",  # no model builds there now
    ]
    stale = [
        "create table marts.renamed_model as select 1 as x",  # the model's name, not its relation's
        "create view marts.dropped_mart as select 1 as x",
        'create table staging."Old ""quoted"" name" as select 1 as x',
    ]
    for statement in kept + stale:
        con.execute(statement)

    dropped = drop_stale_relations(con, MANIFEST)

    assert dropped == [
        "marts.dropped_mart",
        "marts.renamed_model",
        'staging.Old "quoted" name',
    ]
    tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    left = {f"{schema}.{name}" for schema, name in tables}
    assert left == {
        "marts.fct_customer_months",
        "marts.published_name",
        "staging.stg_orders",
        "seeds.channels",
        "seeds.company_lookup",
        "raw.orders",
        "analyst.notes",
        "intermediate.int_customer_months",
    }
    assert drop_stale_relations(con, MANIFEST) == []  # nothing left to drop: a second run is a no-op


def test_a_mart_no_model_builds_is_dropped_from_the_marts_file(tmp_path):
    """The marts live in the warehouse's marts file (settings.marts_path), attached to its connection."""
    with connect(tmp_path / "csat.duckdb") as con:
        con.execute("create table marts.fct_customer_months as select 1 as x")
        con.execute("create table marts.dropped_mart as select 1 as x")
        assert drop_stale_relations(con, MANIFEST) == ["marts.dropped_mart"]
        left = con.execute(
            "select table_catalog, table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    assert left == [(settings.MARTS_CATALOG, "fct_customer_months")]
