"""FinTrade's Airflow plugin: registers the trading-day timetable.

Airflow serialises a DAG's timetable by class path and only accepts a custom class that a
plugin lists, in the dag-processor, the scheduler, the api-server and `airflow dags test`
alike. The class itself lives in the package (data_generator/scheduling/timetable.py), where
it is tested without this folder.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from data_generator.scheduling.timetable import TradingDayTimetable


class FintradePlugin(AirflowPlugin):
    name = "fintrade"
    # Airflow declares this a plain class attribute, so it is overridden as one.
    timetables = [TradingDayTimetable]  # noqa: RUF012
