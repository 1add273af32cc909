"""How much history to ask the vendor for: a history as long as the gap.

Alpha Vantage's `compact` reply holds a symbol's latest 100 bars, `full` its whole history (a
premium feature, about 0.5 MB a reply into the write-once lake). A night whose missing bars all
fit in the compact window asks for `compact`; a symbol's first load, or a gap longer than the
window (the symbol's latest stored bar is more than 100 NYSE sessions before the run's session),
asks for `full`, so the hole is filled. `ALPHA_VANTAGE_OUTPUTSIZE` is `auto` (this rule) by
default; `compact` or `full` force one size for every symbol.

The decision is pure: the caller reads the symbol's latest stored bar from raw.daily_prices.
"""

from __future__ import annotations

from datetime import date, timedelta

from data_generator.reference.trading_calendar import trading_days
from data_generator.settings import OutputSize

# The bars of a compact reply: the latest 100 sessions, the run's own included.
COMPACT_SESSIONS = 100
# Fewer calendar days than this can never hold more than COMPACT_SESSIONS sessions.
_SURELY_COMPACT_DAYS = COMPACT_SESSIONS


def sessions_missing(latest_stored: date, session: date) -> int:
    """The NYSE sessions after `latest_stored` up to and including `session`: the bars a reply
    for `session` must bring. Zero when the stored history already reaches the session."""
    if latest_stored >= session:
        return 0
    return len(trading_days(latest_stored + timedelta(days=1), session))


def gap_outputsize(latest_stored: date | None, session: date) -> OutputSize:
    """`full` when nothing is stored for the symbol, or when the sessions missing since its
    latest stored bar are more than a compact reply holds; `compact` otherwise."""
    if latest_stored is None:
        return OutputSize.FULL
    if (session - latest_stored).days < _SURELY_COMPACT_DAYS:
        return OutputSize.COMPACT
    missing = sessions_missing(latest_stored, session)
    return OutputSize.FULL if missing > COMPACT_SESSIONS else OutputSize.COMPACT


def outputsize_for(setting: OutputSize, latest_stored: date | None, session: date) -> OutputSize:
    """The size to ask for: `setting` when it forces one, else the gap's (`auto`)."""
    chosen = OutputSize(setting)
    if chosen is OutputSize.AUTO:
        return gap_outputsize(latest_stored, session)
    return chosen
