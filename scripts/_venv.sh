# Sourced by the scripts in this folder: create or reuse .venv and install the project into it.
# Reinstalls only when pyproject.toml or the extras changed since the last install. Extras: `dev`,
# plus `spark` (dbt-spark and pyspark, about 630 MB) for the test suite (VENV_EXTRAS, set by
# run_tests.sh) and for a pipeline run with CSAT_ENGINE=spark.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  echo ">> creating virtual environment in .venv"
  "$PYTHON" -m venv "$VENV"
fi
EXTRAS="${VENV_EXTRAS:-dev}"
if [ "${CSAT_ENGINE:-duckdb}" = "spark" ] && [[ ",$EXTRAS," != *",spark,"* ]]; then
  EXTRAS="$EXTRAS,spark"
fi
STAMP="$VENV/.installed-$( (cat pyproject.toml; echo "$EXTRAS") | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo ">> installing the project and its dependencies ($EXTRAS) into .venv (first run takes a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[$EXTRAS]"
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
