"""`fintrade`: the command line over the pipeline (init, ingest, replay, run, build, services).

Every command exits 0 on success and otherwise prints one line saying why and exits non-zero, so
it behaves the same by hand, in `make`, in CI and under Airflow.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date, timedelta

import psycopg2
from tqdm import tqdm

from data_generator.errors import FintradeError, first_line
from data_generator.localdev import seaweedfs, services
from data_generator.reference.universe import select_stocks
from data_generator.settings import (
    Engine,
    Settings,
    load_settings,
    parse_symbols,
)
from data_generator.steps import freshness, transform
from data_generator.steps.activity import DEFAULT_ACCOUNTS, DEFAULT_ORDERS
from data_generator.steps.day import IngestReport, ingest_day
from data_generator.steps.prices import SymbolResult
from data_generator.steps.replay import replay
from data_generator.steps.resources import open_resources

log = logging.getLogger("fintrade")


class CommandFailed(FintradeError):
    """The command ran but did not fully succeed; the message is the one-line reason."""


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def default_date() -> date:
    """For hand-run commands only: yesterday, the last day whose close is surely published."""
    return date.today() - timedelta(days=1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fintrade", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_symbols(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--symbols", help="comma list, a subset of the universe (default: all)")

    def with_date(sub: argparse.ArgumentParser, required: bool) -> None:
        sub.add_argument(
            "--date",
            type=_iso_date,
            required=required,
            help="the run's logical date, YYYY-MM-DD"
            + ("" if required else " (default: yesterday)"),
        )

    init = commands.add_parser(
        "init", help="schema, reference data, price history, accounts, orders"
    )
    with_date(init, required=False)
    with_symbols(init)
    init.add_argument("--days", type=_positive, help="calendar days of price history (default 365)")
    init.add_argument("--accounts", type=_positive, default=DEFAULT_ACCOUNTS)
    init.add_argument("--orders", type=_positive, default=DEFAULT_ORDERS)

    ingest = commands.add_parser("ingest", help="one day's prices and OLTP activity")
    with_date(ingest, required=True)
    with_symbols(ingest)

    replay = commands.add_parser("replay", help="rebuild raw.daily_prices from the lake's Parquet")
    with_symbols(replay)
    replay.add_argument("--since", type=_iso_date, help="only rows from this price date on")

    run = commands.add_parser("run", help="init if needed, ingest, then dbt build")
    with_date(run, required=True)
    with_symbols(run)

    build = commands.add_parser(
        "build", help="dbt build only: on PostgreSQL, or on DuckDB from the lake"
    )
    build.add_argument(
        "--engine",
        choices=[engine.value for engine in Engine],
        help="where the models are built (default: FINTRADE_ENGINE, else postgres)",
    )
    build.add_argument("--select", help="dbt's node selection, e.g. staging or mart_positions+")

    svc = commands.add_parser(
        "services", help="local PostgreSQL, S3 (and Celery's Redis) for a machine without Docker"
    )
    svc.add_argument("action", choices=("up", "down", "status"))
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings()
    overrides: dict[str, object] = {}
    if getattr(args, "symbols", None) is not None:
        symbols = parse_symbols(args.symbols)
        if symbols is None:
            raise CommandFailed(f"--symbols names no symbol: {args.symbols!r}")
        overrides["symbols"] = symbols
    if getattr(args, "days", None):
        overrides["history_days"] = args.days
    return settings.with_overrides(**overrides) if overrides else settings


class _Progress:
    """A bar per symbol on a terminal; one plain line per symbol anywhere else."""

    def __init__(self, total: int, label: str) -> None:
        self._bar = tqdm(total=total, desc=label, unit="symbol") if sys.stderr.isatty() else None

    def __call__(self, result: SymbolResult) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(result.symbol)
            self._bar.update()
            if result.status != "loaded" or result.message:
                self._bar.write(result.summary())
        else:
            print(result.summary(), flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _ingest(
    settings: Settings,
    logical_date: date,
    initialise: bool,
    accounts: int = DEFAULT_ACCOUNTS,
    orders: int = DEFAULT_ORDERS,
) -> IngestReport:
    stocks = select_stocks(settings.symbols, settings.universe_file)
    with open_resources(settings, logical_date, stocks) as res:
        progress = _Progress(len(stocks), f"prices {logical_date}")
        try:
            report = ingest_day(
                res,
                stocks,
                logical_date,
                initialise=initialise,
                accounts=accounts,
                orders=orders,
                on_symbol=progress,
            )
        finally:
            progress.close()
    if report.actions is not None:
        print(report.actions.summary())
    if report.history is not None:
        print(report.history.summary().replace("OLTP activity", "OLTP history"))
    if report.activity is not None:
        print(report.activity.summary())
    if report.extracts is not None:
        print(report.extracts.summary())
    return report


def _finish_ingest(report: IngestReport) -> None:
    _print_prices(report)
    if report.failed:
        raise CommandFailed(_failed_symbols(report))
    _raise_later_failures(report)


def _raise_later_failures(report: IngestReport) -> None:
    """What failed after the prices, in the day's order: corporate actions, then the extracts."""
    failed_actions = _failed_actions(report)
    if failed_actions:
        raise CommandFailed(failed_actions)
    if report.extracts_error:
        raise CommandFailed(report.extracts_error)


