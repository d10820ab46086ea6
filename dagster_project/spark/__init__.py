"""Spark mode (CSAT_ENGINE=spark): dbt builds the models on Apache Spark instead of DuckDB.

Ingestion, the quality gate and publication stay on DuckDB. Around the dbt build, two steps connect
the engines: `raw_export` writes DuckDB's `raw` schema as Parquet datasets that dbt's on-run-start
hook registers as Spark tables, and `mount` makes Spark's output tables (Parquet files) readable in
the working DuckDB under their usual `schema.table` names, so the checks, the key-driver asset,
publication and the scorecard run unchanged. README, "Running on Spark".
"""
