"""dbt's cross-database macros the models call (`dbt.date_trunc`, `dbt.hash`, ...), rendered as
dbt-postgres renders them, so the lint sees the SQL PostgreSQL runs. A model calling another one
needs it added here: sqlfluff's templater has no dbt to ask."""


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: str | int, from_date_or_timestamp: str) -> str:
    return f"{from_date_or_timestamp} + ((interval '1 {datepart}') * ({interval}))"


def last_day(date: str, datepart: str) -> str:
    first_of_next = dateadd(datepart, 1, date_trunc(datepart, date))
    return f"cast({dateadd('day', -1, first_of_next)} as date)"


def hash(field: str) -> str:
    return f"md5(cast({field} as {type_string()}))"


def listagg(
    measure: str,
    delimiter_text: str = "','",
    order_by_clause: str | None = None,
    limit_num: int | None = None,
) -> str:
    if limit_num:
        raise NotImplementedError("listagg with limit_num: add its PostgreSQL form here")
    return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"


def concat(fields: list[str]) -> str:
    return " || ".join(fields)


def type_string() -> str:
    return "text"
