"""The fault matrix (tests/support/fault_matrix.py), one test per fault, against real components.

Each test provokes its fault at a precise point through a real hook (a PostgreSQL lock the test
holds, a proxy that freezes an upload, the stand-in's scripted replies), then ends with the same
checks: the failure was reported in one line, a rerun of the same date succeeds, and every raw,
core and mart table and the lake equal a clean run of that date by checksum. Restarts happen only
to servers the test started itself: a PostgreSQL cluster and a SeaweedFS of its own.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg2
import pytest
from psycopg2.extensions import connection as Connection

from data_generator.localdev import postgres, processes, seaweedfs
from data_generator.settings import PROJECT_ROOT, Settings
from data_generator.storage import lake as lake_keys
from data_generator.storage import roles
from data_generator.storage.lake import s3_client
from tests.support import fault_matrix
from tests.support.alpha_vantage_stub import (
    DAILY_FUNCTION,
    AlphaVantageStub,
    StubReply,
    data_body,
    standard_bars,
)
from tests.support.harness import (
    S3Server,
    run_fintrade,
    scratch_warehouse,
    settings_environ,
    vendor_settings,
)
from tests.support.pausing_proxy import PausingProxy
from tests.support.ports import free_port_base
from tests.support.warehouse import connect, query
from tests.support.warehouse_state import StoredState, stored_state

pytestmark = pytest.mark.faults

DAY = date(2026, 11, 24)
SYMBOLS = ("AAPL", "JPM")
RUN = ("run", "--date", DAY.isoformat())
HOLD_KEY = 4_242_424  # the advisory lock a test holds to stop a load where it wants it
WAIT_SECONDS = 120


# --- the clean run everything is compared with --------------------------------------------


@pytest.fixture(scope="module")
def stub() -> Iterator[AlphaVantageStub]:
    with AlphaVantageStub(series_end=DAY) as server:
        yield server


def vendor(settings: Settings, stub: AlphaVantageStub) -> Settings:
    """Two symbols from the Alpha Vantage stand-in, fast retries and a short timeout."""
    return vendor_settings(
        settings,
        stub,
        "fault-test-key",
        symbols=SYMBOLS,
        history_days=30,
        alpha_vantage_timeout_seconds=1.0,
    )


@pytest.fixture(scope="module")
def clean_run(base_settings, s3_server, stub, tmp_path_factory) -> Iterator[StoredState]:
    state = tmp_path_factory.mktemp("state")
    with scratch_warehouse(base_settings, s3_server, state) as scratch:
        settings = vendor(scratch, stub)
        result = run_fintrade(settings, *RUN)
        assert result.returncode == 0, result.stderr
        yield stored_state(settings, with_stamps=False)


@pytest.fixture
def warehouse(base_settings, s3_server, stub, tmp_path) -> Iterator[Settings]:
    with scratch_warehouse(base_settings, s3_server, tmp_path / "state") as scratch:
        yield vendor(scratch, stub)


# --- running the command -------------------------------------------------------------------


def start_cli(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """The command in its own process group, so a kill reaches its dbt child too."""
    return subprocess.Popen(
        [sys.executable, "-m", "data_generator.cli", *args],
        env=settings_environ(settings),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == -signal.SIGKILL


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=WAIT_SECONDS)
    return process.returncode, stdout, stderr


def one_line_failure(stderr: str) -> str:
    """The command's verdict: its last line (retry warnings may be logged before it)."""
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]


# --- hooks: where a test stops the pipeline ------------------------------------------------


def blocked_backends(settings: Settings) -> int:
    return query(
        settings,
        "select count(*) from pg_stat_activity "
        "where datname = current_database() and wait_event_type = 'Lock' "
        "and pid <> pg_backend_pid()",
    )[0][0]