def _print_prices(report: IngestReport) -> None:
    """Print the day's price figures: the vendor's notices, the totals, the stale symbols."""
    loaded = [r for r in report.results if r.status != "failed"]
    new = sum(r.counts.inserted for r in loaded)
    updated = sum(r.counts.updated for r in loaded)
    rejected = sum(r.rows_rejected for r in loaded)
    for notice in report.notices:
        print(f"note: {notice}")
    print(
        f"prices for {report.logical_date}: {len(loaded)}/{len(report.results)} symbols, "
        f"{new} new rows, {updated} updated, {rejected} rejected"
    )
    if report.stale:
        print(f"stale (daily API limit, kept the lake's latest data): {', '.join(report.stale)}")


def _failed_symbols(report: IngestReport) -> str:
    return f"symbols failed: {', '.join(report.failed)}"


def _failed_actions(report: IngestReport) -> str | None:
    if report.actions is not None and report.actions.failed:
        return f"corporate actions failed: {', '.join(report.actions.failed)}"
    return None


def cmd_init(args: argparse.Namespace) -> None:
    settings = services.services_up(_settings(args))
    report = _ingest(
        settings, args.date or default_date(), True, accounts=args.accounts, orders=args.orders
    )
    _finish_ingest(report)


def cmd_ingest(args: argparse.Namespace) -> None:
    settings = services.services_up(_settings(args))
    _finish_ingest(_ingest(settings, args.date, False))


def cmd_run(args: argparse.Namespace) -> None:
    """The DAG's rule, one for every failure: build, then report. Whatever failed during the day
    (a symbol's prices, its corporate actions, the extracts the lake refused) never stops dbt
    (staging -> core -> mart with their tests) or the freshness check; the run then exits
    non-zero with one line naming the failed symbols first, then every other failure in the
    day's order (then dbt's, then the freshness check's). A failed symbol's bars reach the fact
    whenever a later run loads them.

    The freshness verdict is printed either way; it fails the run by itself only when no symbol
    failed (a failed symbol is behind the session by definition, and is already named)."""
    settings = services.services_up(_settings(args))
    report = _ingest(settings, args.date, True)
    _print_prices(report)
    problems = [_failed_symbols(report)] if report.failed else []
    problems += [p for p in (_failed_actions(report), report.extracts_error) if p]
    try:
        print(transform.build(settings).summary)
    except FintradeError as exc:
        problems.append(first_line(exc))
    try:
        print(freshness.check_freshness(settings, args.date).summary())
    except (FintradeError, psycopg2.Error) as exc:
        print(f"freshness for {args.date}: {first_line(exc)}")
        if not (report.failed and isinstance(exc, freshness.FreshnessError)):
            problems.append(first_line(exc))
    if problems:
        raise CommandFailed("; ".join(problems))


def cmd_replay(args: argparse.Namespace) -> None:
    settings = services.services_up(_settings(args))
    results = replay(settings, args.since, lambda result: print(result.summary()))
    if not results:
        raise CommandFailed(f"the lake (bucket {settings.s3_bucket}) holds no Parquet snapshots")


def cmd_build(args: argparse.Namespace) -> None:
    """DuckDB reads only the lake, so only the lake's server is started for it."""
    settings = _settings(args)
    engine = Engine(args.engine) if args.engine else settings.engine
    if engine is Engine.DUCKDB:
        settings = seaweedfs.ensure_s3(settings)
    else:
        settings = services.services_up(settings)
    print(transform.build(settings, select=args.select, engine=engine).summary)
    if engine is Engine.DUCKDB:
        print(f"DuckDB warehouse: {settings.duckdb_file}")


def cmd_services(args: argparse.Namespace) -> None:
    settings = _settings(args)
    if args.action == "up":
        services.services_up(settings)
    elif args.action == "down":
        stopped = services.services_down(settings)
        print("stopped: " + ", ".join(stopped) if stopped else "nothing of ours was running")
        return
    for status in services.services_status(settings):
        state = "up" if status.running else "down"
        print(f"{status.name:9} {state:5} {status.detail}")


COMMANDS = {
    "init": cmd_init,
    "ingest": cmd_ingest,
    "replay": cmd_replay,
    "run": cmd_run,
    "build": cmd_build,
    "services": cmd_services,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        COMMANDS[args.command](args)
    except FintradeError as exc:
        print(f"fintrade {args.command}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except psycopg2.Error as exc:
        # The server went away mid-command (restart, crash): the transaction in flight was
        # rolled back by the server, so a rerun of the same date starts clean.
        print(f"fintrade {args.command}: PostgreSQL failed: {first_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        # A state folder that cannot be written (permissions, a full disk).
        where = f": {exc.filename}" if exc.filename else ""
        reason = exc.strerror or os.strerror(exc.errno or 0) or str(exc)
        print(f"fintrade {args.command}: {reason}{where}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
