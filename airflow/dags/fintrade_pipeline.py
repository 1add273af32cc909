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
from data_generator.scheduling.timetable import TradingDayTimetable
from data_generator.steps import actions, activity, batches, freshness, prices, resources, transform

# The symbols come from the universe file (FINTRADE_SYMBOLS picks a subset), read by the run's
# first task, not when this file is parsed: a stock added there is ingested from the next run
# on, and a stock removed while a run is in flight leaves that run as it started. Each batch of
# them becomes one mapped task instance: by default one symbol each, so a symbol shows, retries
# and fails alone in the UI; a large universe gets larger batches (FINTRADE_SYMBOLS_PER_TASK).
RESOLVE_TASK = "resolve_batches"
PRICE_TASK = "ingest_prices"
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


@task(task_id=RESOLVE_TASK)
def resolve_batches() -> list[list[str]]:
    """The run's batches, frozen in XCom: the price task maps over them, check_run names them."""
    return batches.resolve_batches(load_run_settings())


@task
def prepare_warehouse() -> None:
    resources.prepare(load_run_settings(), run_date())


@task(task_id=PRICE_TASK, map_index_template="{{ task.op_kwargs['symbols'] | batch_label }}")
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
    whole run and fails it, while the failed batch's own task instance keeps its reason. A
    failed batch's symbols are what it reported, else the batch as this run mapped it.
    """
    context = get_current_context()
    ti = context["ti"]
    dag_id, run_id = context["dag"].dag_id, context["run_id"]

    def has_failed(task_id: str, map_index: int | None = None) -> bool:
        count = ti.get_ti_count(
            dag_id=dag_id,
            map_index=map_index,
            task_ids=[task_id],
            run_ids=[run_id],
            states=["failed"],
        )
        return count > 0

    failed = []
    for task_id in context["dag"].task_ids:
        if task_id in (PRICE_TASK, ti.task_id) or not has_failed(task_id):
            continue
        # A step that failed for some symbols (corporate actions) pushed which ones.
        symbols = ti.xcom_pull(task_ids=task_id, key=FAILED_SYMBOLS_KEY)
        failed += [f"{task_id}[{symbol}]" for symbol in symbols] if symbols else [task_id]
    if has_failed(PRICE_TASK):
        run_batches: list[list[str]] = ti.xcom_pull(task_ids=RESOLVE_TASK) or []
        reported = {
            index: ti.xcom_pull(task_ids=PRICE_TASK, key=FAILED_SYMBOLS_KEY, map_indexes=index)
            for index in range(len(run_batches))
            if has_failed(PRICE_TASK, index)
        }
        symbols = batches.failed_symbols(run_batches, reported)
        failed += [f"{PRICE_TASK}[{symbol}]" for symbol in symbols]
    if failed:
        raise AirflowFailException(f"failed: {', '.join(sorted(failed))}")


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
    run_batches = resolve_batches()
    price_tasks = ingest_prices.expand(symbols=run_batches)
    activity_task = load_activity()
    (
        session_gate()
        >> run_batches
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
