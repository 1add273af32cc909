"""What the pipeline asks of a price source, so the steps never ask which source they hold."""

from __future__ import annotations

from typing import Protocol


class PriceSource(Protocol):
    """A daily-bar source answering in Alpha Vantage's JSON shape.

    `name` is what raw rows and the lake record as the bars' source; `notices` collects the
    vendor's informational replies a run reports at its end.
    """

    name: str
    notices: list[str]

    def fetch_daily(self, symbol: str) -> bytes: ...

    def fetch_corporate_actions(self, symbol: str, function: str) -> bytes: ...
