"""Superset's configuration for the lakehouse (SUPERSET_CONFIG_PATH points here).

Superset loads this file in its own environment (.venv-bi), so it imports nothing of the project:
everything comes from the environment that `python -m bi serve` (`make bi`) sets, and the same
variables configure a production deployment (docs/production.md, "Superset").

- SUPERSET_SECRET_KEY: signs sessions and encrypts the database passwords Superset keeps; `make bi`
  generates one on first use into .local/bi/secret_key (0600).
- SUPERSET_DATABASE_URI: Superset's own metadata; SQLite under .local/bi by default, PostgreSQL in
  production (postgresql+psycopg2://...).
- SUPERSET_CACHE_DIR: the cache of chart data and filter state (a folder; Redis in production).
"""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]  # no default: a missing key is an error, not a weak key
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_DATABASE_URI"]

_cache_dir = os.environ.get("SUPERSET_CACHE_DIR", "")
_cache_timeout = int(os.environ.get("SUPERSET_CACHE_TIMEOUT", "86400"))


def _cache(prefix: str) -> dict[str, object]:
    if not _cache_dir:
        return {"CACHE_TYPE": "NullCache"}
    return {
        "CACHE_TYPE": "FileSystemCache",
        "CACHE_DIR": os.path.join(_cache_dir, prefix),
        "CACHE_DEFAULT_TIMEOUT": _cache_timeout,
        "CACHE_KEY_PREFIX": f"superset_{prefix}_",
    }


CACHE_CONFIG = _cache("metadata")
DATA_CACHE_CONFIG = _cache("data")  # chart results: a warm dashboard does not ask Spark again
FILTER_STATE_CACHE_CONFIG = _cache("filter_state")
EXPLORE_FORM_DATA_CACHE_CONFIG = _cache("explore")

# A local tool on 127.0.0.1: no HTTPS headers to enforce, and no rate limit on the test's sign-ins.
TALISMAN_ENABLED = os.environ.get("SUPERSET_TALISMAN_ENABLED", "false").lower() == "true"
RATELIMIT_ENABLED = False
# Spark answers a dashboard's first load in seconds, a cold SF 1 query in more than Superset's 60 s.
SUPERSET_WEBSERVER_TIMEOUT = int(os.environ.get("SUPERSET_WEBSERVER_TIMEOUT", "300"))
SQLLAB_TIMEOUT = SUPERSET_WEBSERVER_TIMEOUT
# Dashboards are imported from the repository (bi/dashboards/), which names the Thrift server.
PREVENT_UNSAFE_DB_CONNECTIONS = False
FEATURE_FLAGS = {"DASHBOARD_RBAC": False, "ENABLE_TEMPLATE_PROCESSING": False}
