"""`TradingDayTimetable`: one DAG run per NYSE session, after its close in New York time.

A `@daily` cron makes a run for every Saturday, Sunday and holiday, each with nothing to load;
this timetable asks the trading calendar instead, so a weekend makes no run and a back-fill
makes one run per session. The close moves with the calendar (13:00 on early-close days) and
with New York's daylight saving time, which is why no UTC cron can say it.

The run of session D has the logical date D 00:00 UTC: the instant `airflow dags test D`, a
REST trigger for D and `airflow backfill --from-date D` all name, so every way of running D is
the same run and every task reads D as `logical_date.date()`. Its data interval ends at D's
close, and it starts `AFTER_CLOSE` later, once the vendor has published the day's bars.

Airflow only loads a timetable it finds in a plugin: airflow/plugins/fintrade_plugin.py
registers this class, and every way this project starts Airflow points at that folder.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from pendulum import DateTime

from data_generator.reference.trading_calendar import (
    is_trading_day,
    last_session_on_or_before,
    next_session_after,
    session_close,
)

AFTER_CLOSE = timedelta(hours=2)
UTC = pendulum.UTC


def session_interval(day: date) -> DataInterval:
    """Session `day`'s data: from `day` 00:00 UTC (the logical date) to its close."""
    start = DateTime(day.year, day.month, day.day, tzinfo=UTC)
    return DataInterval(start, _utc(session_close(day)))


def session_run(day: date) -> DagRunInfo:
    """The run of session `day`, started AFTER_CLOSE after its close."""
    interval = session_interval(day)
    return DagRunInfo(run_after=interval.end + AFTER_CLOSE, data_interval=interval)


def _utc(moment: datetime) -> DateTime:
    return pendulum.instance(moment).in_timezone(UTC)


def _session_date(moment: DateTime) -> date:
    """The date a logical date names: its UTC date (the convention above)."""
    return moment.in_timezone(UTC).date()


class TradingDayTimetable(Timetable):
    """NYSE sessions only, each run after that session's close; see the module docstring."""

    description = (
        "Each NYSE session, 2 h after the close in New York time "
        "(18:00, or 15:00 on early-close days); no weekend or holiday runs"
    )

    @property
    def summary(self) -> str:
        return "NYSE sessions, after the close"

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        """A hand-triggered session gets that session's interval; a non-session date gets an
        empty one (its run does nothing: the DAG's first task skips the rest)."""
        day = _session_date(run_after)
        if is_trading_day(day):
            return session_interval(day)
        return DataInterval.exact(run_after)

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            day = next_session_after(_session_date(last_automated_data_interval.start))
        elif restriction.earliest is not None:
            day = _first_session_from(restriction.earliest)
        else:
            return None
        if not restriction.catchup:
            # As a cron timetable without catch-up: nothing older than the latest session
            # whose run is already due.
            day = max(day, latest_due_session(pendulum.now(UTC)))
        if restriction.latest is not None and session_interval(day).start > restriction.latest:
            return None
        return session_run(day)


def _first_session_from(earliest: DateTime) -> date:
    day = _session_date(earliest)
    if is_trading_day(day) and session_interval(day).start >= earliest:
        return day
    return next_session_after(day)


def latest_due_session(now: datetime) -> date:
    """The latest session whose run is due at `now`: the run an unpaused DAG without catch-up
    makes first."""
    moment = pendulum.instance(now)
    day = last_session_on_or_before(_session_date(moment))
    if session_run(day).run_after > moment:
        day = last_session_on_or_before(day - timedelta(days=1))
    return day
