"""Every statement the dashboard runs, on a read-only session, returning typed rows.

Everything comes from the marts (`mart_daily_trading` carries the daily fact's bars up to the
as-of date; `mart_ingest_status` the last run's price loads from `raw.ingest_runs`), so the
analyst role, which reads `mart` only, is enough for the whole page.

The marts are PostgreSQL's or the DuckDB file's (`FINTRADE_ENGINE`), built by the same dbt
models, and each statement is written once for both: the query functions take either engine's
connection. Only "does this mart exist, and may I read it" differs, as each engine's catalog does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import duckdb
import psycopg2
from psycopg2.extensions import connection as Connection

from data_generator.errors import FintradeError, first_line
from data_generator.settings import Engine, Settings
from data_generator.storage import roles
from data_generator.storage.roles import Role

CONNECT_TIMEOUT_SECONDS = 3
TOP_ACCOUNTS = 10
STOCK_PERFORMANCE = "mart.mart_stock_performance"
POSITIONS = "mart.mart_positions"
INGEST_STATUS = "mart.mart_ingest_status"

# A session on either engine's marts: what every query function takes.
MartsConnection = Connection | duckdb.DuckDBPyConnection
# What a session raises when the engine refuses a statement (the page says so in one line).
QUERY_ERRORS: tuple[type[Exception], ...] = (psycopg2.Error, duckdb.Error)


class WarehouseUnavailable(FintradeError):
    """The warehouse did not answer or refused the dashboard's login; one line, no secrets."""


class MartsEmpty(FintradeError):
    """The marts are not built yet, or hold no rows: nothing to chart."""


@dataclass(frozen=True)
class StockFigures:
    """One row of `mart_stock_performance`: the performance figures shown beside the chart."""

    symbol: str
    company_name: str
    sector: str
    as_of_date: date
    latest_price_date: date
    latest_close_price: Decimal
    return_1d_pct: Decimal | None
    return_30d_pct: Decimal | None
    return_ytd_pct: Decimal | None
    high_52w_price: Decimal | None
    low_52w_price: Decimal | None
    volatility_1y_pct: Decimal | None
    volatility_30d_pct: Decimal | None
    avg_volume_30d: Decimal | None


@dataclass(frozen=True)
class PriceBar:
    """One day of a symbol in `mart_daily_trading`: the bar as traded and split-adjusted to
    today's shares. A day with activity but no bar has no prices (None): the chart leaves a gap."""

    trading_date: date
    open_price: Decimal | None
    high_price: Decimal | None
    low_price: Decimal | None
    close_price: Decimal | None
    market_volume: int | None
    adjusted_close_price: Decimal | None
    adjusted_market_volume: int | None


@dataclass(frozen=True)
class SectorFigures:
    sector: str
    stock_count: int
    avg_return_30d_pct: Decimal | None
    avg_volatility_30d_pct: Decimal | None


@dataclass(frozen=True)
class TradingDay:
    """All symbols' activity on one trading date."""

    trading_date: date
    order_count: int
    trade_count: int
    traded_amount: Decimal


@dataclass(frozen=True)
class AccountRow:
    account_id: str
    account_type: str
    balance: Decimal
    trade_count: int
    traded_amount: Decimal
    open_position_value: Decimal


