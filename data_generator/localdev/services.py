"""`fintrade services up|down|status`: the local PostgreSQL and S3 servers (and Celery's Redis).

Servers the user runs are never touched: only what this project started is stopped.
"""

from __future__ import annotations

from dataclasses import dataclass

from data_generator.localdev import postgres, redis_server, seaweedfs
from data_generator.settings import Settings, load_settings


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    detail: str


def services_up(settings: Settings) -> Settings:
    postgres.ensure_postgres(settings)
    return seaweedfs.ensure_s3(settings)


def services_down(settings: Settings) -> list[str]:
    """Stop what this project started (by pid); servers the user runs are left alone."""
    stopped = []
    s3_pid = seaweedfs.stop_s3(settings)
    if s3_pid is not None:
        stopped.append(f"SeaweedFS (pid {s3_pid})")
    redis_pid = redis_server.stop_redis(settings)
    if redis_pid is not None:
        stopped.append(f"Redis (pid {redis_pid})")
    pg_pid = postgres.stop_postgres(settings)
    if pg_pid is not None:
        stopped.append(f"PostgreSQL (pid {pg_pid})")
    return stopped


def services_status(settings: Settings) -> list[ServiceStatus]:
    return [
        ServiceStatus("postgres", *postgres.postgres_status(settings)),
        ServiceStatus("s3", *seaweedfs.s3_status(settings)),
        ServiceStatus("redis", *redis_server.redis_status(settings)),
    ]


def load_run_settings() -> Settings:
    """Settings from the environment, pointed at the local S3 server when the user set none."""
    return seaweedfs.local_s3_settings(load_settings())
