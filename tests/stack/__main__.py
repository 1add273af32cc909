"""`make stack-test`: bring the Compose stack up with a real Docker engine, check it, take it down.

python -m tests.stack            # the whole check, one line per step and a summary
python -m tests.stack --can-run  # exit 0 when an engine answers or can be started, else say why
python -m tests.stack --bench    # the same, plus bytecode timings inside the scheduler image
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.stack import engine, images, plan, warehouse
from tests.stack.stack import (
    PORT_VARIABLES,
    PROJECT_NAME,
    Stack,
    generated_settings,
    write_env_file,
)
from tests.support.airflow_client import DAG_ID, AirflowApi, AirflowError, run_seconds, task_timings
from tests.support.ports import free_port
from tests.support.warehouse import Checksum, changed_tables

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ROOT / ".local" / "stack-test"
SCHEDULER_CONTAINER = "fintrade_airflow_scheduler"
INIT_COMMAND = ["python", "/opt/airflow/data_generator/generate_data.py", "--init"]
LONG_RUNNING = {
    "airflow-db",
    "warehouse",
    "s3",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
}
ALL_SERVICES = LONG_RUNNING | {"preflight", "airflow-init"}
HEALTHY_TIMEOUT = 15 * 60
RUN_TIMEOUT = 20 * 60


class CheckFailed(RuntimeError):
    pass


class Report:
    """One line per check as it finishes, and the same lines again as the final summary."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.lines: list[str] = []
        self.figures: list[str] = []

    def note(self, message: str) -> None:
        print(f"       {message}", flush=True)

    def check(self, name: str, step: Callable[[], str]) -> None:
        began = time.monotonic()
        try:
            detail = step()
        except Exception as error:  # every failure ends the run with one line naming the check
            line = f"[FAIL] {name}: {error}"
            self.lines.append(line)
            print(line, flush=True)
            raise CheckFailed(name) from error
        line = f"[ ok ] {name} ({time.monotonic() - began:.0f} s){': ' + detail if detail else ''}"
        self.lines.append(line)
        print(line, flush=True)

    def figure(self, text: str) -> None:
        self.figures.append(text)
        print(f"       {text}", flush=True)

    def summary(self, passed: bool) -> str:
        total = time.monotonic() - self.started
        verdict = "PASSED" if passed else "FAILED"
        return "\n".join(
            [
                "",
                f"stack test {verdict} in {total / 60:.1f} min",
                *self.lines,
                *(["figures:"] + [f"  {f}" for f in self.figures] if self.figures else []),
            ]
        )


def _exec_seconds(container: str, command: list[str], env: dict[str, str] | None = None) -> float:
    flags = [f"--env={key}={value}" for key, value in (env or {}).items()]
    began = time.monotonic()
    subprocess.run(["docker", "exec", *flags, container, *command], check=True, capture_output=True)
    return time.monotonic() - began


def bytecode_figures(report: Report) -> None:
    """Start-up of `import airflow.sdk` and `dbt --version` in the scheduler, with the image's
    compiled bytecode and with it ignored (PYTHONPYCACHEPREFIX on an empty folder makes Python
    compile every import from source, as an install without --compile-bytecode would)."""
    no_bytecode = {"PYTHONPYCACHEPREFIX": "/tmp/no-bytecode", "PYTHONDONTWRITEBYTECODE": "1"}
    for label, command in (
        ("import airflow.sdk", ["python", "-c", "import airflow.sdk"]),
        ("dbt --version", ["dbt", "--version"]),
    ):
        _exec_seconds(SCHEDULER_CONTAINER, command)  # warm the page cache
        compiled = min(_exec_seconds(SCHEDULER_CONTAINER, command) for _ in range(3))
        source = min(_exec_seconds(SCHEDULER_CONTAINER, command, no_bytecode) for _ in range(3))
        report.figure(f"{label}: {compiled:.1f} s with compiled bytecode, {source:.1f} s without")


def _timings_figure(
    api: AirflowApi, run: dict, label: str, tries_before: dict[str, int] | None = None
) -> tuple[str, dict[str, int]]:
    """The run's wall time and task durations, and each task's try number (a cleared run counts
    its tries on from the earlier ones, so a retry there is more than one try past them)."""
    timings = task_timings(api.task_instances(DAG_ID, run["dag_run_id"]))
    tasks = sorted(timings, key=lambda t: -t.seconds)
    slowest = ", ".join(f"{t.task} {t.seconds:.0f}s" for t in tasks[:4])
    before = tries_before or {}
    retried = [t.task for t in timings if t.tries - before.get(t.task, 0) > 1]
    tries = {t.task: t.tries for t in timings}
    return (
        f"{label}: run {run_seconds(run):.0f} s wall, {len(timings)} task instances, "
        f"sum of task durations {sum(t.seconds for t in timings):.0f} s; slowest {slowest}; "
        f"retried: {retried or 'none'}"
    ), tries


