"""Settings for every part of FinTrade, read from the environment in this one place.

A `.env` file at the project root is read first when present (values already in the
environment win), so a user can keep the API key out of their shell history. Nothing else in
the package reads `os.environ`: modules receive a `Settings` and stay testable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INIT_SQL = PROJECT_ROOT / "sql" / "init.sql"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt" / "fintrade"
LOCAL_STATE_DIR = PROJECT_ROOT / ".local"
UNIVERSE_FILE = PROJECT_ROOT / "data_generator" / "reference" / "stocks.csv"

PRICE_SOURCES = ("alphavantage", "synthetic")
OUTPUT_SIZES = ("compact", "full")
POSTGRES_SERVERS = ("auto", "system", "embedded")


class ConfigError(ValueError):
    """A setting has a value the project cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults documented in `.env.example`."""

    alpha_vantage_api_key: str | None = field(default=None, repr=False)
    alpha_vantage_base_url: str = "https://www.alphavantage.co/query"
    alpha_vantage_outputsize: str = "compact"
    alpha_vantage_max_attempts: int = 5
    alpha_vantage_backoff_seconds: float = 2.0
    alpha_vantage_calls_per_minute: int = 5
    alpha_vantage_timeout_seconds: float = 30.0
    alpha_vantage_daily_budget: int = 25
    price_source: str = "synthetic"
    symbols: tuple[str, ...] | None = None
    seed: int = 42
    history_days: int = 365
    # First day of the synthetic source's price paths: a scale run of more years starts earlier.
    # Paths are drawn from this day on, so a different start gives different (still seeded) bars.
    synthetic_start: date = date(2012, 1, 3)
    universe_file: Path = UNIVERSE_FILE

    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    pg_password: str | None = field(default=None, repr=False)
    pg_database: str = "fintrade"
    postgres_server: str = "auto"
    # Passwords of the warehouse roles (data_generator/roles.py); None: generated once into the
    # state folder. PGUSER above is the superuser that creates the database and the roles.
    loader_password: str | None = field(default=None, repr=False)
    transformer_password: str | None = field(default=None, repr=False)
    analyst_password: str | None = field(default=None, repr=False)

    s3_bucket: str = "fintrade-raw"
    aws_endpoint_url: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_region: str = "us-east-1"

    local_state_dir: Path = LOCAL_STATE_DIR

    # The dashboard reads the same warehouse, as its own (read-only) login when one is set.
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8050
    dashboard_pg_user: str | None = None
    dashboard_pg_password: str | None = field(default=None, repr=False)

    @property
    def uses_local_s3(self) -> bool:
        """True when the user pointed at no S3 endpoint, so the project runs its own server."""
        return self.aws_endpoint_url is None and self.aws_access_key_id is None

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    def pg_environ(self) -> dict[str, str]:
        """libpq's variables for child processes (psql, dbt) that must reach the same warehouse."""
        env = {
            "PGHOST": self.pg_host,
            "PGPORT": str(self.pg_port),
            "PGUSER": self.pg_user,
            "PGDATABASE": self.pg_database,
        }
        if self.pg_password:
            env["PGPASSWORD"] = self.pg_password
        return env

    def aws_environ(self) -> dict[str, str]:
        """The S3 variables for child processes (Airflow tasks) that build their own clients."""
        env = {"S3_BUCKET": self.s3_bucket, "AWS_DEFAULT_REGION": self.aws_region}
        if self.aws_endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        if self.aws_access_key_id:
            env["AWS_ACCESS_KEY_ID"] = self.aws_access_key_id
        if self.aws_secret_access_key:
            env["AWS_SECRET_ACCESS_KEY"] = self.aws_secret_access_key
        return env


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _non_negative_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if value < 0:
        raise ConfigError(f"{name} must not be negative, got {value}")
    return value


