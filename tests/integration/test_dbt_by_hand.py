"""dbt by hand, as docs/operations.md shows it, leaves the marts readable by the dashboard's
role.

A person runs `dbt build` from dbt/fintrade with the PG* variables: as the profile's default
`transformer` target, then as the superuser (`--target dev`), which makes new tables the
transformer's default privileges do not cover. Each time the dashboard's own queries, on its
read-only analyst session, must still read every mart.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from data_generator.dashboard import queries
from data_generator.dashboard.source import WarehouseReader
from data_generator.settings import DBT_PROJECT_DIR, Settings
from data_generator.steps import transform
from data_generator.storage import roles
from data_generator.storage.roles import Role
from tests.support.harness import load_day, scratch_warehouse
from tests.support.warehouse import query

pytestmark = pytest.mark.dbt

DAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def warehouse(base_settings, s3_server, tmp_path_factory) -> Iterator[Settings]:
    """Raw data as the pipeline loads it; no model built yet."""
    with scratch_warehouse(base_settings, s3_server, tmp_path_factory.mktemp("state")) as settings:
        load_day(settings.with_overrides(symbols=("AAPL", "XOM", "JPM")), DAY)
        yield settings


def dbt_by_hand(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """`dbt <args>` from dbt/fintrade with libpq's variables and the transformer's password, as
    a user's shell has them; only dbt's output folders are moved out of the checkout."""
    env = {
        "PATH": f"{transform.DBT_EXECUTABLE.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        **settings.pg_environ(),
        "FINTRADE_TRANSFORMER_PASSWORD": roles.password(settings, Role.TRANSFORMER),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    return subprocess.run(
        ["dbt", *args],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def mart_owners(settings: Settings) -> set[str]:
    return {
        owner
        for (owner,) in query(
            settings, "select tableowner from pg_tables where schemaname = 'mart'"
        )
    }


def assert_the_dashboard_reads_every_mart(settings: Settings) -> None:
    overview = WarehouseReader(settings).overview()
    assert {stock.symbol for stock in overview.stocks} == {"AAPL", "XOM", "JPM"}
    assert overview.run is not None  # mart_ingest_status, read only when the analyst may
    marts = [
        name
        for (name,) in query(settings, "select tablename from pg_tables where schemaname = 'mart'")
    ]
    assert len(marts) >= 7
    with queries.read_only_connection(settings) as conn, conn.cursor() as cur:
        for mart in marts:
            cur.execute(f"select count(*) from mart.{mart}")  # permission denied would raise
            assert cur.fetchone() is not None


def test_dbt_build_by_hand_as_the_transformer_then_as_the_superuser(warehouse, tmp_path):
    built = dbt_by_hand(warehouse, tmp_path, "build")
    assert built.returncode == 0, built.stdout[-3000:]
    assert "ERROR=0" in built.stdout
    assert mart_owners(warehouse) == {Role.TRANSFORMER.value}
    assert_the_dashboard_reads_every_mart(warehouse)

    # The reproduction: a mart rebuilt as the superuser is a new table it owns.
    rebuilt = dbt_by_hand(warehouse, tmp_path, "run", "--select", "mart", "--target", "dev")
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
    # Every table mart is now the superuser's; the incremental one keeps its owner.
    assert warehouse.pg_user in mart_owners(warehouse)
    assert_the_dashboard_reads_every_mart(warehouse)
