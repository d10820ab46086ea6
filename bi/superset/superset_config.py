"""Superset's configuration for scripts/superset.sh (SUPERSET_CONFIG_PATH points here).

Everything that is state or secret lives in CSAT_SUPERSET_HOME (git-ignored, made by the launcher):
the metadata database and the SECRET_KEY file. No value here is a secret.
"""

import os
from pathlib import Path

HOME = Path(os.environ["CSAT_SUPERSET_HOME"])

SECRET_KEY = (HOME / "secret_key").read_text().strip()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{HOME / 'superset.db'}"

# No data cache: the published copy is swapped in by rename after each publication, and a cache
# would keep showing the previous one. Superset's analytics connections use no pool (NullPool),
# so every query opens the file that is published now.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
CACHE_DEFAULT_TIMEOUT = 0

# Local, single-user launcher: no example data, no external map tiles (Superset's menu still loads
# Scarf's usage pixel: SECURITY.md, "Outside calls").
SUPERSET_LOAD_EXAMPLES = False
# Every chart of a dashboard is drawn at once (not only those scrolled into view).
FEATURE_FLAGS = {"DASHBOARD_VIRTUALIZATION": False}
MAPBOX_API_KEY = ""
# Rate-limited login on loopback only; keeps Flask-Limiter from warning about in-memory storage.
RATELIMIT_STORAGE_URI = "memory://"
