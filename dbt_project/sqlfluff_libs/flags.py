"""Stand-in for dbt's `flags` so sqlfluff's jinja templater can render the models without dbt."""

FULL_REFRESH = False
