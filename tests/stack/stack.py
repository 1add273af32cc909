"""One throwaway Compose project: its env file with generated secrets, its ports, its containers.

The env file lives in a private temporary folder and is passed with `--env-file`, so a user's
`.env` is neither read nor overwritten; it is deleted with the folder.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_NAME = "fintrade-stacktest"
ONE_SHOT_SERVICES = ("preflight", "airflow-init")
SECRET_VARIABLES = (
    "AIRFLOW_DB_PASSWORD",
    "WAREHOUSE_DB_PASSWORD",
    "WAREHOUSE_LOADER_PASSWORD",
    "WAREHOUSE_TRANSFORMER_PASSWORD",
    "WAREHOUSE_ANALYST_PASSWORD",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_ADMIN_PASSWORD",
    "LAKE_ACCESS_KEY_ID",
    "LAKE_SECRET_ACCESS_KEY",
)
PORT_VARIABLES = ("AIRFLOW_API_PORT", "WAREHOUSE_PORT", "LAKE_S3_PORT")
# Docker names a volume nobody named (an image's VOLUME without a mount) by 64 hex digits.
ANONYMOUS_VOLUME = re.compile(r"^[0-9a-f]{64}$")


def generated_settings(images: dict[str, str], ports: dict[str, int]) -> dict[str, str]:
    """Every value the compose file requires, freshly generated: hex secrets (safe in URLs)."""
    settings = {name: secrets.token_hex(24) for name in SECRET_VARIABLES}
    settings["AIRFLOW_FERNET_KEY"] = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    settings["AIRFLOW_ADMIN_USER"] = "stacktest"
    settings |= {name: str(port) for name, port in ports.items()}
    settings |= images
    return settings


def write_env_file(path: Path, settings: dict[str, str]) -> None:
    path.touch(mode=0o600)
    path.write_text("".join(f"{name}={value}\n" for name, value in sorted(settings.items())))


@dataclass
class Service:
    name: str
    container: str
    status: str  # running / exited / ...
    health: str | None  # healthy / starting / unhealthy / None (no healthcheck)
    exit_code: int


@dataclass
class Stack:
    """`docker compose` (v2) or `docker-compose` (v1) bound to this project and env file."""

    compose: list[str]
    project_dir: Path
    env_file: Path
    settings: dict[str, str]
    extra_env: dict[str, str]
    anonymous_volumes: set[str] = field(default_factory=set)

    def run(
        self, *args: str, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [
            *self.compose,
            "--project-name",
            PROJECT_NAME,
            "--project-directory",
            str(self.project_dir),
            "--file",
            str(self.project_dir / "docker-compose.yml"),
            "--env-file",
            str(self.env_file),
            *args,
        ]
        result = subprocess.run(
            command,
            cwd=self.project_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **self.extra_env},
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"`compose {' '.join(args)}` failed:\n{result.stderr[-3000:]}")
        return result

    def down(self, volumes: bool) -> None:
        """`down`, and with volumes also the anonymous volumes its containers ever had.

        `preflight` runs in the PostgreSQL image without a data mount, so the image's VOLUME gets
        an anonymous volume; a plain `down` leaves it behind, and `down --volumes` only removes
        those of the containers it removes at that moment.
        """
        self.anonymous_volumes |= self._anonymous_volumes()
        args = ["down", "--remove-orphans", *(["--volumes"] if volumes else [])]
        self.run(*args, check=False)
        if volumes:
            for volume in sorted(self.anonymous_volumes):
                subprocess.run(["docker", "volume", "rm", volume], capture_output=True)

    def _anonymous_volumes(self) -> set[str]:
        states = self._inspect()
        return {
            mount["Name"]
            for state in states
            for mount in state.get("Mounts", [])
            if mount.get("Type") == "volume" and ANONYMOUS_VOLUME.match(mount.get("Name", ""))
        }

    def _inspect(self) -> list[dict]:
        ids = subprocess.run(
            [
                "docker",
                "ps",
                "--all",
                "--quiet",
                "--filter",
                f"label=com.docker.compose.project={PROJECT_NAME}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if not ids:
            return []
        return json.loads(
            subprocess.run(
                ["docker", "inspect", *ids], capture_output=True, text=True, check=True
            ).stdout
        )

    def services(self) -> list[Service]:
        """Every container of this project, from the engine (works the same for v1 and v2)."""
        states = self._inspect()
        return [
            Service(
                name=state["Config"]["Labels"]["com.docker.compose.service"],
                container=state["Name"].lstrip("/"),
                status=state["State"]["Status"],
                health=(state["State"].get("Health") or {}).get("Status"),
                exit_code=state["State"]["ExitCode"],
            )
            for state in states
        ]

    def wait_healthy(self, expected: set[str], timeout: float) -> list[Service]:
        """Until every long-running service is healthy and every one-shot service exited 0."""
        deadline = time.monotonic() + timeout
        while True:
            services = self.services()
            problems = not_ready(services, expected)
            failed = [p for p in problems if p.startswith("failed:")]
            if failed:
                raise RuntimeError("; ".join(failed))
            if not problems:
                return services
            if time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout:.0f} s: {'; '.join(problems)}")
            time.sleep(5)


def not_ready(services: list[Service], expected: set[str]) -> list[str]:
    """What still keeps the stack from being up; entries starting 'failed:' will not get better."""
    problems = []
    by_name = {service.name: service for service in services}
    for name in sorted(expected - set(by_name)):
        problems.append(f"{name}: no container")
    for service in by_name.values():
        if service.name in ONE_SHOT_SERVICES:
            if service.status == "exited" and service.exit_code != 0:
                problems.append(f"failed: {service.name} exited {service.exit_code}")
            elif service.status != "exited":
                problems.append(f"{service.name}: {service.status}")
        elif service.health == "unhealthy":
            problems.append(f"failed: {service.name} unhealthy")
        elif service.status == "exited":
            problems.append(f"failed: {service.name} exited {service.exit_code}")
        elif service.health != "healthy":
            problems.append(f"{service.name}: {service.health or service.status}")
    return problems
