"""NYSE sessions: the days both the price source and the OLTP generator may use."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from data_generator.reference.trading_calendar import (
    NEW_YORK,
    closure_reason,
    is_early_close,
    is_trading_day,
    last_session_on_or_before,
    next_session_after,
    session_close,
    trading_days,
)


def test_weekends_and_exchange_holidays_are_not_sessions() -> None:
    assert is_trading_day(date(2026, 11, 24))  # a Tuesday
    assert not is_trading_day(date(2026, 11, 28))  # a Saturday
    assert not is_trading_day(date(2026, 11, 26))  # Thanksgiving
    assert not is_trading_day(date(2026, 12, 25))  # Christmas
    assert not is_trading_day(date(2026, 1, 19))  # Martin Luther King Jr. Day


def test_trading_days_include_both_ends_oldest_first() -> None:
    assert trading_days(date(2026, 11, 24), date(2026, 11, 30)) == [
        date(2026, 11, 24),
        date(2026, 11, 25),
        date(2026, 11, 27),
        date(2026, 11, 30),
    ]


def test_early_closes_are_the_day_after_thanksgiving_and_the_eves_that_are_sessions() -> None:
    assert session_close(date(2026, 11, 27)) == datetime(2026, 11, 27, 13, 0, tzinfo=NEW_YORK)
    assert session_close(date(2026, 12, 24)) == datetime(2026, 12, 24, 13, 0, tzinfo=NEW_YORK)
    assert session_close(date(2025, 7, 3)) == datetime(2025, 7, 3, 13, 0, tzinfo=NEW_YORK)
    assert session_close(date(2026, 11, 25)) == datetime(2026, 11, 25, 16, 0, tzinfo=NEW_YORK)
    # 2026-07-03 and 2027-12-24 are Fridays, the observed holidays themselves: no session.
    assert not is_early_close(date(2026, 7, 3))
    assert not is_early_close(date(2027, 12, 24))
    assert not is_early_close(date(2027, 12, 23))
    with pytest.raises(ValueError, match=r"2026-11-26 is not an NYSE session \(Thanksgiving Day\)"):
        session_close(date(2026, 11, 26))


def test_neighbouring_sessions_skip_weekends_and_holidays() -> None:
    assert last_session_on_or_before(date(2026, 11, 29)) == date(2026, 11, 27)
    assert last_session_on_or_before(date(2026, 11, 26)) == date(2026, 11, 25)
    assert last_session_on_or_before(date(2026, 11, 25)) == date(2026, 11, 25)
    assert next_session_after(date(2026, 12, 31)) == date(2027, 1, 4)
    assert closure_reason(date(2026, 11, 28)) == "Saturday"
    assert closure_reason(date(2027, 3, 26)) == "Good Friday"
    assert closure_reason(date(2026, 11, 27)) is None
