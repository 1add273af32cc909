"""The DAG's timetable as the scheduler asks it: the next runs after a given one, one per NYSE
session, each two hours after that session's close in New York (daylight saving and early
closes included), and what a hand-triggered run of a closed day gets."""

from __future__ import annotations

from datetime import datetime

import pendulum
from airflow.timetables.base import DataInterval, TimeRestriction

from data_generator.reference.trading_calendar import next_session_after
from data_generator.scheduling.timetable import TradingDayTimetable, session_run

NEW_YORK = "America/New_York"


def next_runs(earliest: datetime, count: int, latest: datetime | None = None) -> list[tuple]:
    """(logical date, data interval end, run after) in UTC of the next `count` runs from
    `earliest`, as the scheduler walks them: each run's interval feeds the next question."""
    timetable = TradingDayTimetable()
    restriction = TimeRestriction(
        pendulum.instance(earliest), latest and pendulum.instance(latest), True
    )
    runs: list[tuple] = []
    last: DataInterval | None = None
    while len(runs) < count:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None:
            break
        assert info.data_interval is not None
        last = info.data_interval
        runs.append(
            (info.logical_date.isoformat(), last.end.isoformat(), info.run_after.isoformat())
        )
    return runs


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=pendulum.UTC)


def test_thanksgiving_week_2026_runs_on_its_three_sessions_after_each_close() -> None:
    assert next_runs(utc("2026-11-24T00:00:01"), 3) == [
        # Wed 11-25: closes 16:00 EST (21:00 UTC), runs 18:00 EST.
        ("2026-11-25T00:00:00+00:00", "2026-11-25T21:00:00+00:00", "2026-11-25T23:00:00+00:00"),
        # Thu 11-26 Thanksgiving, no run. Fri 11-27: early close 13:00 EST, runs 15:00 EST.
        ("2026-11-27T00:00:00+00:00", "2026-11-27T18:00:00+00:00", "2026-11-27T20:00:00+00:00"),
        # Sat, Sun: no run. Mon 11-30.
        ("2026-11-30T00:00:00+00:00", "2026-11-30T21:00:00+00:00", "2026-11-30T23:00:00+00:00"),
    ]


def test_new_year_2026_27_skips_the_holiday_and_the_weekend() -> None:
    assert [run[0][:10] for run in next_runs(utc("2026-12-23T00:00:00"), 5)] == [
        "2026-12-23",
        "2026-12-24",  # early close; Fri 12-25 Christmas
        "2026-12-28",
        "2026-12-29",
        "2026-12-30",
    ]
    assert next_runs(utc("2026-12-31T00:00:00"), 2) == [
        ("2026-12-31T00:00:00+00:00", "2026-12-31T21:00:00+00:00", "2026-12-31T23:00:00+00:00"),
        # Fri 2027-01-01 New Year's Day, then the weekend.
        ("2027-01-04T00:00:00+00:00", "2027-01-04T21:00:00+00:00", "2027-01-04T23:00:00+00:00"),
    ]


def test_good_friday_2027_is_skipped_and_daylight_saving_moves_the_run_in_utc() -> None:
    # US daylight saving began 2027-03-14: the close is 20:00 UTC, the run 22:00 UTC.
    assert next_runs(utc("2027-03-25T00:00:00"), 2) == [
        ("2027-03-25T00:00:00+00:00", "2027-03-25T20:00:00+00:00", "2027-03-25T22:00:00+00:00"),
        ("2027-03-29T00:00:00+00:00", "2027-03-29T20:00:00+00:00", "2027-03-29T22:00:00+00:00"),
    ]


def test_a_backfill_of_thanksgiving_week_makes_one_run_per_session() -> None:
    runs = next_runs(utc("2026-11-23T00:00:00"), 10, latest=utc("2026-11-30T00:00:00"))
    assert [run[0][:10] for run in runs] == [
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
        "2026-11-27",
        "2026-11-30",
    ]


def test_every_run_starts_two_hours_after_the_close_in_new_york() -> None:
    for logical, close, run_after in next_runs(utc("2026-11-24T00:00:00"), 30):
        close_ny = pendulum.parse(close).in_timezone(NEW_YORK)
        assert (close_ny.hour, close_ny.minute) in {(16, 0), (13, 0)}, logical
        assert pendulum.parse(run_after) - pendulum.parse(close) == pendulum.duration(hours=2)


def test_a_hand_triggered_closed_day_gets_an_empty_interval_and_a_session_its_own() -> None:
    timetable = TradingDayTimetable()
    thanksgiving = pendulum.datetime(2026, 11, 26, tz="UTC")
    assert timetable.infer_manual_data_interval(run_after=thanksgiving) == DataInterval(
        thanksgiving, thanksgiving
    )
    friday = pendulum.datetime(2026, 11, 27, tz="UTC")
    assert timetable.infer_manual_data_interval(run_after=friday) == DataInterval(
        friday, pendulum.datetime(2026, 11, 27, 18, tz="UTC")
    )


def test_without_catch_up_the_first_run_is_the_latest_session_already_due() -> None:
    timetable = TradingDayTimetable()
    restriction = TimeRestriction(pendulum.datetime(2026, 1, 1, tz="UTC"), None, False)
    before = pendulum.now("UTC")
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    after = pendulum.now("UTC")
    assert info is not None and info.logical_date is not None
    following = session_run(next_session_after(info.logical_date.date()))
    assert info.run_after <= after
    assert following.run_after > before
