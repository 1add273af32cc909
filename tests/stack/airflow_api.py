"""The few calls of Airflow 3's REST API a user makes: log in, unpause, trigger, clear, watch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import requests

FINISHED = frozenset({"success", "failed"})


class RunFailed(RuntimeError):
    """A DAG run ended in a state other than success; the message names its failed tasks."""


@dataclass(frozen=True)
class TaskTiming:
    task: str
    state: str
    tries: int
    seconds: float


@dataclass
class AirflowApi:
    base_url: str
    token: str = ""

    def login(self, username: str, password: str) -> None:
        """SimpleAuthManager's token endpoint: a JWT for the configured admin."""
        response = requests.post(
            f"{self.base_url}/auth/token",
            json={"username": username, "password": password},
            timeout=30,
        )
        if response.status_code not in (200, 201):
            raise RuntimeError(f"login as {username} refused: HTTP {response.status_code}")
        self.token = response.json()["access_token"]

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method,
            f"{self.base_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
            **kwargs,
        )
        if not response.ok:
            raise RuntimeError(
                f"{method} {path}: HTTP {response.status_code} {response.text[:300]}"
            )
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float) -> dict[str, Any]:
        """The DAG once the dag-processor has parsed it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._call("GET", f"/dags/{dag_id}")
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(5)

    def import_errors(self) -> list[str]:
        errors = self._call("GET", "/importErrors")["import_errors"]
        return [f"{error['filename']}: {error['stack_trace'][-300:]}" for error in errors]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def trigger(self, dag_id: str, logical_date: date, run_id: str) -> dict[str, Any]:
        body = {"dag_run_id": run_id, "logical_date": f"{logical_date.isoformat()}T00:00:00Z"}
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json=body)

    def clear(self, dag_id: str, run_id: str) -> None:
        """Re-run every task of an existing run, as the UI's 'Clear' does."""
        self._call("POST", f"/dags/{dag_id}/dagRuns/{run_id}/clear", json={"dry_run": False})

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in FINISHED:
                break
            if time.monotonic() > deadline:
                raise RunFailed(f"{run_id} still {run['state']} after {timeout:.0f} s")
            time.sleep(5)
        if run["state"] != "success":
            failed = [t.task for t in self.task_timings(dag_id, run_id) if t.state != "success"]
            raise RunFailed(f"{run_id} ended {run['state']}; tasks not successful: {failed}")
        return run

    def task_timings(self, dag_id: str, run_id: str) -> list[TaskTiming]:
        instances = self._call(
            "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100}
        )["task_instances"]
        return [
            TaskTiming(
                task=instance["task_id"]
                + (f"[{instance['map_index']}]" if instance.get("map_index", -1) >= 0 else ""),
                state=instance["state"] or "none",
                tries=instance["try_number"],
                seconds=instance.get("duration") or 0.0,
            )
            for instance in instances
        ]


def run_seconds(run: dict[str, Any]) -> float:
    """Wall time of a finished run, from its start to its end."""
    start = datetime.fromisoformat(run["start_date"])
    end = datetime.fromisoformat(run["end_date"])
    return (end - start).total_seconds()
