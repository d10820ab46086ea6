#!/usr/bin/env bash
# Main job: set up .venv, generate the sample landing data (once), run the whole pipeline on DuckDB.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
csat run "$@"
