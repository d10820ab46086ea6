"""Stand-in for dbt's `adapter` object: `adapter.dispatch(name, namespace)` returns a function that
renders the DuckDB implementation of the project's dispatched macros (for sqlfluff only)."""

_IMPLEMENTATIONS = {
    "hours_between": lambda start_at, end_at: f"(date_diff('microsecond', {start_at}, {end_at}) / 3600000000.0)",
    "type_double": lambda: "double",
    "to_reporting_time": lambda utc_at, time_zone: f"timezone('{time_zone}', timezone('UTC', {utc_at}))",
    "from_reporting_time": lambda local_at, time_zone: f"timezone('UTC', timezone('{time_zone}', {local_at}))",
    "incremental_materialization": lambda: "incremental",
    "json_text": lambda json_column, key_sql: f"json_extract_string({json_column}, '$.\"' || {key_sql} || '\"')",
    "lead_ignoring_nulls": lambda expression: f"lead({expression} ignore nulls)",
}


def dispatch(macro_name, macro_namespace=None):
    try:
        return _IMPLEMENTATIONS[macro_name]
    except KeyError:
        raise KeyError(f"sqlfluff_libs/adapter.py has no stand-in for dispatched macro {macro_name!r}") from None
