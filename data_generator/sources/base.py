"""What the pipeline asks of a price source, so the steps never ask which source they hold."""

from __future__ import annotations

from typing import Protocol

from data_generator.settings import OutputSize


class PriceSource(Protocol):
    """A daily-bar source answering in Alpha Vantage's JSON shape.

    `name` is what raw rows and the lake record as the bars' source; `notices` collects the
    vendor's informational replies a run reports at its end; `has_daily_limit` says whether the
    source refuses calls once a daily quota is spent, so a run checks whether another of its
    processes already met it before calling again. `fetch_daily` is asked for `compact` (the
    latest 100 sessions) or `full` (the whole history); `full_refused` says the source answers
    only `compact` from now on (a free Alpha Vantage key), so a symbol that needed `full` is
    told it did not get its older history.
    """

    name: str
    notices: list[str]
    has_daily_limit: bool
    full_refused: bool

    def fetch_daily(self, symbol: str, outputsize: OutputSize | None = None) -> bytes: ...

    def fetch_corporate_actions(self, symbol: str, function: str) -> bytes: ...
