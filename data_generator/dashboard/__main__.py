"""`python -m data_generator.dashboard`: serve the dashboard until Ctrl-C.

`--print-address` only says where it will be, for the end of `make demo`. `--engine` picks whose
marts it reads (default `FINTRADE_ENGINE`): PostgreSQL's, or the DuckDB file's.
"""

from __future__ import annotations

import argparse
import socket
import sys

from data_generator.settings import ConfigError, Engine, Settings, load_settings


def address(settings: Settings) -> str:
    return f"http://{settings.dashboard_host}:{settings.dashboard_port}/"


def _port_taken(settings: Settings) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((settings.dashboard_host, settings.dashboard_port))
        except OSError:
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_generator.dashboard")
    parser.add_argument(
        "--print-address", action="store_true", help="print where it serves, then exit"
    )
    parser.add_argument(
        "--engine",
        choices=[engine.value for engine in Engine],
        help="whose marts to read (default: FINTRADE_ENGINE, else postgres)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"dashboard: {exc}", file=sys.stderr)
        return 2
    if args.engine is not None:
        settings = settings.with_overrides(engine=Engine(args.engine))
    if args.print_address:
        print(f"Dashboard: `make dashboard`, then open {address(settings)}")
        return 0
    if _port_taken(settings):
        print(
            f"dashboard: {settings.dashboard_host}:{settings.dashboard_port} is in use;"
            " set DASHBOARD_PORT to a free port",
            file=sys.stderr,
        )
        return 1

    from data_generator.dashboard.app import create_app, warm_up
    from data_generator.dashboard.queries import marts_location
    from data_generator.dashboard.source import WarehouseReader

    reader = WarehouseReader(settings)
    warm_up(settings, reader)
    marts = marts_location(settings)
    print(f"Dashboard on {address(settings)}, marts in {marts} (Ctrl-C stops it)", flush=True)
    create_app(settings, reader).run(
        host=settings.dashboard_host, port=settings.dashboard_port, debug=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
