"""The Redis that carries Celery's task messages for `make airflow EXECUTOR=celery`.

The Redis named by FINTRADE_REDIS_URL wins whenever it answers: the project never starts a second
one beside a server the user runs. Only when nothing answers there, and the machine has
`redis-server`, does it start a project-local one on 127.0.0.1 (the configured port when free,
else one the kernel hands out), with nothing kept on disk but its log, under the state folder.
It is stopped by the pid recorded at start: by the `make airflow` that started it when that make
stops, or by `fintrade services down`.

    python -m data_generator.localdev.redis_server up [--owner PID]    # prints the broker URL
    python -m data_generator.localdev.redis_server down [--owner PID]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

from data_generator.localdev.processes import (
    ServiceError,
    pid_alive,
    port_open,
    stop_pid,
    wait_until,
)
from data_generator.settings import ConfigError, Settings, load_settings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
PING_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class LocalRedis:
    """A project-local redis-server: its pid, port, and the pid of the process that asked for
    it (`make airflow`'s shell), so that process stops only the server it started."""

    pid: int
    port: int
    owner: int | None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def redis_answers(url: str) -> bool:
    """True when a Redis at `url` answers PING (with the URL's credentials, if any)."""
    client = redis.Redis.from_url(
        url, socket_timeout=PING_TIMEOUT_SECONDS, socket_connect_timeout=PING_TIMEOUT_SECONDS
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def redacted(url: str) -> str:
    """`url` without its password, for messages and status lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _database(url: str) -> int:
    """The URL's database number (the settings module checked it is one)."""
    return int(urlsplit(url).path.strip("/") or 0)


def _redis_dir(settings: Settings) -> Path:
    return settings.local_state_dir / "redis"


def _state_file(settings: Settings) -> Path:
    return _redis_dir(settings) / "state.json"


def local_redis(settings: Settings) -> LocalRedis | None:
    """The project-local Redis recorded in the state folder, if it still runs."""
    state_file = _state_file(settings)
    if not state_file.exists():
        return None
    state = json.loads(state_file.read_text())
    found = LocalRedis(state["pid"], state["port"], state.get("owner"))
    if pid_alive(found.pid) and port_open("127.0.0.1", found.port):
        return found
    return None


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise ServiceError(
            "redis-server is not installed: install it (Debian: apt-get install redis-server) "
            "or point FINTRADE_REDIS_URL at a Redis that answers"
        )
    return found


def _free_port(preferred: int) -> int:
    if not port_open("127.0.0.1", preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(folder: Path, port: int) -> int:
    """Start redis-server on 127.0.0.1:`port`, keeping nothing on disk; its pid once it answers.
    A Celery broker's queue lives only as long as the run that fills it."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        _redis_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(folder),
        "--save",
        "",
        "--appendonly",
        "no",
        "--logfile",
        str(folder / "server.log"),
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: redis_answers(f"redis://127.0.0.1:{port}/0"), "local Redis")
    except ServiceError:
        process.kill()
        raise
    return process.pid


def ensure_redis(settings: Settings, owner: int | None = None) -> str:
    """The broker URL to use: FINTRADE_REDIS_URL when it answers, else the project-local Redis,
    started now when none runs (recording `owner`, the process that may stop it)."""
    if redis_answers(settings.redis_url):
        return settings.redis_url
    db = _database(settings.redis_url)
    running = local_redis(settings)
    if running is not None:
        return running.url(db)
    parts = urlsplit(settings.redis_url)
    if parts.hostname not in LOOPBACK_HOSTS:
        raise ServiceError(f"no Redis answers at {redacted(settings.redis_url)}")
    if parts.password is not None:
        raise ServiceError(
            f"no Redis answers at {redacted(settings.redis_url)}; the project starts a local "
            "Redis only for a URL without a password"
        )
    port = _free_port(parts.port or 6379)
    pid = start_redis(_redis_dir(settings), port)
    started = LocalRedis(pid, port, owner)
    _state_file(settings).write_text(
        json.dumps({"pid": started.pid, "port": started.port, "owner": started.owner})
    )
    return started.url(db)


def stop_redis(settings: Settings, owner: int | None = None) -> int | None:
    """Stop the project-local Redis (only the one `owner` started, when given); its pid, or
    None when there was nothing of ours to stop."""
    running = local_redis(settings)
    if running is None or (owner is not None and running.owner != owner):
        return None
    stop_pid(running.pid, "local Redis")
    _state_file(settings).unlink(missing_ok=True)
    return running.pid


def redis_status(settings: Settings) -> tuple[bool, str]:
    """Which Redis a Celery run would use, for `fintrade services status`."""
    if redis_answers(settings.redis_url):
        return True, redacted(settings.redis_url)
    running = local_redis(settings)
    if running is not None:
        url = running.url(_database(settings.redis_url))
        return True, f"{url}  (project-local, pid {running.pid})"
    return False, f"{redacted(settings.redis_url)}: not answering (needed for Celery only)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--owner", type=int, help="pid of the process the server belongs to")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if args.action == "up":
            print(ensure_redis(settings, args.owner))
        else:
            stopped = stop_redis(settings, args.owner)
            if stopped is not None:
                print(f"stopped: local Redis (pid {stopped})", file=sys.stderr)
    except (ConfigError, ServiceError) as error:
        raise SystemExit(f"redis: {error}") from None


if __name__ == "__main__":
    main()
