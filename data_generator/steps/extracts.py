"""The day's last step: the OLTP tables' extracts in the lake (storage/oltp_extracts.py), for the
DuckDB build. It runs after everything else the day writes, and its failure is reported after
the day's own: a lake that went away mid-run has already failed the symbols it failed."""

from __future__ import annotations

from datetime import date

import psycopg2

from data_generator.errors import FintradeError, first_line
from data_generator.steps.resources import Resources
from data_generator.storage.lake import LakeError
from data_generator.storage.oltp_extracts import ExtractsResult, write_extracts


class ExtractsError(FintradeError):
    """The day's extracts could not be written; the previous set stays the one in force."""


def extract_day(res: Resources, logical_date: date) -> ExtractsResult:
    """Write the day's extracts; raises ExtractsError in one line naming what failed."""
    try:
        return write_extracts(res.conn, res.lake, logical_date)
    except (LakeError, psycopg2.Error) as exc:
        if not res.conn.closed:
            res.conn.rollback()
        raise ExtractsError(
            f"lake extracts for {logical_date} not written: {first_line(exc)}"
        ) from None
