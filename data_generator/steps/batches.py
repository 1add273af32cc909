"""How the universe is cut into the price step's batches: one Airflow task instance per batch.

Airflow refuses more than `max_map_length` (1,024 by default) mapped instances of a task, and
every instance is a process that imports Python, Airflow and the project. A small universe keeps
one symbol per task, so each shows, retries and fails alone in the UI; a large one is cut into
at most `FINTRADE_MAX_PRICE_TASKS` batches (32 by default), whatever `FINTRADE_SYMBOLS_PER_TASK`
asks for: a task costs seconds of start-up under the scheduler, so 500 one-symbol tasks on two
slots would spend most of the run starting processes. Never more than `MAX_BATCHES`.

Batches are consecutive runs of the universe in its own order, so the same universe always
gives the same batches and a symbol keeps its batch (and its task's map index) from run to run.
A DAG run resolves them once, in its first task, and everything after reads that task's result:
a universe file edited while the run is in flight changes the next run, never this one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from data_generator.reference.universe import select_stocks
from data_generator.settings import Settings

# Far below Airflow's default max_map_length (1,024), with room for a DAG that maps twice: the
# ceiling of FINTRADE_MAX_PRICE_TASKS, for a cluster with that many worker slots.
MAX_BATCHES = 256
DEFAULT_MAX_BATCHES = 32


def batch_size(
    symbol_count: int, symbols_per_task: int, max_batches: int = DEFAULT_MAX_BATCHES
) -> int:
    """The setting, raised just enough that `symbol_count` symbols make at most `max_batches`
    (itself at most `MAX_BATCHES`)."""
    if symbols_per_task < 1 or max_batches < 1:
        raise ValueError("symbols_per_task and max_batches must be at least 1")
    return max(symbols_per_task, math.ceil(symbol_count / min(max_batches, MAX_BATCHES)))


def split_into_batches(
    symbols: Sequence[str], symbols_per_task: int, max_batches: int = DEFAULT_MAX_BATCHES
) -> list[list[str]]:
    """`symbols` in order, cut into batches of `batch_size` (the last may be shorter).

    Lists, not tuples: they are the mapped task's arguments, which Airflow stores as JSON.
    """
    size = batch_size(len(symbols), symbols_per_task, max_batches)
    return [list(symbols[start : start + size]) for start in range(0, len(symbols), size)]


def batch_label(symbols: Sequence[str]) -> str:
    """What the UI shows for a batch's task instance: 'AAPL', or 'AAPL..KO' for several."""
    if not symbols:
        return ""
    return symbols[0] if len(symbols) == 1 else f"{symbols[0]}..{symbols[-1]}"


def resolve_batches(settings: Settings) -> list[list[str]]:
    """The batches of the universe file as it reads now (`FINTRADE_SYMBOLS` picks a subset)."""
    symbols = [stock.symbol for stock in select_stocks(settings.symbols, settings.universe_file)]
    return split_into_batches(symbols, settings.symbols_per_task, settings.max_price_tasks)


def failed_symbols(
    batches: Sequence[Sequence[str]], failures: Mapping[int, Sequence[str] | None]
) -> list[str]:
    """The symbols of the failed batches, keyed by map index into the run's own `batches`: those
    a batch reported, or all of its symbols when it failed before it could say which."""
    return [symbol for index in sorted(failures) for symbol in failures[index] or batches[index]]
