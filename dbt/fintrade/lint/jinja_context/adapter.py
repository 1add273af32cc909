"""`adapter.dispatch`, the way dbt resolves a project macro on PostgreSQL: its `postgres__`
implementation, else its `default__` one (macros/portable/*.sql). sqlfluff binds every macro of
the macro path into the context, so both are found by name."""

from collections.abc import Callable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

ENGINE_PREFIXES = ("postgres__", "default__")


@pass_context
def dispatch(
    context: Context, macro_name: str, macro_namespace: str | None = None
) -> Callable[..., Any]:
    for prefix in ENGINE_PREFIXES:
        implementation: object = context.get(prefix + macro_name)
        if callable(implementation):
            return implementation
    raise LookupError(f"{macro_name}: no postgres__{macro_name} or default__{macro_name} macro")
