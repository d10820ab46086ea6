"""Stand-ins for sqlfluff's jinja templater (which renders the models without dbt): with this file the
folder loads as one package, so its modules (`dbt`, `adapter`) and the functions below are the names a
model or macro sees."""

from . import adapter, dbt


def env_var(name, default=""):
    """dbt's `env_var`: the default (the pipeline passes CSAT_CHANGED_SINCE; a lint has none)."""
    return default


__all__ = ["adapter", "dbt", "env_var"]
