"""NYSE sessions: the days both the price source and the OLTP generator may use."""

from __future__ import annotations

from datetime import date

from data_generator.reference.trading_calendar import is_trading_day, trading_days


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
