"""`adapter.dispatch` for the lint: the project's `postgres__<name>` macro, else its
`default__<name>`, the way dbt resolves a dispatch on the PostgreSQL adapter, so the linted SQL
is what PostgreSQL runs."""

from collections.abc import Callable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context


@pass_context
def dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Callable:
    for prefix in ("postgres__", "default__"):
        macro: Any = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise LookupError(f"no postgres__{macro_name} or default__{macro_name} macro in macros/")
