"""A universe file (`FINTRADE_UNIVERSE_FILE`) written as a user writes one, for both test tiers."""

from __future__ import annotations

from pathlib import Path

HEADER = "symbol,company_name,sector,exchange,currency\n"
AMD = "AMD,Advanced Micro Devices Inc.,Semiconductors,NASDAQ,USD\n"


def write_universe(path: Path, *lines: str) -> Path:
    """`path` holding the header and `lines` (each ending in a newline)."""
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path
