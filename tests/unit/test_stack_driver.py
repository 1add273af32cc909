"""The pure logic of `make stack-test` (tests/stack/): no Docker engine needed here.

The driver itself runs only under `make stack-test`; these tests cover what it decides before
and around the engine: image names, build-cache keys, dates, settings, readiness, checksums.
"""

from __future__ import annotations

import base64
import stat
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet
from dotenv import dotenv_values

from tests.stack import images, plan, stack
from tests.stack.stack import Service
from tests.support.airflow_client import TaskTiming, run_seconds, task_timings
from tests.support.ports import RESERVED_PORTS, free_port
from tests.support.warehouse import Checksum, changed_tables

OFFICIAL = {
    "POSTGRES_IMAGE": "postgres:15.20",
    "SEAWEEDFS_IMAGE": "chrislusf/seaweedfs:4.48",
    "REDIS_IMAGE": "redis:7.0.15",
    "AIRFLOW_BASE_IMAGE": "apache/airflow:3.3.2-python3.11",
    "UV_IMAGE": "ghcr.io/astral-sh/uv:0.13.9",
}


def test_image_defaults_are_read_from_the_compose_file():
    defaults = images.image_defaults(images.COMPOSE_FILE.read_text())
    assert {name: defaults[name] for name in images.REPLACEABLE} == OFFICIAL
    assert defaults["AIRFLOW_IMAGE"] == "fintrade-dw-airflow:0.1.0"


def test_image_defaults_refuse_two_defaults_for_one_variable():
    text = "image: ${POSTGRES_IMAGE:-postgres:15.20}\nimage: ${POSTGRES_IMAGE:-postgres:16.1}\n"
    with pytest.raises(ValueError, match="POSTGRES_IMAGE has two defaults"):
        images.image_defaults(text)


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("POSTGRES_IMAGE", "fintrade-local/postgres:15"),
        ("SEAWEEDFS_IMAGE", "fintrade-local/seaweedfs:4.48"),
        ("REDIS_IMAGE", "fintrade-local/redis:7"),
        ("AIRFLOW_BASE_IMAGE", "fintrade-local/airflow:3.3.2-python3.11"),
        ("UV_IMAGE", "fintrade-local/uv:0.13.9"),
    ],
)
def test_local_stand_ins_never_carry_an_official_name(variable, expected):
    name = images.local_name(variable, OFFICIAL[variable])
    assert name == expected
    assert name.rsplit(":", 1)[0] != OFFICIAL[variable].rsplit(":", 1)[0]
    assert (images.RECIPES / name.split("/")[1].split(":")[0] / "Dockerfile").is_file()


def test_recipe_hash_follows_file_contents_and_inputs(tmp_path):
    recipe = tmp_path / "Dockerfile"
    recipe.write_text("FROM scratch\n")
    first = images.recipe_hash([recipe], ["AIRFLOW_VERSION=3.3.2"])
    assert images.recipe_hash([recipe], ["AIRFLOW_VERSION=3.3.2"]) == first
    assert images.recipe_hash([recipe], ["AIRFLOW_VERSION=3.3.3"]) != first
    recipe.write_text("FROM scratch\nCOPY uv /uv\n")
    assert images.recipe_hash([recipe], ["AIRFLOW_VERSION=3.3.2"]) != first


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 28, 0, 30, tzinfo=UTC), date(2026, 11, 27)),
        (datetime(2026, 11, 29, 23, 59, tzinfo=UTC), date(2026, 11, 27)),  # over the weekend
        # Friday 11-27 closes early: its run is due at 15:00 in New York.
        (datetime(2026, 11, 27, 14, 59, tzinfo=timezone(timedelta(hours=-5))), date(2026, 11, 25)),
        (datetime(2026, 11, 27, 15, 0, tzinfo=timezone(timedelta(hours=-5))), date(2026, 11, 27)),
        (datetime(2026, 11, 30, 22, 59, tzinfo=UTC), date(2026, 11, 27)),
        (datetime(2026, 11, 30, 23, 0, tzinfo=UTC), date(2026, 11, 30)),
    ],
)
def test_scheduled_run_is_the_latest_session_already_due(now, expected):
    assert plan.scheduled_logical_date(now) == expected


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (date(2026, 11, 27), date(2026, 11, 25)),  # Thanksgiving, 26 Nov, is skipped
        (date(2026, 11, 30), date(2026, 11, 27)),  # Monday -> Friday
        (date(2026, 11, 25), date(2026, 11, 24)),
    ],
)
def test_earlier_run_is_the_previous_trading_day(before, expected):
    assert plan.earlier_trading_day(before) == expected


