"""Shared fixtures. Each block below belongs to one real component the tests run against."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg2
import pytest

from data_generator import pipeline, services
from data_generator.config import PROJECT_ROOT, Settings, load_settings
from data_generator.pipeline import IngestReport
from data_generator.universe import select_stocks
from data_generator.warehouse import create_database_if_missing, drop_database
from tests.alpha_vantage_stub import AlphaVantageStub

# --- Alpha Vantage: a local HTTP stand-in ---------------------------------------------------


@pytest.fixture
def alpha_vantage_stub() -> Iterator[AlphaVantageStub]:
    """A fresh stub per test, listening on 127.0.0.1; its `base_url` ends in `/query`."""
    with AlphaVantageStub() as stub:
        yield stub


# --- end Alpha Vantage ----------------------------------------------------------------------


# --- PostgreSQL: the server the PG* variables name, else a project-local cluster ------------

_TEST_STATE_DIR = PROJECT_ROOT / ".local" / "test"


@pytest.fixture(scope="session")
def base_settings() -> Iterator[Settings]:
    """Settings from libpq's variables only: a developer's `.env` must not steer the tests.
    A cluster the session had to start is stopped at its end."""
    env = {k: v for k, v in os.environ.items() if k.startswith("PG")}
    settings = load_settings(env).with_overrides(local_state_dir=_TEST_STATE_DIR)
    started = services.ensure_postgres(settings)
    yield settings
    if started:
        services.stop_postgres(settings)


@contextmanager
def scratch_database(base: Settings) -> Iterator[Settings]:
    """A fresh, randomly named database, dropped afterwards."""
    settings = base.with_overrides(pg_database=f"fintrade_test_{secrets.token_hex(4)}")
    create_database_if_missing(settings)
    try:
        yield settings
    finally:
        drop_database(settings)


@pytest.fixture
def database(base_settings: Settings) -> Iterator[Settings]:
    with scratch_database(base_settings) as settings:
        yield settings


# --- S3: a SeaweedFS server of the test session's own, reached over HTTP --------------------


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str


def _free_port_base(width: int = 8) -> int:
    """A base port with `width` free ports above it (weed mini opens several)."""
    for _ in range(50):
        base = 20000 + secrets.randbelow(20000)
        ports = range(base, base + width)
        if not any(services._port_open("127.0.0.1", p) for p in ports) and all(
            _bindable(p) for p in ports
        ):
            return base
    raise RuntimeError("no free port range for SeaweedFS")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 endpoint: `AWS_ENDPOINT_URL` when the environment names one, else SeaweedFS."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        yield S3Server(
            os.environ["AWS_ENDPOINT_URL"],
            os.environ.get("AWS_ACCESS_KEY_ID", ""),
            os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        )
        return
    with tempfile.TemporaryDirectory(prefix="fintrade-s3-") as data_dir:
        base = _free_port_base()
        access_key, secret_key = f"test{secrets.token_hex(4)}", secrets.token_hex(16)
        pid = services.start_seaweedfs(Path(data_dir), base, access_key, secret_key)
        try:
            yield S3Server(f"http://127.0.0.1:{base}", access_key, secret_key)
        finally:
            services._stop_pid(pid, "SeaweedFS")


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


@pytest.fixture
def settings(base_settings: Settings, s3_server: S3Server, tmp_path: Path) -> Iterator[Settings]:
    with scratch_warehouse(base_settings, s3_server, tmp_path / "state") as scratch:
        yield scratch


def load_day(settings: Settings, day: date, *, initialise: bool = True) -> IngestReport:
    """What `fintrade init` (or `ingest`) does for `day`, in-process: pipeline-made raw data."""
    stocks = select_stocks(settings.symbols, settings.universe_file)
    with pipeline.open_resources(settings, day, stocks) as res:
        report = pipeline.ingest_day(res, stocks, day, initialise=initialise)
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
            "FINTRADE_UNIVERSE_FILE": str(settings.universe_file),
            "FINTRADE_POSTGRES_SERVER": settings.postgres_server,
            "ALPHA_VANTAGE_BASE_URL": settings.alpha_vantage_base_url,
            "ALPHA_VANTAGE_OUTPUTSIZE": settings.alpha_vantage_outputsize,
            "ALPHA_VANTAGE_MAX_ATTEMPTS": str(settings.alpha_vantage_max_attempts),
            "ALPHA_VANTAGE_BACKOFF_SECONDS": str(settings.alpha_vantage_backoff_seconds),
            "ALPHA_VANTAGE_CALLS_PER_MINUTE": str(settings.alpha_vantage_calls_per_minute),
            "ALPHA_VANTAGE_TIMEOUT_SECONDS": str(settings.alpha_vantage_timeout_seconds),
        }
    )
    if settings.symbols:
        env["FINTRADE_SYMBOLS"] = ",".join(settings.symbols)
    if settings.alpha_vantage_api_key:
        env["ALPHA_VANTAGE_API_KEY"] = settings.alpha_vantage_api_key
    return env


def run_fintrade(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The real console command in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "data_generator.cli", *args],
        env=settings_environ(settings),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def query(settings: Settings, statement: str, params: tuple = ()) -> list[tuple]:
    conn = psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password,
        dbname=settings.pg_database,
    )
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params or None)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def table_checksum(settings: Settings, table: str, exclude: tuple[str, ...] = ()) -> str:
    """md5 over a table's rows in key order: equal checksums mean equal contents."""
    schema, name = table.split(".")
    columns = [
        row[0]
        for row in query(
            settings,
            "select column_name from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (schema, name),
        )
        if row[0] not in exclude
    ]
    column_list = ", ".join(columns)
    row = query(
        settings,
        f"select md5(coalesce(string_agg(r::text, '|' order by r::text), '')) "
        f"from (select {column_list} from {table}) as r",
    )
    return row[0][0]


# --- end PostgreSQL and S3 ------------------------------------------------------------------
