"""Stand-ins for dbt's cross-database macros (`dbt.<name>`) so sqlfluff's jinja templater can render
the models without dbt. They return plausible ANSI/DuckDB SQL; only their shape matters for linting."""


def type_string():
    return "varchar"


def type_bigint():
    return "bigint"


def type_int():
    return "integer"


def type_numeric():
    return "numeric(28, 6)"


def type_float():
    return "float"


def type_boolean():
    return "boolean"


def type_timestamp():
    return "timestamp"


def hash(field):  # noqa: A001 - mirrors dbt.hash
    return f"md5(cast({field} as varchar))"


def concat(fields):
    return f"concat({', '.join(fields)})"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"({from_date_or_timestamp} + cast({interval} as bigint) * interval 1 {datepart})"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def safe_cast(field, type):  # noqa: A002 - mirrors dbt.safe_cast
    return f"cast({field} as {type})"


def last_day(date, datepart):
    return f"last_day({date})"


def date_spine(datepart, start_date, end_date):
    return f"select cast({start_date} as date) as date_{datepart}"


def current_timestamp():
    return "now()"
