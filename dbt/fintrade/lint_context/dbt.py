"""dbt's cross-database macros (`dbt.dateadd(...)`) for the lint, as the SQL dbt-postgres
compiles them to. Only their shape matters to the linter; a macro not spelled out here renders
as a plain function call, so a model using it still lints."""

from collections.abc import Callable, Sequence


def dateadd(datepart: str, interval: object, from_date_or_timestamp: str) -> str:
    return f"{from_date_or_timestamp} + ((interval '1 {datepart}') * ({interval}))"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"(cast({second_date} as date) - cast({first_date} as date))"


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def last_day(date: str, datepart: str) -> str:
    return (
        f"cast(date_trunc('{datepart}', {date}) + ((interval '1 {datepart}') * (1))"
        " + ((interval '1 day') * (-1)) as date)"
    )


def hash(field: str) -> str:
    return f"md5(cast({field} as text))"


def concat(fields: Sequence[str]) -> str:
    return " || ".join(fields)


def listagg(
    measure: str,
    delimiter_text: str = "','",
    order_by_clause: str | None = None,
    limit_num: int | None = None,
) -> str:
    return f"string_agg({measure}, {delimiter_text} {order_by_clause or ''})"


def safe_cast(field: str, type: str) -> str:
    return f"cast({field} as {type})"


def cast_bool_to_text(field: str) -> str:
    return f"cast({field} as text)"


def type_string() -> str:
    return "text"


def type_numeric() -> str:
    return "numeric(28, 6)"


def type_int() -> str:
    return "integer"


def type_bigint() -> str:
    return "bigint"


def type_float() -> str:
    return "float"


def type_timestamp() -> str:
    return "timestamp"


def type_boolean() -> str:
    return "boolean"


def __getattr__(name: str) -> Callable[..., str]:
    def call(*args: object, **kwargs: object) -> str:
        return f"{name}({', '.join(map(str, [*args, *kwargs.values()]))})"

    return call
