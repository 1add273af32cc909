"""Shared fixtures. Each block below belongs to one real component the tests run against."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from data_generator.localdev import postgres, processes, seaweedfs
from data_generator.settings import PROJECT_ROOT, Settings, load_settings
from data_generator.steps import transform
from tests.support.alpha_vantage_stub import AlphaVantageStub
from tests.support.harness import (
    S3Server,
    load_day,
    run_fintrade,
    scratch_database,
    scratch_warehouse,
)
from tests.support.ports import closed_port, free_port_base

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
    started = postgres.ensure_postgres(settings)
    yield settings
    if started:
        postgres.stop_postgres(settings)


@pytest.fixture
def database(base_settings: Settings) -> Iterator[Settings]:
    with scratch_database(base_settings) as settings:
        yield settings


# --- S3: a SeaweedFS server of the test session's own, reached over HTTP --------------------


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
        base = free_port_base()
        access_key, secret_key = f"test{secrets.token_hex(4)}", secrets.token_hex(16)
        pid = seaweedfs.start_seaweedfs(Path(data_dir), base, access_key, secret_key)
        try:
            yield S3Server(f"http://127.0.0.1:{base}", access_key, secret_key)
        finally:
            processes.stop_pid(pid, "SeaweedFS")


@pytest.fixture
def settings(base_settings: Settings, s3_server: S3Server, tmp_path: Path) -> Iterator[Settings]:
    with scratch_warehouse(base_settings, s3_server, tmp_path / "state") as scratch:
        yield scratch


# --- DuckDB: the second engine, built from the lake alone ---------------------------------

DUCKDB_DEMO_DAY = date(2026, 11, 24)


@pytest.fixture(scope="session")
def duckdb_warehouse(base_settings, s3_server, tmp_path_factory) -> Iterator[Settings]:
    """A demo day loaded by the pipeline (PostgreSQL and the lake), built by dbt on PostgreSQL
    and, by `fintrade build --engine duckdb` with PostgreSQL's port closed, on DuckDB from the
    lake: a model that still reached PostgreSQL would fail the build."""
    state = tmp_path_factory.mktemp("duckdb-state")
    with scratch_warehouse(base_settings, s3_server, state) as scratch:
        settings = scratch.with_overrides(duckdb_path=state / "fintrade.duckdb")
        load_day(settings, DUCKDB_DEMO_DAY)
        transform.build(settings)
        built = run_fintrade(
            settings, "build", "--engine", "duckdb", env={"PGPORT": str(closed_port())}
        )
        assert built.returncode == 0, built.stdout + built.stderr
        yield settings
