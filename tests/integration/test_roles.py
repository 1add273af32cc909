"""Least privilege in the warehouse: each role can do its job and is refused everything else."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import date

import psycopg2
import pytest

from data_generator.settings import INIT_SQL, Settings
from data_generator.steps import transform
from data_generator.storage import roles
from data_generator.storage.roles import Role
from tests.support.harness import load_day, run_fintrade, scratch_warehouse
from tests.support.warehouse import query

DAY = date(2026, 11, 24)
SYMBOLS = ("AAPL", "JPM")


@pytest.fixture(scope="module")
def built(base_settings, s3_server, tmp_path_factory) -> Iterator[Settings]:
    """Two symbols, a month of history, ingested and built through the pipeline's own roles."""
    state = tmp_path_factory.mktemp("state")
    with scratch_warehouse(base_settings, s3_server, state) as scratch:
        settings = scratch.with_overrides(symbols=SYMBOLS, history_days=30)
        load_day(settings, DAY)
        transform.build(settings)
        yield settings


def run_as(settings: Settings, role: Role, statement: str) -> list[tuple]:
    conn = roles.connect_as(settings, role)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


DENIED = [
    (Role.LOADER, "create table mart.intruder (id int)"),
    (Role.LOADER, "drop table mart.mart_stock_performance"),
    (Role.LOADER, "delete from mart.mart_stock_performance"),
    (Role.LOADER, "create table staging.intruder (id int)"),
    (Role.LOADER, "create table public.intruder (id int)"),
    (Role.LOADER, "create schema intruder"),
    (Role.LOADER, "drop table raw.daily_prices"),
    (Role.ANALYST, "select count(*) from raw.daily_prices"),
    (Role.ANALYST, "select count(*) from core.fct_daily_prices"),
    (Role.ANALYST, "select count(*) from staging.stg_stocks"),
    (Role.ANALYST, "insert into mart.mart_daily_trading (symbol) values ('X')"),
    (Role.ANALYST, "update mart.mart_stock_performance set symbol = 'X'"),
    (Role.ANALYST, "create table mart.intruder (id int)"),
    (Role.ANALYST, "create table public.intruder (id int)"),
    (Role.ANALYST, "create temporary table intruder (id int)"),
    (Role.ANALYST, "drop table mart.mart_stock_performance"),
    (
        Role.TRANSFORMER,
        "insert into raw.stocks (symbol, company_name, sector, exchange) "
        "values ('X', 'X', 'X', 'X')",
    ),
    (Role.TRANSFORMER, "delete from raw.daily_prices"),
    (Role.TRANSFORMER, "update raw.trades set quantity = 0"),
    (Role.TRANSFORMER, "create table raw.intruder (id int)"),
    (Role.TRANSFORMER, "drop table raw.daily_prices"),
]


@pytest.mark.parametrize(("role", "statement"), DENIED, ids=[f"{r.name}:{s}" for r, s in DENIED])
def test_role_is_refused(built, role, statement):
    before = query(built, "select count(*) from raw.daily_prices")

    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        run_as(built, role, statement)

    assert query(built, "select count(*) from raw.daily_prices") == before


def test_each_role_can_do_its_job(built):
    assert run_as(built, Role.ANALYST, "select count(*) from mart.mart_stock_performance") == [
        (len(SYMBOLS),)
    ]
    stocks = "select count(*) from raw.stocks"
    assert run_as(built, Role.TRANSFORMER, stocks) == query(built, stocks) != [(0,)]
    run_as(built, Role.LOADER, "update raw.stocks set sector = sector where symbol = 'AAPL'")


def test_transformer_owns_every_relation_dbt_built(built):
    owners = query(
        built,
        "select distinct pg_get_userbyid(c.relowner) from pg_class as c "
        "join pg_namespace as n on c.relnamespace = n.oid "
        "where n.nspname in ('staging', 'core', 'mart') and c.relkind in ('r', 'v')",
    )
    schema_owners = query(
        built,
        "select distinct pg_get_userbyid(nspowner) from pg_namespace "
        "where nspname in ('staging', 'core', 'mart')",
    )

    assert owners == [(Role.TRANSFORMER.value,)]
    assert schema_owners == [(Role.TRANSFORMER.value,)]


def test_a_mart_built_by_the_superuser_is_handed_to_the_transformer(settings):
    roles.provision(settings)
    query(settings, "create table mart.legacy_mart as select 1 as id")

    roles.provision(settings)
    roles.provision(settings)  # idempotent

    assert query(
        settings,
        "select pg_get_userbyid(relowner) from pg_class where oid = 'mart.legacy_mart'::regclass",
    ) == [(Role.TRANSFORMER.value,)]
    assert run_as(settings, Role.ANALYST, "select id from mart.legacy_mart") == [(1,)]


def test_generated_passwords_are_private_and_never_in_init_sql(settings):
    roles.provision(settings)
    passwords_file = settings.local_state_dir / roles.PASSWORDS_FILE

    assert stat.S_IMODE(passwords_file.stat().st_mode) == 0o600
    for role in Role:
        secret = roles.password(settings, role)
        assert len(secret) >= 24
        assert secret not in INIT_SQL.read_text()
    stored = query(
        settings, "select rolpassword from pg_authid where rolname = %s", ("fintrade_loader",)
    )
    assert stored[0][0].startswith("SCRAM-SHA-256$")


def test_configured_passwords_win_over_generated_ones(settings):
    configured = settings.with_overrides(analyst_password="from-the-env-file")

    assert roles.password(configured, Role.ANALYST) == "from-the-env-file"
    assert not (settings.local_state_dir / roles.PASSWORDS_FILE).exists()


def test_fintrade_run_builds_the_marts_through_the_roles(settings):
    scoped = settings.with_overrides(symbols=SYMBOLS, history_days=30)

    result = run_fintrade(scoped, "run", "--date", DAY.isoformat())

    assert result.returncode == 0, result.stderr
    assert query(
        scoped,
        "select pg_get_userbyid(relowner) from pg_class "
        "where oid = 'mart.mart_stock_performance'::regclass",
    ) == [(Role.TRANSFORMER.value,)]
    assert run_as(scoped, Role.ANALYST, "select count(*) from mart.mart_stock_performance") == [
        (len(SYMBOLS),)
    ]
