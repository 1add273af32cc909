"""The broker starter of `make airflow EXECUTOR=celery`, with a real redis-server.

Each test names a free port on 127.0.0.1 in FINTRADE_REDIS_URL, so nothing here touches a Redis
someone else runs, and stops what it started by pid.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from data_generator.localdev.redis_server import (
    ensure_redis,
    local_redis,
    redis_answers,
    redis_status,
    stop_redis,
)
from data_generator.settings import Settings
from tests.support.ports import free_port, port_listening

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="redis-server is not installed (Debian: apt-get install redis-server)",
)

OWNER = 4242


@pytest.fixture
def redis_settings(tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(
        redis_url=f"redis://127.0.0.1:{free_port()}/3", local_state_dir=tmp_path / "state"
    )
    yield settings
    stop_redis(settings)


def test_a_local_redis_starts_where_none_answers_and_its_owner_stops_it(
    redis_settings: Settings,
) -> None:
    assert not redis_answers(redis_settings.redis_url)

    url = ensure_redis(redis_settings, owner=OWNER)

    assert url == redis_settings.redis_url  # the configured port was free, and the database kept
    assert redis_answers(url)
    started = local_redis(redis_settings)
    assert started is not None and started.owner == OWNER
    running, _ = redis_status(redis_settings)
    assert running
    assert ensure_redis(redis_settings, owner=OWNER + 1) == url  # answers now: nothing new starts
    assert local_redis(redis_settings) == started

    assert stop_redis(redis_settings, owner=OWNER + 1) is None  # not the one that started it
    assert redis_answers(url)
    assert stop_redis(redis_settings, owner=OWNER) == started.pid
    assert not port_listening(started.port)
    assert local_redis(redis_settings) is None
    running, detail = redis_status(redis_settings)
    assert not running, detail


def test_a_redis_that_answers_is_used_and_never_doubled(
    redis_settings: Settings, tmp_path: Path
) -> None:
    url = ensure_redis(redis_settings)
    elsewhere = redis_settings.with_overrides(local_state_dir=tmp_path / "other-state")

    assert ensure_redis(elsewhere) == url
    assert local_redis(elsewhere) is None
    assert stop_redis(elsewhere) is None
    assert redis_answers(url)


def test_a_port_held_by_something_else_gets_a_free_one_instead(redis_settings: Settings) -> None:
    port = urlsplit(redis_settings.redis_url).port
    with socket.socket() as squatter:  # accepts connections, never answers PING
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        url = ensure_redis(redis_settings)

    assert url != redis_settings.redis_url and url.endswith("/3")
    assert redis_answers(url)
