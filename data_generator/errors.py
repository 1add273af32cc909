"""The one base every error the project raises on purpose derives from.

Each carries a one-line message naming what was wrong, so the CLI and the DAG catch
`FintradeError` once and print it, while anything else is a bug and keeps its traceback.
"""


class FintradeError(Exception):
    """An expected failure with a one-line message for the user."""


def first_line(exc: BaseException) -> str:
    """What a library's exception says, in the one line a FintradeError message quotes: its
    first non-empty line, or its type's name when it says nothing."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
