"""How tests, benchmarks and the stack driver ask Airflow what it did: the few calls of its REST
API (v2) a user makes, and, for `airflow dags test` runs that have no server, its CLI.

One client serves `make airflow` (tests/support/local_airflow.py), the Compose stack
(tests/stack/) and the scripts, so logging in, polling and reading task states exist once.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import requests

DAG_ID = "fintrade_pipeline"
REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO_ROOT / "airflow" / "dags"
PLUGINS_FOLDER = REPO_ROOT / "airflow" / "plugins"
FINISHED_RUN_STATES = frozenset({"success", "failed"})
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "dag_processor")
# One reply may be slow: the api-server also serves every task's Execution API calls, on SQLite,
# and on a loaded 2-core machine it has taken over 30 s. Polls retry such a reply.
REQUEST_TIMEOUT_SECONDS = 60
TRANSIENT = (requests.ConnectionError, requests.Timeout)


class AirflowError(RuntimeError):
    """Airflow refused, timed out or answered unexpectedly; the message says which."""


def _nothing_to_check() -> None:
    """The default liveness check: a server this process did not start is not watched."""


@dataclass
class AirflowApi:
    """The REST API at `base_url`. `check_alive` runs before each poll and raises when the server
    is known to be gone (a `make airflow` that exited), so a wait fails at once, not at its
    deadline."""

    base_url: str
    poll_seconds: float = 2.0
    check_alive: Callable[[], None] = _nothing_to_check
    session: requests.Session = field(default_factory=requests.Session)

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        reply = self.session.request(
            method,
            self.base_url + path,
            json=body,
            params=params,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        if reply.status_code >= 400:
            raise AirflowError(f"{method} {path}: HTTP {reply.status_code} {reply.text[:500]}")
        return reply.json() if reply.content else None

    def login(self, username: str, password: str) -> None:
        """SimpleAuthManager's token endpoint; later requests carry the token."""
        token = self.request("POST", "/auth/token", {"username": username, "password": password})
        self.session.headers["Authorization"] = f"Bearer {token['access_token']}"

    def close(self) -> None:
        self.session.close()

    def _poll(self, deadline: float) -> bool:
        """Sleep before the next poll; False once the deadline has passed."""
        if time.monotonic() >= deadline:
            return False
        time.sleep(self.poll_seconds)
        return True

    def wait_until_healthy(self, timeout_seconds: float) -> None:
        """Until the api-server answers and reports its metadatabase, scheduler and dag-processor
        healthy."""
        deadline = time.monotonic() + timeout_seconds
        health: Any = None
        while True:
            self.check_alive()
            try:
                health = self.request("GET", "/api/v2/monitor/health")
                if all(
                    (health.get(name) or {}).get("status") == "healthy"
                    for name in HEALTHY_COMPONENTS
                ):
                    return
            except (*TRANSIENT, AirflowError, ValueError):
                pass
            if not self._poll(deadline):
                raise AirflowError(f"not healthy after {timeout_seconds:.0f} s: {health}")

    def import_errors(self) -> list[str]:
        errors = self.request("GET", "/api/v2/importErrors")["import_errors"]
        return [f"{error['filename']}: {error['stack_trace'][-300:]}" for error in errors]

    def wait_for_dag(self, dag_id: str, timeout_seconds: float) -> None:
        """Until the dag-processor has registered `dag_id`; an import error fails at once."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            self.check_alive()
            try:
                errors = self.import_errors()
                dags = self.request("GET", "/api/v2/dags", params={"dag_id_pattern": dag_id})
            except TRANSIENT:
                errors, dags = [], {"dags": []}
            if errors:
                raise AirflowError(f"DAG import errors: {errors}")
            if any(dag["dag_id"] == dag_id for dag in dags["dags"]):
                return
            if not self._poll(deadline):
                raise AirflowError(f"{dag_id} not registered after {timeout_seconds:.0f} s")

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    def trigger(self, dag_id: str, run_id: str, logical_date: date) -> dict[str, Any]:
        return self.request(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            {"dag_run_id": run_id, "logical_date": f"{logical_date.isoformat()}T00:00:00Z"},
        )

    def clear(self, dag_id: str, run_id: str) -> None:
        """Re-run every task of an existing run, as the UI's 'Clear' does."""
        self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/clear", {"dry_run": False})

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100})[
            "dag_runs"
        ]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.request(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
            params={"limit": 100},
        )["task_instances"]

    def wait_for_runs(
        self, dag_id: str, run_ids: list[str], timeout_seconds: float
    ) -> dict[str, dict[str, Any]]:
        """Each run once it has finished (success or failed), or AirflowError at the deadline."""
        deadline = time.monotonic() + timeout_seconds
        runs: dict[str, dict[str, Any]] = {}
        while True:
            self.check_alive()
            with suppress(*TRANSIENT):
                runs = {run_id: self.dag_run(dag_id, run_id) for run_id in run_ids}
            if runs and all(run["state"] in FINISHED_RUN_STATES for run in runs.values()):
                return runs
            if not self._poll(deadline):
                states = {run_id: run["state"] for run_id, run in runs.items()}
                raise AirflowError(f"runs not finished after {timeout_seconds:.0f} s: {states}")


