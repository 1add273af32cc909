"""What the integration tests share besides fixtures: scratch warehouses, a day loaded
in-process, and the CLI as a user runs it (queries and checksums: tests/support/warehouse.py)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from data_generator.reference.universe import select_stocks
from data_generator.settings import PROJECT_ROOT, Settings
from data_generator.steps.day import IngestReport, ingest_day
from data_generator.steps.resources import open_resources
from data_generator.storage.warehouse import (
    apply_schema,
    connect,
    create_database_if_missing,
    drop_database,
)
from tests.support.alpha_vantage_stub import AlphaVantageStub


@contextmanager
def scratch_database(base: Settings) -> Iterator[Settings]:
    """A fresh, randomly named database, dropped afterwards."""
    settings = base.with_overrides(pg_database=f"fintrade_test_{secrets.token_hex(4)}")
    create_database_if_missing(settings)
    try:
        yield settings
    finally:
        drop_database(settings)


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str


@contextmanager
def scratch_warehouse(base: Settings, s3: S3Server, state_dir: Path) -> Iterator[Settings]:
    """A fresh database and a fresh bucket on the real S3 server, synthetic prices by default,
    Alpha Vantage knobs set for fast tests."""
    with scratch_database(base) as database:
        yield database.with_overrides(
            s3_bucket=f"test-{secrets.token_hex(6)}",
            aws_endpoint_url=s3.endpoint_url,
            aws_access_key_id=s3.access_key,
            aws_secret_access_key=s3.secret_key,
            local_state_dir=state_dir,
            alpha_vantage_backoff_seconds=0.0,
            alpha_vantage_calls_per_minute=6000,
            alpha_vantage_max_attempts=2,
            alpha_vantage_timeout_seconds=2.0,
        )


def apply_init_sql(settings: Settings) -> None:
    """`sql/init.sql` on the settings' database, as every command applies it first."""
    with closing(connect(settings)) as conn:
        apply_schema(conn)


def load_day(settings: Settings, day: date, *, initialise: bool = True) -> IngestReport:
    """What `fintrade init` (or `ingest`) does for `day`, in-process: pipeline-made raw data."""
    stocks = select_stocks(settings.symbols, settings.universe_file)
    with open_resources(settings, day, stocks) as res:
        report = ingest_day(res, stocks, day, initialise=initialise)
    assert not report.failed, report.failed
    return report


def settings_environ(settings: Settings) -> dict[str, str]:
    """The environment a child process (the CLI, dbt, Airflow) needs to see `settings`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PG", "AWS_", "ALPHA_VANTAGE_", "FINTRADE_", "S3_"))
    }
    env.update(settings.pg_environ())
    env.update(settings.aws_environ())
    env.update(
        {
            "FINTRADE_STATE_DIR": str(settings.local_state_dir),
            "FINTRADE_PRICE_SOURCE": settings.price_source,
            "FINTRADE_SEED": str(settings.seed),
            "FINTRADE_HISTORY_DAYS": str(settings.history_days),
            "FINTRADE_SYNTHETIC_START": settings.synthetic_start.isoformat(),
            "FINTRADE_UNIVERSE_FILE": str(settings.universe_file),
            "FINTRADE_POSTGRES_SERVER": settings.postgres_server,
            "FINTRADE_ENGINE": settings.engine.value,
            "FINTRADE_DUCKDB_PATH": str(settings.duckdb_file),
            "ALPHA_VANTAGE_BASE_URL": settings.alpha_vantage_base_url,
            "ALPHA_VANTAGE_OUTPUTSIZE": settings.alpha_vantage_outputsize,
            "ALPHA_VANTAGE_MAX_ATTEMPTS": str(settings.alpha_vantage_max_attempts),
            "ALPHA_VANTAGE_BACKOFF_SECONDS": str(settings.alpha_vantage_backoff_seconds),
            "ALPHA_VANTAGE_CALLS_PER_MINUTE": str(settings.alpha_vantage_calls_per_minute),
            "ALPHA_VANTAGE_TIMEOUT_SECONDS": str(settings.alpha_vantage_timeout_seconds),
        }
    )
    if settings.duckdb_path:
        env["FINTRADE_DUCKDB_PATH"] = str(settings.duckdb_path)
    if settings.symbols:
        env["FINTRADE_SYMBOLS"] = ",".join(settings.symbols)
    if settings.alpha_vantage_api_key:
        env["ALPHA_VANTAGE_API_KEY"] = settings.alpha_vantage_api_key
    return env


def run_fintrade(
    settings: Settings, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real console command in a child process, as a user runs it; `env` adds to (or
    overrides) what `settings` set."""
    return subprocess.run(
        [sys.executable, "-m", "data_generator.cli", *args],
        env=settings_environ(settings) | dict(env or {}),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def vendor_settings(
    settings: Settings, stub: AlphaVantageStub, api_key: str, **overrides: Any
) -> Settings:
    """`settings` on the Alpha Vantage path, pointed at the local stand-in, plus `overrides`."""
    return settings.with_overrides(
        price_source="alphavantage",
        alpha_vantage_api_key=api_key,
        alpha_vantage_base_url=stub.base_url,
        **overrides,
    )