def _date(env: Mapping[str, str], name: str, default: date) -> date:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a date (YYYY-MM-DD), got {raw!r}") from None


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def parse_symbols(raw: str | None) -> tuple[str, ...] | None:
    """Turn 'aapl, MSFT' into ('AAPL', 'MSFT'); empty means 'the whole universe'."""
    if raw is None or not raw.strip():
        return None
    symbols = tuple(dict.fromkeys(s.strip().upper() for s in raw.split(",") if s.strip()))
    return symbols or None


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def read_environment(dotenv_path: Path | None = PROJECT_ROOT / ".env") -> dict[str, str]:
    """The process environment laid over `.env`, so an exported variable beats the file."""
    merged: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.is_file():
        merged.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    merged.update(os.environ)
    return merged


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from `env` (default: the process environment over `.env`)."""
    env = read_environment() if env is None else env
    api_key = _optional(env, "ALPHA_VANTAGE_API_KEY")
    default_source = "alphavantage" if api_key else "synthetic"
    price_source = _choice(env, "FINTRADE_PRICE_SOURCE", PRICE_SOURCES, default_source)
    if price_source == "alphavantage" and not api_key:
        raise ConfigError("FINTRADE_PRICE_SOURCE=alphavantage needs ALPHA_VANTAGE_API_KEY")
    return Settings(
        alpha_vantage_api_key=api_key,
        alpha_vantage_base_url=_optional(env, "ALPHA_VANTAGE_BASE_URL")
        or Settings.alpha_vantage_base_url,
        alpha_vantage_outputsize=_choice(
            env, "ALPHA_VANTAGE_OUTPUTSIZE", OUTPUT_SIZES, Settings.alpha_vantage_outputsize
        ),
        alpha_vantage_max_attempts=_positive_int(
            env, "ALPHA_VANTAGE_MAX_ATTEMPTS", Settings.alpha_vantage_max_attempts
        ),
        alpha_vantage_backoff_seconds=_non_negative_float(
            env, "ALPHA_VANTAGE_BACKOFF_SECONDS", Settings.alpha_vantage_backoff_seconds
        ),
        alpha_vantage_calls_per_minute=_positive_int(
            env, "ALPHA_VANTAGE_CALLS_PER_MINUTE", Settings.alpha_vantage_calls_per_minute
        ),
        alpha_vantage_timeout_seconds=_non_negative_float(
            env, "ALPHA_VANTAGE_TIMEOUT_SECONDS", Settings.alpha_vantage_timeout_seconds
        ),
        alpha_vantage_daily_budget=_positive_int(
            env, "ALPHA_VANTAGE_DAILY_BUDGET", Settings.alpha_vantage_daily_budget
        ),
        price_source=price_source,
        symbols=parse_symbols(env.get("FINTRADE_SYMBOLS")),
        seed=_positive_int(env, "FINTRADE_SEED", Settings.seed),
        history_days=_positive_int(env, "FINTRADE_HISTORY_DAYS", Settings.history_days),
        synthetic_start=_date(env, "FINTRADE_SYNTHETIC_START", Settings.synthetic_start),
        universe_file=Path(_optional(env, "FINTRADE_UNIVERSE_FILE") or UNIVERSE_FILE),
        pg_host=_optional(env, "PGHOST") or Settings.pg_host,
        pg_port=_positive_int(env, "PGPORT", Settings.pg_port),
        pg_user=_optional(env, "PGUSER") or Settings.pg_user,
        pg_password=_optional(env, "PGPASSWORD"),
        pg_database=_optional(env, "PGDATABASE") or Settings.pg_database,
        postgres_server=_choice(
            env, "FINTRADE_POSTGRES_SERVER", POSTGRES_SERVERS, Settings.postgres_server
        ),
        loader_password=_optional(env, "FINTRADE_LOADER_PASSWORD"),
        transformer_password=_optional(env, "FINTRADE_TRANSFORMER_PASSWORD"),
        analyst_password=_optional(env, "FINTRADE_ANALYST_PASSWORD"),
        s3_bucket=_optional(env, "S3_BUCKET") or Settings.s3_bucket,
        aws_endpoint_url=_optional(env, "AWS_ENDPOINT_URL"),
        aws_access_key_id=_optional(env, "AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=_optional(env, "AWS_SECRET_ACCESS_KEY"),
        aws_region=_optional(env, "AWS_DEFAULT_REGION") or Settings.aws_region,
        local_state_dir=Path(_optional(env, "FINTRADE_STATE_DIR") or LOCAL_STATE_DIR),
        dashboard_host=_optional(env, "DASHBOARD_HOST") or Settings.dashboard_host,
        dashboard_port=_positive_int(env, "DASHBOARD_PORT", Settings.dashboard_port),
        dashboard_pg_user=_optional(env, "DASHBOARD_PGUSER"),
        dashboard_pg_password=_optional(env, "DASHBOARD_PGPASSWORD"),
    )
