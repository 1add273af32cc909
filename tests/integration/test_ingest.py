"""Prices from Alpha Vantage (a real local stand-in) through the lake into raw.daily_prices."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from data_generator.settings import Settings
from data_generator.steps.prices import BatchIngestError, ingest_batch, ingest_symbol
from data_generator.steps.resources import prepare
from data_generator.storage.lake import Lake, json_key, parquet_key
from tests.support.alpha_vantage_stub import (
    AlphaVantageStub,
    StubReply,
    daily_limit_body,
    data_body,
    error_message_body,
    standard_bars,
)
from tests.support.harness import run_fintrade, vendor_settings
from tests.support.warehouse import query, table_checksum, table_checksums

API_KEY = "SECRETKEY9TEST42"
DAY = date(2026, 11, 24)
NEXT_DAY = date(2026, 11, 25)
SYMBOLS = ("AAPL", "MSFT", "JPM")


@pytest.fixture
def live(settings: Settings, alpha_vantage_stub: AlphaVantageStub) -> Settings:
    """Settings for the Alpha Vantage path, pointed at the local stand-in."""
    return vendor_settings(settings, alpha_vantage_stub, API_KEY, symbols=SYMBOLS)


def serve(stub: AlphaVantageStub, symbol: str, bars: dict) -> None:
    stub.enqueue(symbol, StubReply(body=data_body(symbol, bars)))


def ingest(settings: Settings, day: date):
    return run_fintrade(settings, "ingest", "--date", day.isoformat())


def price_rows(settings: Settings) -> dict[tuple[str, date], tuple]:
    rows = query(
        settings,
        "select symbol, price_date, open_price, high_price, low_price, close_price, volume, "
        "lake_key, loaded_at from raw.daily_prices",
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def test_ingest_loads_every_symbol_into_lake_and_warehouse(live, alpha_vantage_stub):
    result = ingest(live, DAY)

    assert result.returncode == 0, result.stderr
    assert "3/3 symbols, 90 new rows" in result.stdout
    assert "skipped, no accounts yet" in result.stdout
    lake = Lake.from_settings(live)
    for symbol in SYMBOLS:
        assert lake.exists(json_key(symbol, DAY))
        assert lake.exists(parquet_key(symbol, DAY))
    aapl = standard_bars("AAPL", DAY)
    rows = price_rows(live)
    assert len(rows) == 90
    open_, high, low, close, volume = aapl[DAY]
    assert rows[("AAPL", DAY)][:5] == (open_, high, low, close, volume)
    assert rows[("AAPL", DAY)][5] == "raw/parquet/symbol=AAPL/date=2026-11-24.parquet"
    runs = query(
        live,
        "select symbol, status, rows_loaded from raw.ingest_runs"
        " where dataset = 'prices' and status <> 'api_call' order by symbol",
    )
    assert runs == [("AAPL", "loaded", 30), ("JPM", "loaded", 30), ("MSFT", "loaded", 30)]


def test_same_day_rerun_calls_no_api_and_changes_nothing(live, alpha_vantage_stub):
    assert ingest(live, DAY).returncode == 0
    calls = len(alpha_vantage_stub.requests_of())
    lake = Lake.from_settings(live)
    body_before = lake.get(json_key("AAPL", DAY))
    before = table_checksums(live, ("raw.daily_prices", "raw.rejected_prices"))

    rerun = ingest(live, DAY)

    assert rerun.returncode == 0, rerun.stderr
    assert len(alpha_vantage_stub.requests_of()) == calls == 3
    assert "0 new rows, 0 updated" in rerun.stdout
    assert table_checksums(live, before) == before
    assert lake.get(json_key("AAPL", DAY)) == body_before


def test_lake_objects_are_write_once(live):
    lake = Lake.from_settings(live)
    lake.ensure_bucket()
    key = json_key("AAPL", DAY)

    assert lake.put_once(key, b'{"first": 1}', "application/json") is True
    assert lake.put_once(key, b'{"second": 2}', "application/json") is False
    assert lake.get(key) == b'{"first": 1}'


def test_restated_close_updates_that_row_only(live, alpha_vantage_stub):
    first = {s: standard_bars(s, DAY) for s in SYMBOLS}
    for symbol in SYMBOLS:
        serve(alpha_vantage_stub, symbol, first[symbol])
    assert ingest(live, DAY).returncode == 0
    before = price_rows(live)

    restated_day = date(2026, 11, 20)
    second = {s: standard_bars(s, NEXT_DAY) for s in SYMBOLS}
    o, h, lo, _, v = second["MSFT"][restated_day]
    new_close = (lo + h) / 2
    second["MSFT"][restated_day] = (o, h, lo, new_close, v)
    for symbol in SYMBOLS:
        serve(alpha_vantage_stub, symbol, second[symbol])
    result = ingest(live, NEXT_DAY)

    assert result.returncode == 0, result.stderr
    assert "3 new rows, 1 updated" in result.stdout
    after = price_rows(live)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {("MSFT", restated_day)}
    assert after[("MSFT", restated_day)][3] == Decimal(new_close).quantize(Decimal("0.0001"))
    assert after[("MSFT", restated_day)][5].endswith("date=2026-11-25.parquet")
    assert set(after) - set(before) == {(s, NEXT_DAY) for s in SYMBOLS}


def test_bad_rows_are_quarantined_with_reason_while_the_rest_loads(live, alpha_vantage_stub):
    good = {day: bar for day, bar in standard_bars("AAPL", DAY).items()}
    payload = json.loads(data_body("AAPL", good))
    series = payload["Time Series (Daily)"]
    bad = {
        "2026-11-03": ({"1. open": "abc"}, "unparseable open"),
        "2026-11-04": ({"2. high": None}, "missing field: 2. high"),
        "2026-11-05": ({"3. low": "-1.0000"}, "non-positive low"),
        "2026-11-06": ({"2. high": "1.0000", "3. low": "2.0000"}, "high 1.0000 below low 2.0000"),
        "2026-11-07": ({"1. open": "999999.0000"}, "open 999999.0000 outside"),
        "2026-11-10": ({"4. close": "0.0100"}, "close 0.0100 outside"),
        "2026-11-11": ({"5. volume": "-5"}, "negative volume: -5"),
    }
    for day_text, (changes, _) in bad.items():
        bar = series.setdefault(day_text, dict(next(iter(series.values()))))
        for field_name, value in changes.items():
            if value is None:
                bar.pop(field_name)
            else:
                bar[field_name] = value
    alpha_vantage_stub.enqueue("AAPL", StubReply(body=json.dumps(payload).encode()))

    result = ingest(live, DAY)

    assert result.returncode == 0, result.stderr
    rejected = dict(
        query(live, "select price_date, reason from raw.rejected_prices where symbol = 'AAPL'")
    )
    assert set(rejected) == set(bad)
    for day_text, (_, reason) in bad.items():
        assert reason in rejected[day_text]
    keys = {row[0] for row in query(live, "select distinct lake_key from raw.rejected_prices")}
    assert keys == {json_key("AAPL", DAY)}
    loaded = {d for (s, d) in price_rows(live) if s == "AAPL"}
    assert loaded == {d for d in good if d.isoformat() not in bad}
    rerun = ingest(live, DAY)
    assert rerun.returncode == 0
    assert query(live, "select count(*) from raw.rejected_prices")[0][0] == len(bad)


def test_failing_symbol_does_not_stop_the_others(live, alpha_vantage_stub):
    alpha_vantage_stub.set_default("JPM", StubReply(body=error_message_body()))

    result = ingest(live, DAY)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "fintrade ingest: symbols failed: JPM"
    loaded = {s for (s, _) in price_rows(live)}
    assert loaded == {"AAPL", "MSFT"}
    status = dict(
        query(
            live,
            "select symbol, status from raw.ingest_runs"
            " where dataset = 'prices' and status <> 'api_call'",
        )
    )
    assert status == {"AAPL": "loaded", "MSFT": "loaded", "JPM": "failed"}


def test_a_batch_loads_around_a_failing_symbol_and_its_retry_redoes_only_that_one(
    live, alpha_vantage_stub
):
    batch = ["AAPL", "JPM", "MSFT"]
    prepare(live, DAY)  # as the DAG's first task does
    alpha_vantage_stub.set_default("JPM", StubReply(body=error_message_body()))

    with pytest.raises(BatchIngestError) as failed:
        ingest_batch(live, batch, DAY)

    assert failed.value.symbols == ["JPM"]
    assert str(failed.value).startswith("1 of 3 symbols failed: JPM: ")
    assert "\n" not in str(failed.value)
    assert {s for (s, _) in price_rows(live)} == {"AAPL", "MSFT"}

    alpha_vantage_stub.set_default(
        "JPM", StubReply(body=data_body("JPM", standard_bars("JPM", DAY)))
    )
    retry = ingest_batch(live, batch, DAY, skip_loaded=True)
    again = ingest_batch(live, batch, DAY, skip_loaded=True)

    assert [result.symbol for result in retry.results] == ["JPM"]
    assert retry.skipped == ["AAPL", "MSFT"]
    assert again.results == []
    assert again.skipped == batch
    assert {s for (s, _) in price_rows(live)} == set(batch)
    assert {s: len(alpha_vantage_stub.requests_for(s)) for s in batch} == {
        "AAPL": 1,
        "JPM": 2,
        "MSFT": 1,
    }
    assert query(
        live,
        "select symbol, status, count(*) from raw.ingest_runs"
        " where dataset = 'prices' and status <> 'api_call' group by 1, 2 order by 1, 2",
    ) == [("AAPL", "loaded", 1), ("JPM", "failed", 1), ("JPM", "loaded", 1), ("MSFT", "loaded", 1)]


def test_daily_limit_stops_calling_and_falls_back_to_the_lake(live, alpha_vantage_stub):
    assert ingest(live, DAY).returncode == 0
    calls_before = len(alpha_vantage_stub.requests)
    for symbol in SYMBOLS:
        alpha_vantage_stub.set_default(
            symbol, StubReply(body=lambda request: daily_limit_body(request.apikey or ""))
        )

    result = ingest(live, NEXT_DAY)

    assert result.returncode == 0, result.stderr
    assert len(alpha_vantage_stub.requests) == calls_before + 1  # none for actions either
    assert "stale (daily API limit, kept the lake's latest data): AAPL, MSFT, JPM" in result.stdout
    statuses = query(
        live,
        "select distinct status from raw.ingest_runs"
        " where logical_date = %s and dataset = 'prices' and status <> 'api_call'",
        (NEXT_DAY,),
    )
    assert statuses == [("stale",)]


def test_api_key_never_reaches_logs_lake_or_database(live, alpha_vantage_stub):
    alpha_vantage_stub.set_default(
        "JPM", StubReply(body=lambda request: daily_limit_body(request.apikey or ""))
    )
    alpha_vantage_stub.set_default("MSFT", StubReply(body=error_message_body()))

    result = run_fintrade(live, "-v", "ingest", "--date", DAY.isoformat())

    assert result.returncode == 1  # MSFT failed; JPM hit the limit with nothing to fall back on
    assert API_KEY not in result.stdout + result.stderr
    lake = Lake.from_settings(live)
    for symbol in SYMBOLS:
        for key in (json_key(symbol, DAY), parquet_key(symbol, DAY)):
            body = lake.get(key)
            assert body is None or API_KEY.encode() not in body
    tables = [r[0] for r in query(live, "select tablename from pg_tables where schemaname = 'raw'")]
    for table in tables:
        dump = query(live, f"select coalesce(string_agg(t::text, '\n'), '') from raw.{table} t")
        assert API_KEY not in dump[0][0], table


def test_replay_rebuilds_exactly_what_the_loads_gave(live, alpha_vantage_stub):
    assert ingest(live, DAY).returncode == 0
    second = standard_bars("AAPL", NEXT_DAY)
    o, h, lo, _, v = second[DAY]
    second[DAY] = (o, h, lo, lo, v)  # the vendor restates DAY's close
    serve(alpha_vantage_stub, "AAPL", second)
    assert ingest(live, NEXT_DAY).returncode == 0
    original = table_checksum(live, "raw.daily_prices", exclude=("loaded_at",))
    calls = len(alpha_vantage_stub.requests)
    query(live, "delete from raw.daily_prices")

    result = run_fintrade(live, "replay")

    assert result.returncode == 0, result.stderr
    assert table_checksum(live, "raw.daily_prices", exclude=("loaded_at",)) == original
    assert len(alpha_vantage_stub.requests) == calls
    again = run_fintrade(live, "replay", "--since", "2026-11-20")
    assert again.returncode == 0
    assert "0 new, 0 updated" in again.stdout
    assert table_checksum(live, "raw.daily_prices", exclude=("loaded_at",)) == original


def test_daily_limit_met_by_one_task_spares_the_api_in_the_others(live, alpha_vantage_stub):
    """Airflow runs each symbol in its own process: the limit is remembered through the run's
    ingest records, so later symbols of the same day make no call."""
    assert ingest(live, DAY).returncode == 0
    alpha_vantage_stub.set_default(
        "AAPL", StubReply(body=lambda request: daily_limit_body(request.apikey or ""))
    )
    calls_before = len(alpha_vantage_stub.requests)

    first = ingest_symbol(live, "AAPL", NEXT_DAY)
    second = ingest_symbol(live, "MSFT", NEXT_DAY)

    assert (first.status, second.status) == ("stale", "stale")
    assert len(alpha_vantage_stub.requests) == calls_before + 1  # AAPL's, none for MSFT
