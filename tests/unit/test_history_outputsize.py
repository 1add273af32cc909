"""A history as long as the gap: which `outputsize` a symbol's daily call asks for."""

from __future__ import annotations

from datetime import date

import pytest

from data_generator.reference.trading_calendar import trading_days
from data_generator.settings import OutputSize, load_settings
from data_generator.sources.history import (
    COMPACT_SESSIONS,
    gap_outputsize,
    outputsize_for,
    sessions_missing,
)

SESSION = date(2026, 11, 25)
# The sessions up to the run's, newest last: SESSIONS[-1] is the run's own.
SESSIONS = trading_days(date(2025, 1, 2), SESSION)


def stored_until(sessions_missing_count: int) -> date:
    """The latest stored bar that leaves that many sessions (the run's included) to fetch."""
    return SESSIONS[-1 - sessions_missing_count]


def test_a_first_load_asks_for_the_whole_history():
    assert gap_outputsize(None, SESSION) is OutputSize.FULL


@pytest.mark.parametrize("missing", [0, 1, 2, 11, 60, COMPACT_SESSIONS - 1, COMPACT_SESSIONS])
def test_a_gap_a_compact_reply_covers_asks_for_compact(missing: int):
    assert sessions_missing(stored_until(missing), SESSION) == missing
    assert gap_outputsize(stored_until(missing), SESSION) is OutputSize.COMPACT


@pytest.mark.parametrize("missing", [COMPACT_SESSIONS + 1, COMPACT_SESSIONS + 50, 400])
def test_a_gap_longer_than_a_compact_reply_asks_for_the_whole_history(missing: int):
    assert sessions_missing(stored_until(missing), SESSION) == missing
    assert gap_outputsize(stored_until(missing), SESSION) is OutputSize.FULL


def test_the_gap_counts_nyse_sessions_not_calendar_days():
    # 100 sessions back spans weekends and holidays (Thanksgiving, Labor Day, July 4th...):
    # about 145 calendar days, still one compact reply.
    latest = stored_until(COMPACT_SESSIONS)
    assert (SESSION - latest).days > 140
    assert gap_outputsize(latest, SESSION) is OutputSize.COMPACT
    # A holiday is not a missing bar: stored through the Wednesday, run on the Friday after
    # Thanksgiving, one session is missing.
    assert sessions_missing(date(2026, 11, 25), date(2026, 11, 27)) == 1


def test_a_backfill_behind_the_stored_history_asks_for_compact():
    later = date(2026, 12, 4)
    assert sessions_missing(later, SESSION) == 0
    assert gap_outputsize(later, SESSION) is OutputSize.COMPACT


@pytest.mark.parametrize("latest", [None, stored_until(1), stored_until(400)])
@pytest.mark.parametrize("forced", [OutputSize.COMPACT, OutputSize.FULL])
def test_a_setting_of_compact_or_full_forces_that_size(latest: date | None, forced: OutputSize):
    assert outputsize_for(forced, latest, SESSION) is forced


def test_auto_is_the_default_and_follows_the_gap():
    assert load_settings({}).alpha_vantage_outputsize is OutputSize.AUTO
    assert outputsize_for(OutputSize.AUTO, None, SESSION) is OutputSize.FULL
    assert outputsize_for(OutputSize.AUTO, stored_until(1), SESSION) is OutputSize.COMPACT
    assert outputsize_for(OutputSize.AUTO, stored_until(101), SESSION) is OutputSize.FULL
