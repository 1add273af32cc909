"""FinTrade's daily run as an Airflow DAG: the same steps as `fintrade run`, one task per step.

This file is glue. Every step lives in `data_generator` (tested without Airflow); the DAG only
decides order, retries and what a failure holds back. Each task works on the run's logical date,
so a re-run or a back-fill (`airflow backfill create`) of day D gives the same rows as the first
run of D.

The schedule is the trading-day timetable (data_generator/scheduling/timetable.py, registered
by airflow/plugins/): one run per NYSE session, two hours after its close in New York time, so
weekends and holidays make no run. A run triggered by hand for a day that is no session ends
green having done nothing: its first task, `session_gate`, skips every other task.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from airflow.sdk import (
    TaskGroup,
    TriggerRule,
    chain,
    dag,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException

from data_generator.localdev.services import load_run_settings
from data_generator.reference.trading_calendar import closure_reason
from data_generator.reference.universe import select_stocks
from data_generator.scheduling.timetable import TradingDayTimetable
from data_generator.settings import load_settings
from data_generator.steps import actions, activity, batches, freshness, prices, resources, transform

# The symbols are read from the universe file (FINTRADE_SYMBOLS picks a subset) each time this
# file is parsed, so a stock added there is ingested from the next run on. Each batch of them
# becomes one mapped task instance: by default one symbol each, so a symbol shows, retries and
# fails alone in the UI; a large universe gets larger batches (FINTRADE_SYMBOLS_PER_TASK).
_settings = load_settings()
SYMBOLS: list[str] = [
    stock.symbol for stock in select_stocks(_settings.symbols, _settings.universe_file)
]
BATCHES: list[list[str]] = batches.split_into_batches(
    SYMBOLS, _settings.symbols_per_task, _settings.max_price_tasks
)
FAILED_SYMBOLS_KEY = "failed_symbols"

# dbt layers in build order; each `dbt build --select <layer>` runs the layer's models and then
# its tests, so a failing staging test stops core and mart from building on bad data.
DBT_LAYERS: tuple[str, ...] = ("staging", "core", "mart")

DEFAULT_ARGS = {
    "owner": "fintrade",
    "retries": 2,
    "retry_delay": timedelta(seconds=5),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=5),
}


def run_date() -> date:
    """The logical date of the running DAG run: the only 'day' any task may work on."""
    logical_date = get_current_context()["logical_date"]
    if logical_date is None:
        raise AirflowFailException("this DAG needs a logical date: trigger it with one")
    return logical_date.date()


@task.short_circuit
def session_gate() -> bool:
    """False (and every other task skipped, the run green) for a day the exchange was closed:
    only a hand-triggered run can have such a logical date."""
    reason = closure_reason(run_date())
    if reason is not None:
        print(f"{run_date()} is no NYSE session ({reason}): nothing to load or build")
    return reason is None


@task
def prepare_warehouse() -> None:
    resources.prepare(load_run_settings(), run_date())


@task(map_index_template="{{ task.op_kwargs['symbols'] | batch_label }}")
def ingest_prices(symbols: list[str]) -> str:
    """One batch; a retry ingests only the symbols that have not loaded for the date yet."""
    ti = get_current_context()["ti"]
    try:
        result = prices.ingest_batch(
            load_run_settings(), symbols, run_date(), skip_loaded=ti.try_number > 1
        )
    except prices.BatchIngestError as exc:
        ti.xcom_push(key=FAILED_SYMBOLS_KEY, value=exc.symbols)  # for check_run to name them
        raise
    return result.summary()


@task(trigger_rule=TriggerRule.ALL_DONE)
def ingest_corporate_actions() -> str:
    """After every batch of prices, so prices get the day's API budget first; what is left goes
    to the splits and dividends of the symbols whose prices loaded (the step decides, as in the
    CLI, so a batch with one failed symbol holds back only that symbol). A symbol's failed
    actions are recorded, the marts build with the factors they had, and this task then fails
    naming the symbol, as `fintrade run` does: build, then report."""
    report = actions.ingest_actions(load_run_settings(), run_date())
    if report.failed:
        get_current_context()["ti"].xcom_push(key=FAILED_SYMBOLS_KEY, value=report.failed)
        raise AirflowFailException(report.summary())
    return report.summary()


@task(trigger_rule=TriggerRule.ALL_DONE)
def load_activity() -> str:
    """Runs once every batch is done; the step holds the day's activity back while a symbol has
    no prices for it, the same rule as `fintrade ingest`, and the rerun of the date makes it."""
    return activity.load_activity(load_run_settings(), run_date()).summary()


@task
def dbt_build(layer: str) -> str:
    return transform.build(load_run_settings(), select=layer).summary


@task
def check_freshness() -> str:
    """The data is as of the run's session (freshness.check_freshness): a symbol stale because
    the vendor was at its daily limit is named, not fatal."""
    return freshness.check_freshness(load_run_settings(), run_date()).summary()


@task(trigger_rule=TriggerRule.ALL_DONE)
def check_run() -> None:
    """Fail the run when any step failed, naming the failed steps and symbols.

    The step after the mapped prices task must not wait on every batch, so a failed batch
    stops being a leaf and Airflow alone would mark the run 'success'. This last task sees the
    whole run and fails it, while the failed batch's own task instance keeps its reason.
    """
    context = get_current_context()
    run_id = context["run_id"]
    states = context["ti"].get_task_states(dag_id=context["dag"].dag_id, run_ids=[run_id])
    failed = [
        name
        for key, state in sorted(states[run_id].items())
        if state == "failed"
        for name in _step_names(key)
    ]
    if failed:
        raise AirflowFailException(f"failed: {', '.join(failed)}")


def _step_names(state_key: str) -> list[str]:
    """'ingest_prices_3' -> ['ingest_prices[JPM]'], one per failed symbol of batch 3 (all of
    its symbols when the batch failed before it could say which); 'ingest_corporate_actions'
    -> one name per symbol whose actions failed; other task ids stay as they are."""
    if state_key == "ingest_corporate_actions":
        symbols = get_current_context()["ti"].xcom_pull(task_ids=state_key, key=FAILED_SYMBOLS_KEY)
        return [f"{state_key}[{symbol}]" for symbol in symbols or []] or [state_key]
    prefix = "ingest_prices_"
    index = state_key.removeprefix(prefix)
    if not (state_key.startswith(prefix) and index.isdigit()):
        return [state_key]
    pushed = get_current_context()["ti"].xcom_pull(
        task_ids="ingest_prices", key=FAILED_SYMBOLS_KEY, map_indexes=int(index)
    )
    return [f"ingest_prices[{symbol}]" for symbol in pushed or BATCHES[int(index)]]


@dag(
    dag_id="fintrade_pipeline",
    schedule=TradingDayTimetable(),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["fintrade"],
    doc_md=__doc__,
    user_defined_filters={"batch_label": batches.batch_label},
)
def fintrade_pipeline() -> None:
    price_tasks = ingest_prices.expand(symbols=BATCHES)
    activity_task = load_activity()
    (
        session_gate()
        >> prepare_warehouse()
        >> price_tasks
        >> ingest_corporate_actions()
        >> activity_task
    )

    with TaskGroup("dbt") as dbt:
        chain(*(dbt_build.override(task_id=f"build_{layer}")(layer) for layer in DBT_LAYERS))
    data_freshness = check_freshness()
    activity_task >> [dbt, data_freshness]
    [price_tasks, dbt, data_freshness] >> check_run()


fintrade_pipeline()