def wait_until(check, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def superuser_session(settings: Settings) -> Connection:
    session = connect(settings)
    session.autocommit = True
    return session


@contextmanager
def held_after_copy(settings: Settings) -> Iterator[None]:
    """Loads into raw.daily_prices stop after their COPY, inside their transaction, until the
    block ends: a statement trigger waits on an advisory lock this test holds."""
    roles.provision(settings)
    query(
        settings,
        f"""
        create function raw.fault_hold() returns trigger language plpgsql as $$
        begin
            perform pg_advisory_xact_lock_shared({HOLD_KEY});
            return null;
        end $$;
        create trigger fault_hold after insert on raw.daily_prices
        for each statement execute function raw.fault_hold();
        """,
    )
    holder = superuser_session(settings)
    holder.cursor().execute("select pg_advisory_lock(%s)", (HOLD_KEY,))
    try:
        yield
    finally:
        with _ignoring_a_restarted_server():
            holder.close()
        query(
            settings,
            "drop trigger fault_hold on raw.daily_prices; drop function raw.fault_hold()",
        )


@contextmanager
def held_mid_model(settings: Settings) -> Iterator[None]:
    """dbt stops at core.fct_daily_prices (which the ingest never touches) until the block ends."""
    holder = superuser_session(settings)
    holder.autocommit = False
    holder.cursor().execute("lock table core.fct_daily_prices in access exclusive mode")
    try:
        yield
    finally:
        with _ignoring_a_restarted_server():
            holder.rollback()
            holder.close()


def _ignoring_a_restarted_server():
    """The server restarted under this session: nothing is left to release."""
    return suppress(psycopg2.Error)


# --- the common ending ---------------------------------------------------------------------


def assert_recovers(settings: Settings, clean: StoredState) -> None:
    rerun = run_fintrade(settings, *RUN)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr

    assert stored_state(settings, with_stamps=False).differences(clean) == []
    assert leftover_dbt_relations(settings) == []


def leftover_dbt_relations(settings: Settings) -> list[str]:
    rows = query(
        settings,
        "select relname from pg_class where relkind in ('r', 'v', 'm', 'p') "
        "and (relname like '%%__dbt_tmp%%' or relname like '%%__dbt_backup%%')",
    )
    return [row[0] for row in rows]


def lake_keys_of(settings: Settings) -> set[str]:
    client = s3_client(settings)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=settings.s3_bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


# --- servers of the tests' own -------------------------------------------------------------


@pytest.fixture(scope="module")
def own_postgres(base_settings) -> Iterator[Settings]:
    """A PostgreSQL cluster only these tests use, so restarting it disturbs no one else."""
    root = Path(tempfile.mkdtemp(prefix="fintrade-faults-pg-"))
    root.chmod(0o755)  # initdb runs as the postgres user
    settings = base_settings.with_overrides(
        pg_host="127.0.0.1",
        pg_port=free_port_base(width=1),
        pg_user="postgres",
        pg_password=None,
        local_state_dir=root,
    )
    postgres.ensure_postgres(settings)
    try:
        yield settings
    finally:
        postgres.stop_postgres(settings)
        shutil.rmtree(root, ignore_errors=True)


def restart_postgres(settings: Settings) -> None:
    binaries = postgres.postgres_binaries(settings)
    data_dir = postgres.postgres_dir(settings, binaries.kind) / "data"
    subprocess.run(
        [
            *postgres.as_postgres_user(),
            str(binaries.tool("pg_ctl")),
            "-D",
            str(data_dir),
            "-l",
            str(data_dir.parent / "server.log"),
            "-m",
            "fast",
            "-w",
            "restart",
        ],
        check=True,
        # The restarted server inherits these: a pipe would never reach end of file.
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def own_warehouse(own_postgres, s3_server, stub, tmp_path) -> Iterator[Settings]:
    with scratch_warehouse(own_postgres, s3_server, tmp_path / "state") as scratch:
        yield vendor(scratch, stub)


@dataclass
class OwnS3:
    server: S3Server
    data_dir: Path
    port: int
    pid: int

    def stop(self) -> None:
        processes.stop_pid(self.pid, "SeaweedFS")

    def start(self) -> None:
        self.pid = seaweedfs.start_seaweedfs(
            self.data_dir, self.port, self.server.access_key, self.server.secret_key
        )


@pytest.fixture
def own_s3(tmp_path) -> Iterator[OwnS3]:
    base = free_port_base()
    access_key, secret_key = f"fault{secrets.token_hex(4)}", secrets.token_hex(16)
    data_dir = tmp_path / "seaweedfs"
    pid = seaweedfs.start_seaweedfs(data_dir, base, access_key, secret_key)
    s3 = OwnS3(S3Server(f"http://127.0.0.1:{base}", access_key, secret_key), data_dir, base, pid)
    try:
        yield s3
    finally:
        s3.stop()


# --- the matrix ----------------------------------------------------------------------------


def test_fault_ingest_killed_after_copy(warehouse, clean_run):
    with held_after_copy(warehouse):
        process = start_cli(warehouse, *RUN)
        wait_until(lambda: blocked_backends(warehouse) == 1, "the load to reach its COPY")
        kill(process)

    wait_until(lambda: blocked_backends(warehouse) == 0, "the killed load to end")
    assert query(warehouse, "select count(*) from raw.daily_prices") == [(0,)]
    assert_recovers(warehouse, clean_run)


def price_calls(stub: AlphaVantageStub, symbol: str) -> int:
    """Price requests only: corporate actions are refreshed by each run's spare budget."""
    return sum(1 for request in stub.requests_for(symbol) if request.function == DAILY_FUNCTION)


def test_fault_ingest_killed_mid_lake_write(warehouse, clean_run, s3_server, stub):
    upstream = int(s3_server.endpoint_url.rsplit(":", 1)[1])
    with PausingProxy(upstream, pause_on=b"/raw/parquet/") as proxy:
        process = start_cli(warehouse.with_overrides(aws_endpoint_url=proxy.url), *RUN)
        assert proxy.paused.wait(WAIT_SECONDS), "the Parquet upload never started"
        kill(process)
        proxy.release()

    parquet = lake_keys.parquet_key("AAPL", DAY)
    time.sleep(1)  # let the server see the cut-off body
    assert parquet not in lake_keys_of(warehouse)
    assert lake_keys.json_key("AAPL", DAY) in lake_keys_of(warehouse)
    calls_before = price_calls(stub, "AAPL")
    assert_recovers(warehouse, clean_run)
    assert price_calls(stub, "AAPL") == calls_before  # the kept reply, no new call for prices


def test_fault_postgres_restarted_during_ingest(own_postgres, own_warehouse, clean_run):
    with held_after_copy(own_warehouse):
        process = start_cli(own_warehouse, *RUN)
        wait_until(lambda: blocked_backends(own_warehouse) == 1, "the load to reach its COPY")
        restart_postgres(own_postgres)
        returncode, _, stderr = finish(process)

    assert returncode == 1
    assert one_line_failure(stderr).startswith("fintrade run: PostgreSQL failed: ")
    assert query(own_warehouse, "select count(*) from raw.daily_prices") == [(0,)]
    assert_recovers(own_warehouse, clean_run)


def test_fault_postgres_restarted_during_dbt(own_postgres, own_warehouse, clean_run):
    assert run_fintrade(own_warehouse, *RUN).returncode == 0
    with held_mid_model(own_warehouse):
        process = start_cli(own_warehouse, *RUN)
        wait_until(lambda: blocked_backends(own_warehouse) == 1, "dbt to reach the model")
        restart_postgres(own_postgres)
        returncode, _, stderr = finish(process)

    assert returncode == 1
    assert one_line_failure(stderr).startswith("fintrade run: dbt build failed")
    assert_recovers(own_warehouse, clean_run)


def test_fault_dbt_killed_mid_model(warehouse, clean_run):
    assert run_fintrade(warehouse, *RUN).returncode == 0
    with held_mid_model(warehouse):
        process = start_cli(warehouse, *RUN)
        wait_until(lambda: blocked_backends(warehouse) == 1, "dbt to reach the model")
        kill(process)

    wait_until(lambda: blocked_backends(warehouse) == 0, "the killed build to end")
    assert_recovers(warehouse, clean_run)


def test_fault_s3_stopped_during_ingest(base_settings, own_s3, stub, tmp_path, clean_run):
    with scratch_warehouse(base_settings, own_s3.server, tmp_path / "state") as scratch:
        settings = vendor(scratch, stub)
        with held_after_copy(settings):
            process = start_cli(settings, *RUN)
            wait_until(lambda: blocked_backends(settings) == 1, "the first load's COPY")
            own_s3.stop()
        returncode, stdout, stderr = finish(process)

        assert returncode == 1
        # The marts still build (the PostgreSQL build reads no lake), then the run names JPM
        # first and the extracts the stopped lake refused after it.
        assert one_line_failure(stderr).startswith("fintrade run: symbols failed: JPM; ")
        assert any(line.startswith("Done. PASS=") for line in stdout.splitlines()), stdout
        assert any(
            line.startswith("JPM: FAILED cannot read s3://") for line in stdout.splitlines()
        ), stdout
        own_s3.start()
        assert_recovers(settings, clean_run)


def raw_tables(state: StoredState) -> dict[str, object]:
    return {name: rows for name, rows in state.tables.items() if name.startswith("raw.")}


def _lake_object_damaged(warehouse, clean_run, damage: str, reason: str) -> None:
    assert run_fintrade(warehouse, "init", "--date", DAY.isoformat()).returncode == 0
    key = lake_keys.parquet_key("JPM", DAY)
    client = s3_client(warehouse)
    good = client.get_object(Bucket=warehouse.s3_bucket, Key=key)["Body"].read()
    bad = good[: len(good) // 2] if damage == "truncated" else b'{"not": "parquet"}'
    client.put_object(Bucket=warehouse.s3_bucket, Key=key, Body=bad)
    before = stored_state(warehouse)
    named = f"s3://{warehouse.s3_bucket}/{key}"

    replay = run_fintrade(warehouse, "replay")
    rerun = run_fintrade(warehouse, *RUN)

    assert replay.returncode == 1, replay.stderr
    assert f"{named} is not a readable Parquet snapshot: {reason}" in one_line_failure(
        replay.stderr
    )
    assert rerun.returncode == 1
    assert any(
        named in line for line in rerun.stdout.splitlines() if line.startswith("JPM: FAILED")
    )
    # The rule of `fintrade run`: build, then report. The marts were built from what raw held,
    # and raw is as the init left it.
    assert any(line.startswith("Done. PASS=") for line in rerun.stdout.splitlines())
    assert one_line_failure(rerun.stderr) == "fintrade run: symbols failed: JPM"
    assert raw_tables(stored_state(warehouse)) == raw_tables(before)
    client.delete_object(Bucket=warehouse.s3_bucket, Key=key)
    assert_recovers(warehouse, clean_run)
    assert run_fintrade(warehouse, "replay").returncode == 0


def test_fault_lake_object_truncated(warehouse, clean_run):
    _lake_object_damaged(warehouse, clean_run, "truncated", "no PAR1 magic at the end")


def test_fault_lake_object_not_parquet(warehouse, clean_run):
    _lake_object_damaged(warehouse, clean_run, "not_parquet", "no PAR1 magic at the start")


def _vendor_fault(warehouse, clean_run, stub, reply: StubReply, reason: str) -> None:
    stub.set_default("AAPL", reply)
    try:
        result = run_fintrade(warehouse, *RUN)
    finally:
        stub.set_default("AAPL", StubReply(body=data_body("AAPL", standard_bars("AAPL", DAY))))

    assert result.returncode == 1
    assert one_line_failure(result.stderr) == "fintrade run: symbols failed: AAPL"
    assert any(line.startswith("Done. PASS=") for line in result.stdout.splitlines())
    failed = [line for line in result.stdout.splitlines() if line.startswith("AAPL: FAILED")]
    assert len(failed) == 1 and reason in failed[0], result.stdout
    assert lake_keys.json_key("AAPL", DAY) not in lake_keys_of(warehouse)
    assert_recovers(warehouse, clean_run)


def test_fault_vendor_slower_than_timeout(warehouse, clean_run, stub):
    body = data_body("AAPL", standard_bars("AAPL", DAY))
    reply = StubReply(body=body, delay_seconds=warehouse.alpha_vantage_timeout_seconds + 1)
    _vendor_fault(warehouse, clean_run, stub, reply, "gave up after 2 attempts: ReadTimeout")


def test_fault_vendor_closes_mid_body(warehouse, clean_run, stub):
    body = data_body("AAPL", standard_bars("AAPL", DAY))
    _vendor_fault(
        warehouse, clean_run, stub, StubReply(body=body, cut_short=True), "gave up after 2"
    )


def test_fault_vendor_answers_for_other_symbol(warehouse, clean_run, stub):
    body = data_body("MSFT", standard_bars("MSFT", DAY))
    _vendor_fault(
        warehouse, clean_run, stub, StubReply(body=body), "reply is for another symbol ('MSFT')"
    )


def test_fault_two_ingests_at_once(warehouse, clean_run):
    with held_after_copy(warehouse):
        first = start_cli(warehouse, *RUN)
        wait_until(lambda: blocked_backends(warehouse) == 1, "the first load's COPY")
        second = start_cli(warehouse, *RUN)
        wait_until(lambda: blocked_backends(warehouse) == 2, "the second load to wait")
    outcomes = [finish(first), finish(second)]

    assert [returncode for returncode, _, _ in outcomes] == [0, 0], outcomes
    assert_recovers(warehouse, clean_run)


def test_fault_two_dbt_builds_at_once(warehouse, clean_run):
    assert run_fintrade(warehouse, *RUN).returncode == 0
    with held_mid_model(warehouse):
        first = start_cli(warehouse, *RUN)
        wait_until(lambda: blocked_backends(warehouse) == 1, "the first build to reach the model")
        second = start_cli(warehouse, *RUN)
        wait_until(lambda: blocked_backends(warehouse) == 2, "the second build to wait")
    outcomes = [finish(first), finish(second)]

    assert [returncode for returncode, _, _ in outcomes] == [0, 0], outcomes
    assert_recovers(warehouse, clean_run)


@contextmanager
def tmpfs(size: str, *options: str) -> Iterator[Path]:
    mount_point = Path(tempfile.mkdtemp(prefix="fintrade-faults-state-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", mount_point],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", mount_point], check=True)
        mount_point.rmdir()


def _state_folder_fault(warehouse, clean_run, state: Path, reason: str) -> None:
    broken = warehouse.with_overrides(local_state_dir=state / "state")

    result = run_fintrade(broken, *RUN)

    assert result.returncode == 1
    line = one_line_failure(result.stderr)
    assert line.startswith(f"fintrade run: cannot write the role passwords to {state}"), line
    assert line.endswith(reason), line
    nothing_stored = "select count(*) from information_schema.tables where table_schema = 'raw'"
    assert query(warehouse, nothing_stored) == [(0,)]
    assert_recovers(warehouse, clean_run)


def test_fault_state_folder_full(warehouse, clean_run):
    with tmpfs("16k") as state:
        (state / "state").mkdir()
        filler = state / "filler"
        with pytest.raises(OSError), filler.open("wb") as out:
            while True:
                out.write(b"\0" * 4096)
                out.flush()
        _state_folder_fault(warehouse, clean_run, state, "No space left on device")
        assert sorted(p.name for p in (state / "state").iterdir()) == []


def test_fault_state_folder_read_only(warehouse, clean_run):
    with tmpfs("16k", "ro") as state:
        _state_folder_fault(warehouse, clean_run, state, "Read-only file system")


# --- one test per row of the matrix --------------------------------------------------------


def test_every_fault_in_the_matrix_has_its_test_and_back():
    tests = {
        name.removeprefix("test_fault_") for name in globals() if name.startswith("test_fault_")
    }

    assert tests == {fault.id for fault in fault_matrix.FAULTS}
