"""Whether a warehouse that lived night after night is what a rebuild of the same raw data gives,
and whether its books stayed valid: the yardsticks of the sequence and scheduler tests."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date, datetime
from fractions import Fraction

from data_generator.settings import Settings
from data_generator.steps import transform
from tests.support.warehouse import connect, query, schema_checksums

# Stamps and the run log differ between two loads of the same data, not between two builds of
# the same raw rows: raw's loaded_at is carried into the models and compared.
BUILD_STAMPS = ("rejected_at", "started_at", "finished_at")


@contextmanager
def database_copy(settings: Settings) -> Iterator[Settings]:
    """A copy of the warehouse's database (PostgreSQL's template copy), dropped afterwards."""
    copy = settings.with_overrides(pg_database=f"{settings.pg_database}_rebuild")
    with closing(connect(settings, database="postgres")) as admin:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where datname = %s and pid <> pg_backend_pid()",
                (settings.pg_database,),
            )
            cur.execute(f'create database "{copy.pg_database}" template "{settings.pg_database}"')
    try:
        yield copy
    finally:
        with closing(connect(settings, database="postgres")) as admin:
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f'drop database if exists "{copy.pg_database}" with (force)')


def built_checksums(settings: Settings) -> dict:
    return schema_checksums(settings, ("core", "mart"), exclude=BUILD_STAMPS)


def negative_books(settings: Settings) -> list[tuple[str, str, datetime, Fraction]]:
    """Every instant at which an account's cash or a holding is below zero, from raw alone:
    opening cash, then every movement and trade in time order, shares counted in today's
    shares (a trade's quantity times the splits effective after its New York day)."""
    splits: dict[str, list[tuple[date, Fraction]]] = {}
    for symbol, effective, factor in query(
        settings, "select symbol, effective_date, split_factor from raw.stock_splits"
    ):
        splits.setdefault(symbol, []).append((effective, Fraction(factor)))
    events: list[tuple[str, str, datetime, Fraction]] = [
        (account, "cash", created, Fraction(balance))
        for account, balance, created in query(
            settings, "select account_id, balance, created_at from raw.accounts"
        )
    ]
    for account, kind, amount, at in query(
        settings, "select account_id, movement_type, amount, moved_at from raw.cash_movements"
    ):
        events.append((account, "cash", at, Fraction(amount if kind == "deposit" else -amount)))
    for account, symbol, side, quantity, amount, fee, at, day in query(
        settings,
        "select account_id, symbol, trade_type, quantity, total_amount, fee_amount, traded_at,"
        " (traded_at at time zone 'America/New_York')::date from raw.trades",
    ):
        sign = 1 if side == "buy" else -1
        later = math.prod((f for d, f in splits.get(symbol, []) if d > day), start=Fraction(1))
        events.append((account, "cash", at, Fraction(-sign * amount - fee)))
        events.append((account, symbol, at, sign * quantity * later))
    negative = []
    balances: dict[tuple[str, str], Fraction] = {}
    for account, asset, at, change in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        balance = balances[account, asset] = balances.get((account, asset), Fraction(0)) + change
        if balance < 0:
            negative.append((account, asset, at, balance))
    return negative


def assert_equals_its_rebuild(settings: Settings, night: date) -> None:
    incremental = built_checksums(settings)
    with database_copy(settings) as copy:
        transform.build(copy, full_refresh=True)
        rebuilt = built_checksums(copy)
    differing = sorted(t for t in incremental if incremental[t] != rebuilt.get(t))
    assert not differing, f"after {night}: incremental differs from a full refresh in {differing}"
    negative = negative_books(settings)
    assert not negative, f"after {night}: negative books, e.g. {negative[:3]}"
