"""`make airflow` started as a user starts it, and driven through its REST API.

The scheduler, dag-processor and api-server run from the real make target, in a process group
of their own, with a throwaway Airflow home and a free port on 127.0.0.1. Task processes put
themselves in new process groups, so stopping looks for every process that carries this
instance's AIRFLOW_HOME in its environment, not only the group, and kills those by pid.
`tests/integration/test_scheduler.py` uses it, and so does `scripts/bench_scheduler.py`; with
`Executor.CELERY` (`make airflow EXECUTOR=celery`) also `tests/integration/test_celery.py` and
`scripts/bench_scale_scheduler.py`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from tests.support.airflow_client import AirflowApi, AirflowError
from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
# Make's own variables: a `make test` parent's flags (jobserver, command-line overrides) must
# not leak into the `make airflow` this module starts.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


class Executor(StrEnum):
    """`make airflow EXECUTOR=...`: tasks in the scheduler's processes, or in Celery workers."""

    LOCAL = "local"
    CELERY = "celery"


def _own_processes(marker: bytes, pgid: int) -> list[int]:
    """Live processes in `pgid` or with `marker` (AIRFLOW_HOME=...) in their environment."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        state, _ppid, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if state == "Z":
            continue
        if int(group) == pgid or marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


@dataclass
class LocalAirflow:
    """One running `make airflow`, its REST API as `api`; `stopped_cleanly` (nothing of it left
    running) is set once `stop()` has run, and `leftover_pids` names what needed SIGKILL after
    the grace period."""

    home: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    api: AirflowApi = field(init=False)
    stopped_cleanly: bool | None = None
    leftover_pids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api = AirflowApi(f"http://127.0.0.1:{self.port}", check_alive=self._check_alive)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AirflowError(
                f"`make airflow` exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    def wait_until_ready(self, timeout_seconds: float) -> None:
        """Until the api-server answers and reports the scheduler and dag-processor healthy."""
        try:
            self.api.wait_until_healthy(timeout_seconds)
        except AirflowError as error:
            raise AirflowError(f"{error}\n{self.log_tail()}") from None

    def generated_password(self) -> str:
        """The admin password SimpleAuthManager generated into the home at api-server start."""
        return json.loads((self.home / PASSWORDS_FILE).read_text())[ADMIN_USER]

    def log_in(self) -> None:
        self.api.login(ADMIN_USER, self.generated_password())

    def failed_task_logs(self, dag_id: str, run_id: str, lines: int = 15) -> str:
        """The last lines of each failed task's log files, for assertion messages."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        instances = self.api.task_instances(dag_id, run_id)
        parts = []
        for ti in (ti for ti in instances if ti["state"] != "success"):
            parts.append(f"--- {ti['task_id']}[{ti['map_index']}]: {ti['state']}")
            for log in sorted(folder.glob(f"task_id={ti['task_id']}/**/attempt=*.log")):
                parts.extend(log.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(parts)

    def stop(self, grace_seconds: float = 60.0) -> None:
        """SIGTERM the group (make's trap and each Airflow component shut down their children),
        then SIGKILL by pid whatever of this instance outlived the grace period."""
        marker = f"AIRFLOW_HOME={self.home}".encode()
        pgid = self.process.pid
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while (remaining := _own_processes(marker, pgid)) and time.monotonic() < deadline:
            time.sleep(0.5)
        self.leftover_pids = remaining  # what SIGTERM did not stop in time: killed below
        for _ in range(3):
            if not remaining:
                break
            _signal_all(remaining, signal.SIGKILL)
            time.sleep(1)
            remaining = _own_processes(marker, pgid)
        self.stopped_cleanly = not remaining
        if self.process.poll() is None:
            self.process.wait(timeout=10)
        self.api.close()


def airflow_environ(base: Mapping[str, str]) -> dict[str, str]:
    """`base` without Airflow's or make's variables: `make airflow` sets Airflow's own."""
    return {
        key: value
        for key, value in base.items()
        if not key.startswith("AIRFLOW") and key not in MAKE_VARIABLES
    }


@contextmanager
def running_airflow(
    env: Mapping[str, str],
    home: Path,
    venv: Path,
    *,
    executor: Executor = Executor.LOCAL,
    celery_workers: int = 1,
    make_variables: Mapping[str, str] | None = None,
    ready_timeout_seconds: float = 600,
) -> Iterator[LocalAirflow]:
    """`make airflow` with `env` (plus `home` and a free port), ready and logged in; stopped on
    exit whatever happened inside. `celery_workers` counts only with `Executor.CELERY`;
    `make_variables` override the target's own (e.g. AIRFLOW__CORE__PARALLELISM)."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = home / "make-airflow.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "-C",
                str(REPO_ROOT),
                "airflow",
                f"VENV={venv}",
                f"AIRFLOW_HOME={home}",
                f"AIRFLOW_PORT={port}",
                f"EXECUTOR={executor}",
                f"CELERY_WORKERS={celery_workers}",
                *(f"{name}={value}" for name, value in (make_variables or {}).items()),
            ],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    airflow = LocalAirflow(home=home, port=port, process=process, log_path=log_path)
    try:
        airflow.wait_until_ready(ready_timeout_seconds)
        airflow.log_in()
        yield airflow
    finally:
        airflow.stop()
