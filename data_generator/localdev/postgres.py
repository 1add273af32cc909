"""A project-local PostgreSQL for a machine without Docker, only when none answers.

The project never touches a server the user points at: a local cluster starts only when nothing
answers at the `PG*` settings. It listens on 127.0.0.1, keeps its data under the git-ignored
state folder, and is stopped by the pid in its postmaster.pid.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from data_generator.localdev.postgres_binaries import (
    EMBEDDED_PACKAGE,
    PostgresBinaries,
    ServerKind,
    find_binaries,
)
from data_generator.localdev.processes import (
    ServiceError,
    pid_alive,
    port_open,
    stop_pid,
    wait_until,
)
from data_generator.settings import PostgresServer, Settings


def server_version(settings: Settings) -> str | None:
    """'16.14' when a PostgreSQL server accepts our user at the configured host and port."""
    try:
        conn = psycopg2.connect(
            host=settings.pg_host,
            port=settings.pg_port,
            user=settings.pg_user,
            password=settings.pg_password,
            dbname="postgres",
            connect_timeout=3,
        )
    except psycopg2.OperationalError:
        return None
    try:
        number = conn.server_version  # e.g. 160014 for 16.14
    finally:
        conn.close()
    return f"{number // 10000}.{number % 10000}"


def postgres_answers(settings: Settings) -> bool:
    """True when a PostgreSQL server accepts our user at the configured host and port."""
    return server_version(settings) is not None


def postgres_binaries(settings: Settings) -> PostgresBinaries:
    binaries = find_binaries(settings.postgres_server)
    if binaries is not None:
        return binaries
    if settings.postgres_server == PostgresServer.SYSTEM:
        raise ServiceError(
            "no PostgreSQL server binaries on this machine (FINTRADE_POSTGRES_SERVER=system): "
            "install postgresql, set FINTRADE_POSTGRES_SERVER=auto, or point PGHOST at a server"
        )
    raise ServiceError(
        f"the embedded PostgreSQL ({EMBEDDED_PACKAGE}) is not installed: it is in the "
        "'localdev' dependency group ('make setup', or 'uv sync --group localdev')"
    )


def as_postgres_user() -> list[str]:
    """initdb and postgres refuse to run as root, so root runs them as the `postgres` user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceError("running as root needs a 'postgres' system user for initdb") from None
    return ["runuser", "-u", "postgres", "--"]


def postgres_dir(settings: Settings, kind: ServerKind = ServerKind.SYSTEM) -> Path:
    """One cluster folder per kind: a data folder opens only with binaries of its own major."""
    folder = "postgres" if kind is ServerKind.SYSTEM else f"postgres-{kind}"
    return settings.local_state_dir / folder


def _run_pg_tool(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ServiceError(f"{what} failed: {lines[-1] if lines else f'exit {result.returncode}'}")


def _check_reachable(runas: list[str], root: Path, binaries: PostgresBinaries) -> None:
    """As root the server runs as `postgres`, which must reach both the binaries and the data."""
    if not runas:
        return
    check = [*runas, "test", "-x", str(binaries.tool("initdb")), "-a", "-w", str(root)]
    if subprocess.run(check, capture_output=True, check=False).returncode != 0:
        raise ServiceError(
            f"the 'postgres' user cannot use {binaries.bin_dir} or write {root}: put the project "
            "in a folder every user can read, or run as a normal user"
        )


def ensure_postgres(settings: Settings) -> bool:
    """Start a project-local cluster at the configured port when nothing answers there; True
    when this call started it. A server that answers always wins; else the machine's binaries,
    else the wheel's (FINTRADE_POSTGRES_SERVER narrows that to one kind)."""
    if postgres_answers(settings):
        return False
    if settings.pg_host not in ("127.0.0.1", "localhost"):
        raise ServiceError(f"no PostgreSQL answers at {settings.pg_host}:{settings.pg_port}")
    if port_open("127.0.0.1", settings.pg_port):
        raise ServiceError(
            f"port {settings.pg_port} is taken by something that does not accept PGUSER="
            f"{settings.pg_user}; set PGPORT to a free port or fix the credentials"
        )
    binaries = postgres_binaries(settings)
    root = postgres_dir(settings, binaries.kind)
    data_dir = root / "data"
    runas = as_postgres_user()
    root.mkdir(parents=True, exist_ok=True)
    if runas:
        shutil.chown(root, user="postgres", group="postgres")
    _check_reachable(runas, root, binaries)
    version_file = data_dir / "PG_VERSION"
    if version_file.exists() and version_file.read_text().strip() != binaries.major_version:
        raise ServiceError(
            f"{data_dir} holds a PostgreSQL {version_file.read_text().strip()} cluster but "
            f"{binaries.kind.origin} are PostgreSQL {binaries.major_version}: move that folder "
            "away or set FINTRADE_POSTGRES_SERVER"
        )
    if not version_file.exists():
        _run_pg_tool(
            [
                *runas,
                str(binaries.tool("initdb")),
                "-D",
                str(data_dir),
                "-U",
                settings.pg_user,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            f"initdb ({binaries.kind.origin})",
        )
    log_file = root / "server.log"
    _run_pg_tool(
        [
            *runas,
            str(binaries.tool("pg_ctl")),
            "-D",
            str(data_dir),
            "-l",
            str(log_file),
            "-o",
            f"-p {settings.pg_port} -c listen_addresses=127.0.0.1 -k {root}",
            "-w",
            "start",
        ],
        f"starting PostgreSQL from {binaries.kind.origin} (see {log_file})",
    )
    wait_until(lambda: postgres_answers(settings), "local PostgreSQL")
    return True


@dataclass(frozen=True)
class LocalPostgres:
    """A project-local cluster that runs: which binaries, its postmaster's pid and port."""

    kind: ServerKind
    pid: int
    port: int


def _local_postgres(settings: Settings) -> LocalPostgres | None:
    for kind in ServerKind:
        pid_file = postgres_dir(settings, kind) / "data" / "postmaster.pid"
        if not pid_file.exists():
            continue
        # postmaster.pid: pid, data folder, start time, port, ...
        lines = pid_file.read_text().splitlines()
        if pid_alive(int(lines[0])):
            return LocalPostgres(kind, int(lines[0]), int(lines[3]))
    return None


def stop_postgres(settings: Settings) -> int | None:
    """Stop the project-local cluster if it runs; its pid, or None when there was none."""
    local = _local_postgres(settings)
    if local is None:
        return None
    # SIGINT is PostgreSQL's fast shutdown: SIGTERM would wait for every client to disconnect.
    stop_pid(local.pid, "local PostgreSQL", signal.SIGINT)
    return local.pid


def _postgres_detail(version: str | None, local: LocalPostgres | None, port: int) -> str:
    """Which server answers: one the project started (and from which binaries) or the user's."""
    if version is None:
        return "not running: run 'fintrade services up'"
    if local is None or local.port != port:
        return f"PostgreSQL {version}, a server the project did not start"
    return f"PostgreSQL {version}, project-local from {local.kind.origin}, pid {local.pid}"


def postgres_status(settings: Settings) -> tuple[bool, str]:
    """Whether the warehouse answers, and a line with its psql command and which server it is."""
    psql = (
        f"psql -h {settings.pg_host} -p {settings.pg_port} -U {settings.pg_user} "
        f"-d {settings.pg_database}"
    )
    version = server_version(settings)
    detail = _postgres_detail(version, _local_postgres(settings), settings.pg_port)
    return version is not None, f"{psql}  ({detail})"