def test_generated_settings_are_fresh_usable_secrets(tmp_path):
    ports = {"AIRFLOW_API_PORT": 41001, "WAREHOUSE_PORT": 41002, "LAKE_S3_PORT": 41003}
    first = stack.generated_settings({"POSTGRES_IMAGE": "fintrade-local/postgres:15"}, ports)
    second = stack.generated_settings({}, ports)
    for name in stack.SECRET_VARIABLES:
        assert first[name] != second[name], name
        assert len(first[name]) >= 32 and first[name].isalnum(), name
    Fernet(first["AIRFLOW_FERNET_KEY"].encode())  # raises on a malformed key
    assert len(base64.urlsafe_b64decode(first["AIRFLOW_FERNET_KEY"])) == 32
    assert "change-me" not in "".join(first.values())
    assert first["WAREHOUSE_PORT"] == "41002"
    assert first["POSTGRES_IMAGE"] == "fintrade-local/postgres:15"

    env_file = tmp_path / "stack.env"
    stack.write_env_file(env_file, first)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert dotenv_values(env_file) == first


def test_free_port_is_never_one_other_work_uses():
    ports = {free_port() for _ in range(20)}
    assert not ports & RESERVED_PORTS
    assert all(1024 <= port <= 65535 for port in ports)


def _service(name, status="running", health="healthy", exit_code=0):
    return Service(name, f"c-{name}", status, health, exit_code)


def test_not_ready_until_every_service_is_healthy_and_one_shots_exited_zero():
    expected = {"preflight", "warehouse", "airflow-scheduler"}
    ready = [
        _service("preflight", "exited", None, 0),
        _service("warehouse"),
        _service("airflow-scheduler"),
    ]
    assert stack.not_ready(ready, expected) == []
    starting = [*ready[:2], _service("airflow-scheduler", health="starting")]
    assert stack.not_ready(starting, expected) == ["airflow-scheduler: starting"]
    assert stack.not_ready(ready[:2], expected) == ["airflow-scheduler: no container"]
    failed = [_service("preflight", "exited", None, 1), *ready[1:]]
    assert stack.not_ready(failed, expected) == ["failed: preflight exited 1"]
    unhealthy = [*ready[:2], _service("airflow-scheduler", health="unhealthy")]
    assert stack.not_ready(unhealthy, expected) == ["failed: airflow-scheduler unhealthy"]


def test_changed_tables_names_every_difference():
    before = {
        "raw.trades": Checksum(10, "a"),
        "mart.x": Checksum(3, "b"),
        "mart.gone": Checksum(1, "c"),
    }
    after = {
        "raw.trades": Checksum(10, "a"),
        "mart.x": Checksum(3, "changed"),
        "mart.new": Checksum(2, "d"),
    }
    assert changed_tables(before, dict(before)) == []
    assert changed_tables(before, after) == [
        "mart.gone: 1 -> 0 rows",
        "mart.new: 0 -> 2 rows",
        "mart.x: 3 -> 3 rows",
    ]


def test_task_timings_key_mapped_instances_by_index():
    instances = [
        {"task_id": "check_run", "map_index": -1, "state": "success", "try_number": 1},
        {"task_id": "ingest_prices", "map_index": 2, "state": None, "try_number": 0},
        {
            "task_id": "load_activity",
            "map_index": -1,
            "state": "failed",
            "try_number": 2,
            "duration": 4.5,
        },
    ]
    assert task_timings(instances) == [
        TaskTiming("check_run", "success", 1, 0.0),
        TaskTiming("ingest_prices[2]", "none", 0, 0.0),
        TaskTiming("load_activity", "failed", 2, 4.5),
    ]


def test_run_seconds_reads_the_apis_utc_times():
    run = {"start_date": "2026-01-05T10:00:00Z", "end_date": "2026-01-05T10:01:30.5+00:00"}
    assert run_seconds(run) == 90.5
