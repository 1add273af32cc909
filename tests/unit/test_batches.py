"""The price step's batches: the default per-symbol view, sizes, stability and the cap."""

from __future__ import annotations

import pytest

from data_generator.reference.universe import load_universe
from data_generator.settings import ConfigError, load_settings
from data_generator.steps.batches import (
    DEFAULT_MAX_BATCHES,
    MAX_BATCHES,
    batch_label,
    batch_size,
    failed_symbols,
    resolve_batches,
    split_into_batches,
)
from tests.support.universe_file import AMD, write_universe

# Airflow's default [core] max_map_length: a task mapped wider than this fails to expand.
AIRFLOW_MAX_MAP_LENGTH = 1024


def tickers(count: int) -> list[str]:
    return [f"S{n:05d}" for n in range(count)]


def test_the_default_keeps_one_task_per_symbol_for_the_fifteen() -> None:
    symbols = [stock.symbol for stock in load_universe()]
    per_task = load_settings({}).symbols_per_task

    batches = split_into_batches(symbols, per_task)

    assert len(symbols) == 15
    assert batches == [[symbol] for symbol in symbols]
    assert [batch_label(batch) for batch in batches] == symbols


def test_batches_follow_the_setting_in_universe_order() -> None:
    symbols = ["AAPL", "MSFT", "XOM", "JPM", "KO"]

    assert split_into_batches(symbols, 2) == [["AAPL", "MSFT"], ["XOM", "JPM"], ["KO"]]
    assert split_into_batches(symbols, 5) == [symbols]
    assert split_into_batches(symbols, 50) == [symbols]
    assert split_into_batches([], 3) == []


@pytest.mark.parametrize("count", [1, 15, 256, 257, 500, 5_000, 50_000, 123_457])
@pytest.mark.parametrize("per_task", [1, 7])
def test_any_universe_stays_far_below_max_map_length(count: int, per_task: int) -> None:
    symbols = tickers(count)

    batches = split_into_batches(symbols, per_task)

    assert len(batches) <= DEFAULT_MAX_BATCHES <= MAX_BATCHES <= AIRFLOW_MAX_MAP_LENGTH // 4
    assert [symbol for batch in batches for symbol in batch] == symbols
    size = batch_size(count, per_task)
    assert all(len(batch) == size for batch in batches[:-1])
    assert 1 <= len(batches[-1]) <= size


def test_the_cap_only_raises_the_size_as_far_as_it_must() -> None:
    assert batch_size(32, 1) == 1
    assert batch_size(33, 1) == 2
    assert batch_size(500, 1) == 16
    assert batch_size(5_000, 1) == 157
    assert batch_size(5_000, 500) == 500
    assert len(split_into_batches(tickers(500), 1)) == 32
    assert len(split_into_batches(tickers(5_000), 1)) == 32


def test_a_cluster_may_map_more_tasks_but_never_past_the_ceiling() -> None:
    assert batch_size(5_000, 1, max_batches=250) == 20
    assert len(split_into_batches(tickers(50_000), 1, max_batches=10_000)) == MAX_BATCHES


def test_the_same_universe_always_gives_the_same_batches() -> None:
    symbols = tickers(5_000)

    first = split_into_batches(symbols, 3)
    again = split_into_batches(list(symbols), 3)

    assert first == again
    home = {symbol: index for index, batch in enumerate(first) for symbol in batch}
    assert home["S00000"] == 0
    assert home["S04999"] == len(first) - 1


def test_a_batch_label_names_its_first_and_last_symbol() -> None:
    assert batch_label(["AAPL"]) == "AAPL"
    assert batch_label(["AAPL", "MSFT", "XOM"]) == "AAPL..XOM"


def test_symbols_per_task_is_a_positive_whole_number() -> None:
    assert load_settings({"FINTRADE_SYMBOLS_PER_TASK": " 25 "}).symbols_per_task == 25
    with pytest.raises(ConfigError, match=r"^FINTRADE_SYMBOLS_PER_TASK must be at least 1, got 0$"):
        load_settings({"FINTRADE_SYMBOLS_PER_TASK": "0"})
    with pytest.raises(ConfigError, match=r"^FINTRADE_SYMBOLS_PER_TASK must be a whole number"):
        load_settings({"FINTRADE_SYMBOLS_PER_TASK": "ten"})


def test_a_run_resolves_the_batches_of_the_universe_file_as_it_reads_then(tmp_path) -> None:
    path = write_universe(tmp_path / "stocks.csv", "AAPL,Apple Inc.,Tech,NASDAQ,USD\n", AMD)
    env = {"FINTRADE_UNIVERSE_FILE": str(path)}

    assert resolve_batches(load_settings(env)) == [["AAPL"], ["AMD"]]
    assert resolve_batches(load_settings(env | {"FINTRADE_SYMBOLS_PER_TASK": "2"})) == [
        ["AAPL", "AMD"]
    ]
    assert resolve_batches(load_settings(env | {"FINTRADE_SYMBOLS": "amd"})) == [["AMD"]]


def test_failed_symbols_are_those_reported_else_the_whole_batch_as_mapped() -> None:
    mapped = [["AAPL", "MSFT"], ["XOM", "JPM"], ["KO"]]

    assert failed_symbols(mapped, {}) == []
    assert failed_symbols(mapped, {1: ["JPM"]}) == ["JPM"]
    # Batch 2 failed before it could say which: all of its symbols, in map-index order.
    assert failed_symbols(mapped, {2: None, 0: ["MSFT"]}) == ["MSFT", "KO"]
    assert failed_symbols(mapped, {1: []}) == ["XOM", "JPM"]
