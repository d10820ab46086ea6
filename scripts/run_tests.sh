#!/usr/bin/env bash
# The whole test suite: set up .venv and system packages, lint, parse dbt, then pytest.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
source "$ROOT/scripts/_system_deps.sh"
python -m ruff check dagster_project tests bench
python -m pytest "$@"