def succeeded(api: AirflowApi, run_id: str) -> dict[str, Any]:
    """The run once it has ended in success; else an error naming its unsuccessful tasks."""
    run = api.wait_for_runs(DAG_ID, [run_id], RUN_TIMEOUT)[run_id]
    if run["state"] != "success":
        timings = task_timings(api.task_instances(DAG_ID, run_id))
        failed = [t.task for t in timings if t.state != "success"]
        raise AirflowError(f"{run_id} ended {run['state']}; tasks not successful: {failed}")
    return run


def run_checks(stack: Stack, report: Report, bench: bool) -> None:
    settings = stack.settings
    api = AirflowApi(f"http://127.0.0.1:{settings['AIRFLOW_API_PORT']}", poll_seconds=5.0)
    warehouse_port = int(settings["WAREHOUSE_PORT"])
    password = settings["WAREHOUSE_DB_PASSWORD"]
    scheduled_run_id = ""
    # Task timings are read as each run ends: clearing a run later replaces its task instances.
    figures: list[str] = []
    triggered_tries: dict[str, int] = {}

    def healthy() -> str:
        stack.run("up", "--detach", "--no-build")
        services = stack.wait_healthy(ALL_SERVICES, HEALTHY_TIMEOUT)
        encoding = warehouse.database_encoding(warehouse_port, password)
        if encoding != "UTF8":
            raise RuntimeError(f"the warehouse database is {encoding}, not UTF8")
        return f"{len(services)} containers, warehouse encoding {encoding}"

    def init_command() -> str:
        result = subprocess.run(
            ["docker", "exec", SCHEDULER_CONTAINER, *INIT_COMMAND],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"exit {result.returncode}: {(result.stderr or result.stdout)[-1500:]}"
            )
        last = (result.stdout.strip().splitlines() or [""])[-1]
        return last[:200]

    def login_and_unpause() -> str:
        api.login(settings["AIRFLOW_ADMIN_USER"], settings["AIRFLOW_ADMIN_PASSWORD"])
        api.wait_for_dag(DAG_ID, timeout_seconds=300)
        api.set_paused(DAG_ID, False)
        return f"logged in as {settings['AIRFLOW_ADMIN_USER']}, {DAG_ID} unpaused"

    expected = plan.scheduled_logical_date(datetime.now(UTC))

    def scheduled_run() -> str:
        deadline = time.monotonic() + 300
        while not (scheduled := [r for r in api.dag_runs(DAG_ID) if r["run_type"] == "scheduled"]):
            if time.monotonic() > deadline:
                raise RuntimeError("the scheduler made no run within 300 s of the unpause")
            time.sleep(5)
        (run,) = scheduled
        logical = datetime.fromisoformat(run["logical_date"]).date()
        if logical != expected:
            raise RuntimeError(f"the scheduler's run is for {logical}, expected {expected}")
        nonlocal scheduled_run_id
        scheduled_run_id = run["dag_run_id"]
        finished = succeeded(api, scheduled_run_id)
        figures.append(_timings_figure(api, finished, "scheduled run")[0])
        return f"{run['dag_run_id']} (logical date {logical}) succeeded"

    earlier = plan.earlier_trading_day(expected)
    earlier_run_id = f"stacktest__{earlier.isoformat()}"

    def triggered_run() -> str:
        api.trigger(DAG_ID, earlier_run_id, earlier)
        finished = succeeded(api, earlier_run_id)
        figure, tries = _timings_figure(api, finished, "API-triggered run")
        figures.append(figure)
        triggered_tries.update(tries)
        return f"{earlier_run_id} (logical date {earlier}) succeeded"

    def marts_have_rows() -> str:
        checksums = warehouse.table_checksums(warehouse_port, password)
        marts = {name: c.rows for name, c in checksums.items() if name.startswith("mart.")}
        empty = [name for name, rows in marts.items() if rows == 0]
        if not marts or empty:
            raise RuntimeError(f"marts without rows: {empty or 'no mart tables at all'}")
        return ", ".join(f"{name} {rows}" for name, rows in sorted(marts.items()))

    before: dict[str, Checksum] = {}

    def down_up_keeps_data() -> str:
        before.update(warehouse.table_checksums(warehouse_port, password))
        stack.down(volumes=False)
        stack.run("up", "--detach", "--no-build")
        stack.wait_healthy(ALL_SERVICES, HEALTHY_TIMEOUT)
        changed = changed_tables(before, warehouse.table_checksums(warehouse_port, password))
        if changed:
            raise RuntimeError(f"changed by down/up: {changed}")
        api.login(settings["AIRFLOW_ADMIN_USER"], settings["AIRFLOW_ADMIN_PASSWORD"])
        known = {run["dag_run_id"] for run in api.dag_runs(DAG_ID)}
        if not {scheduled_run_id, earlier_run_id} <= known:
            raise RuntimeError("Airflow forgot its runs across down/up")
        return f"{len(before)} raw and mart tables identical, both runs still recorded"

    def rerun_is_noop() -> str:
        api.clear(DAG_ID, earlier_run_id)
        finished = succeeded(api, earlier_run_id)
        figures.append(_timings_figure(api, finished, "rerun (cleared)", triggered_tries)[0])
        changed = changed_tables(before, warehouse.table_checksums(warehouse_port, password))
        if changed:
            raise RuntimeError(f"changed by the rerun of {earlier}: {changed}")
        return f"{earlier} cleared and run again; {len(before)} raw and mart tables identical"

    report.check("1. every service healthy", healthy)
    report.check(f"2. docker exec {SCHEDULER_CONTAINER} {' '.join(INIT_COMMAND)}", init_command)
    report.check("3. REST API login and unpause", login_and_unpause)
    report.check(f"4. the scheduler's own run ({expected}) succeeds", scheduled_run)
    report.check(f"5. an API-triggered earlier run ({earlier}) succeeds after it", triggered_run)
    report.check("6. marts have rows", marts_have_rows)
    report.check("7. down then up keeps the data", down_up_keeps_data)
    report.check(f"8. a rerun of {earlier} changes nothing", rerun_is_noop)
    for figure in figures:
        report.figure(figure)
    if bench:
        bytecode_figures(report)


