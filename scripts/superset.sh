#!/usr/bin/env bash
# Open the published scorecard in Apache Superset on http://127.0.0.1:8088 (see README, "Open the
# scorecard in Superset"): builds Superset's own venv from bi/superset/requirements.lock (cached),
# initialises it in .superset/, imports the dashboard through the assets API and runs Superset.
# Run it again after a new publication to update everything; --postgres reads the PostgreSQL publication.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec python bi/superset/launcher.py "$@"
