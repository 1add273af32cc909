"""Nothing is ever interpolated into SQL: every statement the package runs is a literal, a name
holding one, or psycopg2's `sql` composition."""

from __future__ import annotations

import ast

from data_generator.settings import PROJECT_ROOT

SQL_CALLS = {"execute", "executemany", "copy_expert", "mogrify"}


def _sql_argument_is_built_from_text(node: ast.Call) -> bool:
    """True when the statement is made by string formatting rather than a literal, a name
    holding a literal, or psycopg2's `sql` composition."""
    statement = node.args[0]
    if isinstance(statement, ast.JoinedStr):
        return True
    if isinstance(statement, ast.BinOp):  # "..." % x, "..." + x
        return True
    return (
        isinstance(statement, ast.Call)
        and isinstance(statement.func, ast.Attribute)
        and statement.func.attr == "format"
        and isinstance(statement.func.value, ast.Constant)
    )


def test_no_sql_statement_in_the_package_is_built_by_string_formatting():
    offenders = []
    for path in sorted((PROJECT_ROOT / "data_generator").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_CALLS
                and node.args
                and _sql_argument_is_built_from_text(node)
            ):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")

    assert offenders == []