@dataclass(frozen=True)
class Positions:
    """Open positions of some accounts, with the columns as the positions mart names them."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class SymbolRun:
    symbol: str
    status: str  # loaded | stale | failed
    error: str | None


@dataclass(frozen=True)
class RunStatus:
    """The last logical date the pipeline ingested, and how each symbol fared."""

    logical_date: date
    finished_at: datetime | None
    symbols: tuple[SymbolRun, ...]

    def with_status(self, status: str) -> tuple[SymbolRun, ...]:
        return tuple(run for run in self.symbols if run.status == status)


@dataclass(frozen=True)
class RunKey:
    """What changes when the pipeline has run: the cache of query results is keyed by it."""

    last_run_at: datetime | None
    as_of_date: date | None


def marts_location(settings: Settings) -> str:
    """Where the dashboard looks for the marts, for its messages."""
    if settings.engine is Engine.DUCKDB:
        return str(settings.duckdb_file)
    return f"database {settings.pg_database}"


@contextmanager
def read_only_connection(settings: Settings) -> Iterator[Connection]:
    """A session that cannot write: read-only by default for every transaction, set at login,
    as the analyst role (reads `mart` only) unless `DASHBOARD_PGUSER` names another login."""
    user = settings.dashboard_pg_user or Role.ANALYST.value
    password = settings.dashboard_pg_password
    if not settings.dashboard_pg_user:
        password = password or roles.password(settings, Role.ANALYST)
    try:
        conn = psycopg2.connect(
            host=settings.pg_host,
            port=settings.pg_port,
            user=user,
            password=password,
            dbname=settings.pg_database,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name="fintrade-dashboard",
            options="-c default_transaction_read_only=on",
        )
    except psycopg2.OperationalError as exc:
        raise WarehouseUnavailable(
            f"the warehouse at {settings.pg_host}:{settings.pg_port}/{settings.pg_database} "
            f"does not answer: {first_line(exc)}"
        ) from None
    try:
        conn.set_session(readonly=True, autocommit=True)
        yield conn
    finally:
        conn.close()


@contextmanager
def read_only_duckdb(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The DuckDB file opened read-only, so it cannot write. Opened per page view and closed at
    once, like the PostgreSQL session: a reader holds the file's lock, and while one is open a
    `dbt build` (which needs the file to itself) cannot start. Never downloads an extension."""
    path = settings.duckdb_file
    if not path.is_file():
        raise WarehouseUnavailable(f"the DuckDB file {path} does not exist")
    try:
        conn = duckdb.connect(
            str(path), read_only=True, config={"autoinstall_known_extensions": False}
        )
    except duckdb.Error as exc:
        raise WarehouseUnavailable(
            f"the DuckDB file {path} cannot be read: {first_line(exc)}"
        ) from None
    try:
        # Run times are shown in UTC; DuckDB would otherwise convert them to the machine's zone.
        conn.execute("set TimeZone = 'UTC'")
        yield conn
    finally:
        conn.close()


@contextmanager
def read_only_marts(settings: Settings) -> Iterator[MartsConnection]:
    """A read-only session on the marts of the engine `settings.engine` names."""
    if settings.engine is Engine.DUCKDB:
        with read_only_duckdb(settings) as duck:
            yield duck
    else:
        with read_only_connection(settings) as conn:
            yield conn


def _execute(
    conn: MartsConnection, statement: str, params: tuple = ()
) -> tuple[tuple[str, ...], list[tuple]]:
    """The statement's column names and rows. Statements are written once, with psycopg2's
    `%s` placeholders; DuckDB's are `?` (none of them holds a literal `%s`)."""
    if isinstance(conn, duckdb.DuckDBPyConnection):
        result = conn.execute(statement.replace("%s", "?"), list(params))
        columns = tuple(column[0] for column in result.description or ())
        return columns, [tuple(_exact(value) for value in row) for row in result.fetchall()]
    with conn.cursor() as cur:
        cur.execute(statement, params or None)
        return tuple(column.name for column in cur.description or ()), cur.fetchall()


def _exact(value: object) -> object:
    """A float as the Decimal it prints as. The marts' figures are exact numerics on PostgreSQL
    (Decimal); where DuckDB computed one in double precision (an average, a deviation), the row
    carries it as a Decimal too, so the page formats either engine's figures the same way."""
    return Decimal(repr(value)) if isinstance(value, float) else value


def _fetch(conn: MartsConnection, statement: str, params: tuple = ()) -> list[tuple]:
    return _execute(conn, statement, params)[1]


def _relation_exists(conn: MartsConnection, name: str) -> bool:
    if isinstance(conn, duckdb.DuckDBPyConnection):
        # DuckDB has no `to_regclass`; its information_schema lists every table in the file.
        schema, table = name.split(".")
        return _fetch(
            conn,
            "select count(*) > 0 from information_schema.tables"
            " where table_schema = %s and table_name = %s",
            (schema, table),
        )[0][0]
    # Not information_schema on PostgreSQL: it hides the tables this login may not read, which
    # would call a built mart without its grant "not built" instead of refusing the query.
    return _fetch(conn, "select to_regclass(%s) is not null", (name,))[0][0]


def _can_read(conn: MartsConnection, name: str) -> bool:
    """Whether this login may select from `name`: the analyst role reads `mart` only. DuckDB
    has no privileges: whoever may open the file reads every table in it."""
    if isinstance(conn, duckdb.DuckDBPyConnection):
        return _relation_exists(conn, name)
    schema = name.split(".")[0]
    return (
        _relation_exists(conn, name)
        and _fetch(
            conn,
            "select has_schema_privilege(%s, 'usage') and has_table_privilege(%s, 'select')",
            (schema, name),
        )[0][0]
    )


def run_key(conn: MartsConnection) -> RunKey:
    as_of = None
    if _relation_exists(conn, STOCK_PERFORMANCE):
        as_of = _fetch(conn, "select max(as_of_date) from mart.mart_stock_performance")[0][0]
    last_run_at = None
    if _can_read(conn, INGEST_STATUS):
        last_run_at = _fetch(
            conn, "select max(coalesce(finished_at, started_at)) from mart.mart_ingest_status"
        )[0][0]
    return RunKey(last_run_at=last_run_at, as_of_date=as_of)