def task_key(task_id: str, map_index: int | None) -> str:
    """`task` for a task that is not mapped, `task[i]` for a mapped one's instance i."""
    return f"{task_id}[{map_index}]" if map_index is not None and map_index >= 0 else task_id


@dataclass(frozen=True)
class TaskTiming:
    task: str  # as `task_key` names it
    state: str
    tries: int
    seconds: float


def task_timings(instances: list[dict[str, Any]]) -> list[TaskTiming]:
    """What each task instance of a run (as the REST API lists them) took."""
    return [
        TaskTiming(
            task=task_key(instance["task_id"], instance.get("map_index")),
            state=instance["state"] or "none",
            tries=instance["try_number"],
            seconds=instance.get("duration") or 0.0,
        )
        for instance in instances
    ]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def run_seconds(run: Mapping[str, Any]) -> float:
    """Wall time of a finished DAG run, from its start to its end."""
    return (parse_time(run["end_date"]) - parse_time(run["start_date"])).total_seconds()


def dags_test_environ(base: Mapping[str, str], home: Path, bin_dir: Path) -> dict[str, str]:
    """The environment of `airflow dags test`: `base` with Airflow's own variables replaced by
    `home` (its SQLite metadata), the project's DAGs and plugins (the timetable), and `bin_dir`
    first on PATH so tasks find that venv's dbt."""
    env = {key: value for key, value in base.items() if not key.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PATH": f"{bin_dir}{os.pathsep}{base.get('PATH', '')}",
        }
    )
    return env


def dags_test(
    airflow: Path, env: Mapping[str, str], logical_date: date, timeout_seconds: float | None = None
) -> subprocess.CompletedProcess[str]:
    """`airflow dags test` of the project's DAG for one logical date, every task in-process."""
    return subprocess.run(
        [str(airflow), "dags", "test", DAG_ID, logical_date.isoformat()],
        env=dict(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
    )


def error_lines(run: subprocess.CompletedProcess[str], limit: int = 4000) -> str:
    """The lines of a DAG run's output that say why a task failed (the last `limit` characters)."""
    return "\n".join(line for line in (run.stdout + run.stderr).splitlines() if "Error" in line)[
        -limit:
    ]


def cli_task_instances(
    airflow: Path, env: Mapping[str, str], dag_id: str, logical_date: date
) -> list[dict[str, Any]]:
    """`airflow tasks states-for-dag-run` of the run for `logical_date`, as rows: how tests and
    benchmarks read a run that `airflow dags test` made, with no api-server to ask. Each row's
    `map_index` is a number as in the REST API's rows (-1 for a task that is not mapped); the CLI
    prints it as text, empty when not mapped."""
    listed = subprocess.run(
        [
            str(airflow),
            "tasks",
            "states-for-dag-run",
            dag_id,
            f"{logical_date.isoformat()}T00:00:00+00:00",
            "--output",
            "json",
        ],
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    rows = json.loads(listed.stdout[listed.stdout.index("[") :])  # after any log lines
    return [{**row, "map_index": int(row.get("map_index") or -1)} for row in rows]
