"""When runs happen: the Airflow timetable over the trading calendar."""