def stock_figures(conn: MartsConnection) -> tuple[StockFigures, ...]:
    """Every symbol's figures, by symbol. Raises MartsEmpty when the mart is missing or empty:
    without it there is no as-of date and no symbol to pick."""
    if not _relation_exists(conn, STOCK_PERFORMANCE):
        raise MartsEmpty("the marts are not built yet")
    rows = _fetch(
        conn,
        """
        select symbol, company_name, sector, as_of_date, latest_price_date, latest_close_price,
               return_1d_pct, return_30d_pct, return_ytd_pct, high_52w_price, low_52w_price,
               volatility_1y_pct, volatility_30d_pct, avg_volume_30d
        from mart.mart_stock_performance
        order by symbol
        """,
    )
    if not rows:
        raise MartsEmpty("the marts hold no rows")
    return tuple(StockFigures(*row) for row in rows)


def first_trading_date(conn: MartsConnection) -> date | None:
    return _fetch(conn, "select min(trading_date) from mart.mart_daily_trading")[0][0]


def price_history(
    conn: MartsConnection, symbol: str, start: date, end: date
) -> tuple[PriceBar, ...]:
    rows = _fetch(
        conn,
        """
        select
            trading_date, open_price, high_price, low_price, close_price, market_volume,
            adjusted_close_price, adjusted_market_volume
        from mart.mart_daily_trading
        where symbol = %s and trading_date between %s and %s
        order by trading_date
        """,
        (symbol, start, end),
    )
    return tuple(PriceBar(*row) for row in rows)


def sector_figures(conn: MartsConnection) -> tuple[SectorFigures, ...]:
    rows = _fetch(
        conn,
        """
        select sector, stock_count, avg_return_30d_pct, avg_volatility_30d_pct
        from mart.mart_sector_performance
        order by sector
        """,
    )
    return tuple(SectorFigures(*row) for row in rows)


def trading_activity(conn: MartsConnection) -> tuple[TradingDay, ...]:
    rows = _fetch(
        conn,
        """
        select trading_date, sum(order_count), sum(trade_count), sum(traded_amount)
        from mart.mart_daily_trading
        group by trading_date
        having sum(order_count) > 0
        order by trading_date
        """,
    )
    return tuple(
        TradingDay(day, int(orders), int(trades), amount) for day, orders, trades, amount in rows
    )


def top_accounts(conn: MartsConnection, limit: int = TOP_ACCOUNTS) -> tuple[AccountRow, ...]:
    """The accounts holding the most, by open position value at the as-of date."""
    rows = _fetch(
        conn,
        """
        select account_id, account_type, balance, trade_count, traded_amount,
               open_position_value
        from mart.mart_account_summary
        order by open_position_value desc, traded_amount desc, account_id
        limit %s
        """,
        (limit,),
    )
    return tuple(AccountRow(*row) for row in rows)


def positions(conn: MartsConnection, account_ids: tuple[str, ...]) -> Positions | None:
    """These accounts' open positions at the marts' as-of date (the positions mart keeps every
    day of a position's life), largest first; None while that mart does not exist."""
    if not _can_read(conn, POSITIONS):
        return None
    columns, rows = _execute(
        conn,
        """
        select
            account_id, symbol, quantity, average_cost, close_price, market_value,
            unrealised_pnl, realised_pnl
        from mart.mart_positions
        where account_id = any(%s)
          and as_of_date = (select max(as_of_date) from mart.mart_positions)
          and quantity <> 0
        order by account_id, market_value desc, symbol
        """,
        (list(account_ids),),
    )
    return Positions(columns=columns, rows=tuple(rows))


def last_run(conn: MartsConnection) -> RunStatus | None:
    """Each symbol's latest price load on the last logical date, as the marts last saw it (the
    analyst role reads marts only); None before the marts exist or when no run was recorded."""
    if not _can_read(conn, INGEST_STATUS):
        return None
    rows = _fetch(
        conn,
        """
        select logical_date, symbol, run_status, error_message, finished_at
        from mart.mart_ingest_status
        order by symbol
        """,
    )
    if not rows:
        return None
    finished = [row[4] for row in rows if row[4] is not None]
    return RunStatus(
        logical_date=rows[0][0],
        finished_at=max(finished) if finished else None,
        symbols=tuple(SymbolRun(symbol, status, error) for _, symbol, status, error, _ in rows),
    )
