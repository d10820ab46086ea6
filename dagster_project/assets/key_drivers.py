"""The key-driver mart `marts.driver_importance_quarterly` as a Dagster asset.

dbt computes the statistics in portable SQL (int_driver_correlations, int_driver_regression_inputs, on DuckDB
or Spark); this asset runs after them, reads those small tables through the working DuckDB (a Spark build's
tables are mounted there under the same names) and writes the mart with the matrix algebra, ranks and
quadrants of `dagster_project.analytics.key_drivers`. Its expectation suite (the key, not-null and
accepted-value rules that dbt tests held while it was a dbt model) checks it before publication.
"""

import functools

import dagster as dg

from dagster_project.analytics.key_drivers import mart_spec, write_driver_importance
from dagster_project.resources import WarehouseResource

GROUP = "warehouse"
KEY = dg.AssetKey(["driver_importance_quarterly"])
# dbt models read (an asset key of a dbt model is its name: assets/warehouse.py WarehouseTranslator)
INPUT_MODELS = ("int_driver_correlations", "int_driver_regression_inputs", "int_analytics_parameters")


@functools.cache
def build_key_driver_assets() -> tuple[dg.AssetsDefinition, ...]:
    """The asset, built on first use: its description is the mart's YAML, which importing must not read."""

    @dg.asset(
        key=KEY,
        group_name=GROUP,
        deps=[dg.AssetKey([model]) for model in INPUT_MODELS],
        kinds={"duckdb", "python"},
        description=mart_spec().description,
    )
    def driver_importance_quarterly(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        spec = mart_spec()
        with warehouse.connect() as con:
            report = write_driver_importance(con)
        context.log.info(
            f"{report.table}: {report.rows} rows, {report.groups} quarter x segment x outcome groups, "
            f"the dimensions' regression ran in {report.regressions}"
        )
        return dg.MaterializeResult(
            metadata={
                "table": dg.MetadataValue.text(report.table),
                "dagster/row_count": dg.MetadataValue.int(report.rows),
                "groups": dg.MetadataValue.int(report.groups),
                "regressions_run": dg.MetadataValue.int(report.regressions),
                "dagster/column_schema": dg.TableSchema(
                    columns=[
                        dg.TableColumn(name, data_type, description=spec.column_descriptions[name])
                        for name, data_type in spec.columns.items()
                    ]
                ),
            }
        )

    return (driver_importance_quarterly,)


def __getattr__(name: str):
    # `from dagster_project.assets.key_drivers import key_driver_assets`: built on that first use.
    if name == "key_driver_assets":
        return list(build_key_driver_assets())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
