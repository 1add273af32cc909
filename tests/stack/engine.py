"""A Docker engine and a Compose command to talk to it.

An engine that already answers is used as it is and left running. When none answers and this
process runs as root on a Debian-like machine, Debian's `docker.io` is installed if needed and
`dockerd` started; only that dockerd, known by its pid, is stopped again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class EngineUnavailable(RuntimeError):
    """No Docker engine answers and none can be started here; the message says why."""


def engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode == 0 and bool(result.stdout.strip())


def apt_install(*packages: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages], check=True, env=env, capture_output=True
    )


def why_no_engine_can_start() -> str | None:
    """None when `start_engine` may try; otherwise the reason it would not."""
    if os.geteuid() != 0:
        return "no Docker engine answers and this is not root, so none can be started"
    if shutil.which("dockerd") is None and shutil.which("apt-get") is None:
        return "no Docker engine answers, no dockerd is installed and there is no apt-get"
    return None


@dataclass
class StartedEngine:
    """A dockerd this process started: stopped by its pid, never by name."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 60) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_engine(state_dir: Path, timeout: float = 90) -> StartedEngine:
    reason = why_no_engine_can_start()
    if reason:
        raise EngineUnavailable(reason)
    if shutil.which("dockerd") is None:
        apt_install("docker.io")
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "dockerd.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            ["dockerd", "--host", "unix:///var/run/docker.sock"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    engine = StartedEngine(process, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineUnavailable(f"dockerd exited with {process.returncode}; see {log_path}")
        if engine_answers():
            return engine
        time.sleep(1)
    engine.stop()
    raise EngineUnavailable(f"dockerd did not answer within {timeout:.0f} s; see {log_path}")


def compose_command() -> list[str]:
    """`docker compose` (v2) if present, else `docker-compose` (v1), installed if need be."""
    v2 = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if v2.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        apt_install("docker-compose")
    if shutil.which("docker-compose") is None:
        raise EngineUnavailable("neither `docker compose` nor `docker-compose` is installed")
    return ["docker-compose"]


def is_compose_v1(command: list[str]) -> bool:
    return command == ["docker-compose"]
