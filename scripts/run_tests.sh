#!/usr/bin/env bash
# The whole test suite: set up .venv and system packages, lint Python and SQL, parse dbt, run pytest.
VENV_EXTRAS="dev,spark"  # the suite runs the pipeline on Spark too (tests/test_spark_pipeline.py)
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
source "$ROOT/scripts/_system_deps.sh"
echo ">> ruff"
python -m ruff check dagster_project csat_sample_data tests bench scripts bi
python -m ruff format --check dagster_project csat_sample_data tests bench scripts bi
echo ">> sqlfluff (dbt models)"
sqlfluff lint dbt_project --processes 2 --disable-progress-bar
echo ">> dbt parse"
csat parse
echo ">> pytest"
python -m pytest "$@"
