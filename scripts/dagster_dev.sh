#!/usr/bin/env bash
# The Dagster UI on http://127.0.0.1:3000 with the project's assets, schedule and sensor.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
export DAGSTER_HOME="$ROOT/dagster_home"
exec dagster dev -m dagster_project.definitions -h 127.0.0.1 -p "${DAGSTER_PORT:-3000}" "$@"
