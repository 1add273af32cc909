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
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "fintrade_pipeline"
ADMIN_USER = "admin"
PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
FINISHED_RUN_STATES = frozenset({"success", "failed"})
# Make's own variables: a `make test` parent's flags (jobserver, command-line overrides) must
# not leak into the `make airflow` this module starts.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
POLL_SECONDS = 2.0
# One reply may be slow: the api-server also serves every task's Execution API calls, on SQLite,
# and on a loaded 2-core machine it has taken over 30 s. Polls retry such a reply.
REQUEST_TIMEOUT_SECONDS = 60
TRANSIENT = (requests.ConnectionError, requests.Timeout)


class Executor(StrEnum):
    """`make airflow EXECUTOR=...`: tasks in the scheduler's processes, or in Celery workers."""

    LOCAL = "local"
    CELERY = "celery"


class AirflowError(RuntimeError):
    """The instance died, timed out or answered unexpectedly; the message says which."""


def free_port() -> int:
    """A port the kernel has just handed out on 127.0.0.1 (never 8080, it is not ephemeral)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


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
    """One running `make airflow`; `stopped_cleanly` (nothing of it left running) is set once
    `stop()` has run, and `leftover_pids` names what needed SIGKILL after the grace period."""

    home: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    session: requests.Session = field(default_factory=requests.Session)
    stopped_cleanly: bool | None = None
    leftover_pids: list[int] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AirflowError(
                f"`make airflow` exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    # --- REST API ------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        reply = self.session.request(
            method, self.base_url + path, json=body, timeout=REQUEST_TIMEOUT_SECONDS
        )
        if reply.status_code >= 400:
            raise AirflowError(f"{method} {path}: HTTP {reply.status_code} {reply.text[:500]}")
        return reply.json() if reply.content else None

    def wait_until_ready(self, timeout_seconds: float) -> None:
        """Until the api-server answers and reports the scheduler and dag-processor healthy."""
        deadline = time.monotonic() + timeout_seconds
        health: Any = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                health = self.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
                components = health.json()
                if all(
                    (components.get(name) or {}).get("status") == "healthy"
                    for name in ("metadatabase", "scheduler", "dag_processor")
                ):
                    return
            except (*TRANSIENT, ValueError):
                pass
            time.sleep(POLL_SECONDS)
        raise AirflowError(
            f"not healthy after {timeout_seconds:.0f} s: {health}\n{self.log_tail()}"
        )

    def generated_password(self) -> str:
        """The admin password SimpleAuthManager generated into the home at api-server start."""
        return json.loads((self.home / PASSWORDS_FILE).read_text())[ADMIN_USER]

    def log_in(self) -> None:
        """POST /auth/token with the generated password; later requests carry the token."""
        token = self.request(
            "POST", "/auth/token", {"username": ADMIN_USER, "password": self.generated_password()}
        )["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def wait_for_dag(self, dag_id: str, timeout_seconds: float) -> None:
        """Until the dag-processor has registered `dag_id`; an import error fails at once."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                errors = self.request("GET", "/api/v2/importErrors")["import_errors"]
                dags = self.request("GET", f"/api/v2/dags?dag_id_pattern={dag_id}")["dags"]
            except TRANSIENT:
                continue
            if errors:
                raise AirflowError(f"DAG import errors: {errors}")
            if any(dag["dag_id"] == dag_id for dag in dags):
                return
            time.sleep(POLL_SECONDS)
        raise AirflowError(f"{dag_id} not registered after {timeout_seconds:.0f} s")

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, run_id: str, logical_date: date) -> None:
        self.request(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            {"dag_run_id": run_id, "logical_date": f"{logical_date.isoformat()}T00:00:00Z"},
        )

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.request(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100"
        )["task_instances"]

    def wait_for_runs(
        self, dag_id: str, run_ids: list[str], timeout_seconds: float
    ) -> dict[str, dict[str, Any]]:
        """Each run once it has finished (success or failed), or AirflowError at the deadline."""
        deadline = time.monotonic() + timeout_seconds
        runs: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                runs = {run_id: self.dag_run(dag_id, run_id) for run_id in run_ids}
            except TRANSIENT:
                continue
            if all(run["state"] in FINISHED_RUN_STATES for run in runs.values()):
                return runs
            time.sleep(POLL_SECONDS)
        states = {run_id: run["state"] for run_id, run in runs.items()}
        raise AirflowError(f"runs not finished after {timeout_seconds:.0f} s: {states}")

    def failed_task_logs(self, dag_id: str, run_id: str, lines: int = 15) -> str:
        """The last lines of each failed task's log files, for assertion messages."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        failed = [ti for ti in self.task_instances(dag_id, run_id) if ti["state"] != "success"]
        parts = []
        for ti in failed:
            parts.append(f"--- {ti['task_id']}[{ti['map_index']}]: {ti['state']}")
            for log in sorted(folder.glob(f"task_id={ti['task_id']}/**/attempt=*.log")):
                parts.extend(log.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(parts)

    # --- stopping ------------------------------------------------------------------------------

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
        self.session.close()


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


def run_seconds(run: Mapping[str, Any]) -> float:
    """Wall time of a finished DAG run, from its start to its end."""
    return (parse_time(run["end_date"]) - parse_time(run["start_date"])).total_seconds()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
