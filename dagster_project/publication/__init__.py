"""Publication: what leaves the working warehouse, and only after the quality gate passed.

- `layout`: file names of the published copy;
- `published_copy`: the read-only DuckDB + Parquet copy for BI tools, swapped in atomically;
- `postgres`: the optional PostgreSQL copy of it, swapped in by a schema rename;
- `gate`: which quality checks must have passed, read through Dagster's public API;
- `assets`: the Dagster assets `published_warehouse` and `published_postgres`.

Their resources (`published`, `postgres_publication`) are in `dagster_project/resources.py`.
"""
