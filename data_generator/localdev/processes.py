"""Process plumbing the local servers share: ports, pids, waiting, stopping by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable

from data_generator.errors import FintradeError

STARTUP_TIMEOUT_SECONDS = 60.0


class ServiceError(FintradeError):
    """A local server could not be started or reached."""


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_until(
    check: Callable[[], bool], what: str, timeout: float = STARTUP_TIMEOUT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise ServiceError(f"{what} did not come up within {timeout:.0f} s")


def stop_pid(pid: int, what: str, signal_number: int = signal.SIGTERM) -> None:
    if not pid_alive(pid):
        return
    os.kill(pid, signal_number)
    deadline = time.monotonic() + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if we are its parent
    if pid_alive(pid):
        raise ServiceError(f"{what} (pid {pid}) did not stop")
