"""The one base every error the project raises on purpose derives from.

Each carries a one-line message naming what was wrong, so the CLI and the DAG catch
`FintradeError` once and print it, while anything else is a bug and keeps its traceback.
"""


class FintradeError(Exception):
    """An expected failure with a one-line message for the user."""
