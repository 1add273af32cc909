"""The freshness step: is the warehouse as of the run's session? Decided by the logical date.

dbt's `source freshness` compares `loaded_at` with the wall clock, so every Monday-morning run
after a weekend, and every run after a holiday, failed although nothing was missing. This check
asks the data instead: every symbol of the run has a bar for the last NYSE session on or before
the run's date, and that session's OLTP activity is stored. A symbol without the bar is only
named (a warning) when its price record says why, the vendor's daily limit (`stale`); a bar
missing with no such reason fails the check, and so does a session with no activity, unless no
symbol has the session's bar to trade on. The same date gives the same verdict on any day it
is run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from data_generator.errors import FintradeError
from data_generator.reference.trading_calendar import last_session_on_or_before
from data_generator.reference.universe import select_stocks
from data_generator.settings import Settings
from data_generator.storage import books
from data_generator.storage.ingest_runs import stale_symbols
from data_generator.storage.roles import Role, connect_as
from data_generator.storage.warehouse import latest_price_dates


class FreshnessError(FintradeError):
    """The data is not as of the run's session; the message names what is missing."""


@dataclass(frozen=True)
class FreshnessReport:
    logical_date: date
    session: date
    symbols: int
    stale: tuple[str, ...]  # behind the session because the vendor was at its daily limit
    has_activity: bool

    def summary(self) -> str:
        if self.has_activity:
            text = (
                f"freshness for {self.logical_date}: {self.symbols} symbols and the activity "
                f"as of session {self.session}"
            )
        else:
            text = (
                f"freshness for {self.logical_date}: no symbol and no activity as of session "
                f"{self.session}"
            )
        if self.stale:
            text += f"; stale (vendor's daily limit): {', '.join(self.stale)}"
        return text


def check_freshness(settings: Settings, logical_date: date) -> FreshnessReport:
    """Raises FreshnessError naming each symbol behind the session without a recorded reason,
    and a session with no activity; otherwise reports the stale symbols."""
    session = last_session_on_or_before(logical_date)
    symbols = [stock.symbol for stock in select_stocks(settings.symbols, settings.universe_file)]
    # Reads raw only: the transformer's read-only rights are enough.
    conn = connect_as(settings, Role.TRANSFORMER)
    try:
        latest = latest_price_dates(conn, symbols)
        behind = [symbol for symbol in symbols if latest.get(symbol, date.min) < session]
        excused = stale_symbols(conn, session, logical_date, behind)
        with conn, conn.cursor() as cur:
            has_activity = books.day_generated(cur, session)
    finally:
        conn.close()
    problems = [
        f"{symbol} has no bar since {latest[symbol]}"
        if symbol in latest
        else f"{symbol} has no bar"
        for symbol in behind
        if symbol not in excused
    ]
    if not has_activity and len(behind) < len(symbols):
        problems.append("no OLTP activity is stored for it")
    if problems:
        raise FreshnessError(f"data not as of session {session}: {'; '.join(problems)}")
    stale = tuple(symbol for symbol in behind if symbol in excused)
    return FreshnessReport(logical_date, session, len(symbols), stale, has_activity)
