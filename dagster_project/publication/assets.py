"""The publication assets: `published_warehouse` (the gated DuckDB + Parquet copy) and `published_postgres`
(the optional PostgreSQL copy of it)."""

from collections.abc import Sequence

import dagster as dg

from dagster_project.publication.gate import unmet_checks
from dagster_project.publication.published_copy import KEPT_COPY, PublicationError, publish_marts
from dagster_project.quality.validation import wait_for_gx
from dagster_project.resources import PostgresPublicationResource, PublishedWarehouseResource, WarehouseResource
from dagster_project.settings import POSTGRES_URL_ENV

GROUP = "publish"
PUBLISHED_KEY = dg.AssetKey(["published_warehouse"])


def build_publish_asset(
    mart_keys: dict[str, dg.AssetKey], check_keys: Sequence[dg.AssetCheckKey]
) -> dg.AssetsDefinition:
    """The publication asset: depends on every mart; publishes them when every check in
    `check_keys` (the quality gate, raw and marts) passed in the same run (see gate.py)."""
    marts = sorted(mart_keys)
    check_keys = list(check_keys)

    @dg.asset(
        key=PUBLISHED_KEY,
        group_name=GROUP,
        deps=[mart_keys[m] for m in marts],
        kinds={"duckdb", "parquet"},
        description=(
            "Read-only copy of the marts for BI tools: `<published>/csat.duckdb` (schema `marts`, table "
            "`publication`) and `<published>/parquet/<mart>.parquet` (facts: a file per month), swapped in "
            "atomically only after every blocking quality check passed in the same run."
        ),
    )
    def published_warehouse(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, published: PublishedWarehouseResource
    ) -> dg.MaterializeResult:
        problems = unmet_checks(context.instance, context.run.run_id, check_keys)
        if problems:
            raise PublicationError(
                "not published: the quality gate has not passed on the current data:\n- " + "\n- ".join(problems)
            )
        report = publish_marts(
            warehouse.path, published.path, marts=marts, run_id=context.run.run_id, before_swap=quality_report_written
        )
        if report.fresh_copy_reason:
            context.log.warning(f"{report.fresh_copy_reason}: every mart copied afresh")
        if report.started_from == KEPT_COPY:
            context.log.info(
                f"Nothing new to publish: the publication of {report.published_at.isoformat()}Z by run "
                f"{report.run_id} holds every mart as it is, and stays"
            )
        else:
            context.log.info(f"The new published DuckDB file started from {report.started_from}")
        context.log.info(f"Published warehouse: {report.database_path} (Parquet: {report.parquet_dir})")
        table = ["| mart | rows | change |", "|---|---:|---|"] + [
            f"| {m} | {n} | {report.changes[m]} |" for m, n in report.row_counts.items()
        ]
        return dg.MaterializeResult(
            metadata={
                "published_database": dg.MetadataValue.path(str(report.database_path)),
                "parquet_dir": dg.MetadataValue.path(str(report.parquet_dir)),
                "published_at": dg.MetadataValue.text(report.published_at.isoformat() + "Z"),
                "started_from": dg.MetadataValue.text(report.started_from),
                "marts": dg.MetadataValue.md("\n".join(table)),
                "dagster/row_count": dg.MetadataValue.int(sum(report.row_counts.values())),
                "marts_published": dg.MetadataValue.int(len(report.changes)),
                "marts_changed": dg.MetadataValue.int(report.marts_changed),
            }
        )

    return published_warehouse


def quality_report_written() -> None:
    """Wait for the quality checks' results to be stored and rendered (Great Expectations' worker
    process, quality.validation): the publication goes out with its report, or not at all."""
    try:
        wait_for_gx()
    except Exception as error:
        raise PublicationError(
            f"not published: Great Expectations could not record the quality checks' results: {error}"
        ) from error


def build_publish_assets(checks: Sequence[dg.AssetChecksDefinition] | None = None) -> list[dg.AssetsDefinition]:
    """The publication asset over every mart that has an expectation suite, gated by `checks`
    (default: every quality check, `dagster_project.assets.quality.build_quality_checks()`)."""
    from dagster_project.assets import quality
    from dagster_project.quality import load_suites

    checks = quality.default_quality_checks() if checks is None else checks
    model_keys = quality.dbt_model_keys()
    mart_keys = {s.asset[-1]: quality.suite_asset_key(s, model_keys) for s in load_suites() if not s.is_raw}
    return [build_publish_asset(mart_keys, quality.quality_check_keys(checks))]


@dg.asset(
    key=dg.AssetKey(["published_postgres"]),
    group_name=GROUP,
    deps=[PUBLISHED_KEY],
    kinds={"postgres"},
    output_required=False,
    description=(
        "Optional copy of the published marts in PostgreSQL (schema CSAT_PUBLISH_POSTGRES_SCHEMA, default marts), "
        "replaced atomically by a schema swap. Runs only after publication (quality gate passed); does nothing "
        "while CSAT_PUBLISH_POSTGRES_URL is unset."
    ),
)
def published_postgres(
    context: dg.AssetExecutionContext,
    published: PublishedWarehouseResource,
    postgres_publication: PostgresPublicationResource,
):
    if not postgres_publication.enabled:
        context.log.info(f"PostgreSQL publication is off ({POSTGRES_URL_ENV} is not set): nothing done")
        return
    # Imported here: psycopg takes 0.2 s to import, which every run paid with the publication off.
    from dagster_project.publication.postgres import publish_to_postgres

    report = publish_to_postgres(
        published.database_path,
        postgres_publication.url,
        schema=postgres_publication.db_schema,
        readers=postgres_publication.reader_roles,
    )
    if not report.old_schema_dropped:
        context.log.warning("the previous schema is still being read; it will be dropped by the next publication")
    table = ["| table | rows |", "|---|---:|"] + [f"| {t} | {n} |" for t, n in report.row_counts.items()]
    yield dg.MaterializeResult(
        metadata={
            "schema": dg.MetadataValue.text(report.schema),
            "tables": dg.MetadataValue.md("\n".join(table)),
            "dagster/row_count": dg.MetadataValue.int(sum(report.row_counts.values())),
        }
    )
