#!/usr/bin/env bash
# The whole test suite: set up .venv, lint, then pytest (the tests start their own PostgreSQL).
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
python -m ruff check dagster_project tests bench
python -m pytest "$@"
