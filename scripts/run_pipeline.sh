#!/usr/bin/env bash
# Main job: set up .venv, write the sample landing data explicitly when the landing folder is empty
# (`csat generate`; `csat run` itself never generates data), then run the whole pipeline on DuckDB.
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
LANDING="${CSAT_LANDING_DIR:-data/landing}"
if [ -z "$(find "$LANDING" -type f ! -name '.*' ! -name '_*' -print -quit 2>/dev/null)" ]; then
  echo ">> $LANDING is empty: writing sample data (csat generate)"
  csat generate --landing "$LANDING"
fi
csat run "$@"
