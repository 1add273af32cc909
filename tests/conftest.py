"""Shared fixtures. Each block below belongs to one real component the tests run against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alpha_vantage_stub import AlphaVantageStub

# --- Alpha Vantage: a local HTTP stand-in ---------------------------------------------------


@pytest.fixture
def alpha_vantage_stub() -> Iterator[AlphaVantageStub]:
    """A fresh stub per test, listening on 127.0.0.1; its `base_url` ends in `/query`."""
    with AlphaVantageStub() as stub:
        yield stub


# --- end Alpha Vantage ----------------------------------------------------------------------