def _refuse_foreign_scheduler() -> None:
    """The scheduler's container name is fixed; another project's container would clash."""
    result = subprocess.run(
        [
            "docker",
            "ps",
            "--all",
            "--filter",
            f"name=^{SCHEDULER_CONTAINER}$",
            "--format",
            '{{ .Label "com.docker.compose.project" }}',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    owners = set(result.stdout.split()) - {PROJECT_NAME}
    if owners:
        raise CheckFailed(
            f"a container named {SCHEDULER_CONTAINER} belongs to project {owners.pop()}: "
            "stop that stack first"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.stack", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--can-run", action="store_true", help="only say whether a Docker engine is usable"
    )
    parser.add_argument(
        "--local-images", action="store_true", help="build local images even if pullable"
    )
    parser.add_argument("--bench", action="store_true", help="also time bytecode use in the image")
    args = parser.parse_args(argv)

    if args.can_run:
        reason = None if engine.engine_answers() else engine.why_no_engine_can_start()
        print(reason or "a Docker engine answers or can be started here")
        return 1 if reason else 0

    report = Report()
    started: engine.StartedEngine | None = None
    workdir = Path(tempfile.mkdtemp(prefix="fintrade-stacktest-"))
    stack: Stack | None = None
    passed = False
    try:
        if engine.engine_answers():
            report.note("using the Docker engine that already answers")
        else:
            started = engine.start_engine(STATE_DIR)
            report.note(f"started dockerd (pid {started.process.pid}, log {started.log_path})")
        compose = engine.compose_command()
        report.note(f"compose: {' '.join(compose)}")
        _refuse_foreign_scheduler()

        began = time.monotonic()
        official = {
            name: image
            for name, image in images.image_defaults(
                (ROOT / "docker-compose.yml").read_text()
            ).items()
            if name in images.REPLACEABLE
        }
        image_plan = images.plan_images(official, args.local_images, report.note)
        report.figure(
            f"base images ready in {time.monotonic() - began:.0f} s "
            f"(built: {image_plan.built or 'none'}; reused: {image_plan.reused or 'none'})"
        )

        settings = generated_settings(
            {**image_plan.images, "AIRFLOW_IMAGE": "fintrade-stacktest/airflow:0.1.0"},
            {name: free_port() for name in PORT_VARIABLES},
        )
        env_file = workdir / "stack.env"
        write_env_file(env_file, settings)
        stack = Stack(
            compose,
            ROOT,
            env_file,
            settings,
            images.OFFLINE_BUILD_ENV if image_plan.offline else {},
        )
        report.note(
            "ports on 127.0.0.1: " + ", ".join(f"{n}={settings[n]}" for n in PORT_VARIABLES)
        )
        stack.down(volumes=True)  # leftovers of an interrupted run

        began = time.monotonic()
        stack.run("build", timeout=45 * 60)
        report.figure(f"project image built in {time.monotonic() - began:.0f} s")
        up_began = time.monotonic()
        run_checks(stack, report, args.bench)
        report.figure(
            f"checks took {(time.monotonic() - up_began) / 60:.1f} min; from nothing "
            f"to the end {(time.monotonic() - report.started) / 60:.1f} min"
        )
        passed = True
    except CheckFailed:
        pass
    except Exception as error:
        output = getattr(error, "stderr", None) or ""
        line = f"[FAIL] setup: {error}{' ' + output[-2000:] if isinstance(output, str) else ''}"
        report.lines.append(line)
        print(line, flush=True)
    finally:
        if stack is not None:
            if not passed:
                logs = stack.run("logs", "--tail", "40", check=False)
                print(logs.stdout[-6000:], flush=True)
            stack.down(volumes=True)
            report.note(f"stack {PROJECT_NAME} taken down with its volumes")
        shutil.rmtree(workdir, ignore_errors=True)
        if started is not None:
            started.stop()
            report.note(f"stopped dockerd pid {started.process.pid}")
        print(report.summary(passed), flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
