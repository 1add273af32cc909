"""The transform step: runs the dbt project and reports its outcome in one line.

dbt runs as a child process of this same environment (the executable next to the interpreter),
so the CLI, Airflow tasks and tests all build with the locked dbt version and its output cannot
mix with ours. Which nodes failed is read from the results file dbt writes for every command,
not from its log text, whose wording changes between releases.

On DuckDB (`engine=Engine.DUCKDB`) nothing of PostgreSQL is involved: dbt reads raw from the
lake (dbt/fintrade/macros/lake/raw_from_lake.sql) into a copy of the DuckDB file, which replaces
the file only once the whole build passed, so a failed build leaves the last good one as it was.
"""

from __future__ import annotations

import fcntl
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from data_generator.errors import FintradeError, first_line
from data_generator.settings import DBT_PROJECT_DIR, IN_CHECKOUT, Engine, Settings
from data_generator.storage.roles import Role, as_role
from data_generator.storage.warehouse import WarehouseError, connect_existing

DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"

# dbt needs only the warehouse: the API key and S3 credentials stay out of its environment,
# and so out of anything it might log. The DuckDB build alone is given the lake's key pair, under
# the profile's DBT_ENV_SECRET_ names (Settings.duckdb_lake_environ), never inherited.
WITHHELD_VARIABLES = frozenset(
    {
        "ALPHA_VANTAGE_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "FINTRADE_DUCKDB_S3_ACCESS_KEY_ID",
        "FINTRADE_DUCKDB_S3_SECRET_ACCESS_KEY",
    }
)
WITHHELD_PREFIXES = ("DBT_ENV_SECRET_FINTRADE_",)
# The extension file the duckdb-extension-httpfs wheel carries for the locked DuckDB.
HTTPFS_FILE = (
    Path(str(importlib.resources.files("duckdb_extension_httpfs").joinpath("extensions")))
    / f"v{duckdb.__version__}"
    / "httpfs.duckdb_extension"
)
LAKE_HOOK = "fintrade-on-run-start"
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
WARNING_STATUSES = frozenset({"warn"})
SUMMARY_PREFIXES = ("Finished running", "Done.")
LOG_TIMESTAMP = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?\s+")
MAX_NAMED_NODES = 5


class DbtBuildError(FintradeError):
    """dbt reported failing nodes or could not run; the message names them on one line."""


@dataclass(frozen=True)
class DbtResult:
    """What a successful dbt command reported: its summary for people, the nodes that only
    warned (a stale-ish source, a warn-severity test), and its full output for logs."""

    summary: str
    warnings: tuple[str, ...]
    output: str


def build(
    settings: Settings,
    select: str | None = None,
    full_refresh: bool = False,
    vars: dict[str, object] | None = None,
    engine: Engine = Engine.POSTGRES,
    project_dir: Path = DBT_PROJECT_DIR,
) -> DbtResult:
    """`dbt build`: models, their unit and data tests, in dependency order, stopping downstream
    of a failure. Raises DbtBuildError naming the failing models and tests (on DuckDB, or the
    lake object that could not be read). `project_dir` builds another copy of the project on
    PostgreSQL (a benchmark's previous release beside this one)."""
    args = ["build"]
    if select:
        # Only tests whose models are selected or upstream of them: building `core` must not run
        # a relationships test from a mart model (not built yet) to a core dimension.
        args += ["--select", select, "--indirect-selection", "buildable"]
    if full_refresh:
        args.append("--full-refresh")
    if vars:
        args += ["--vars", json.dumps(vars)]
    if engine is Engine.DUCKDB:
        return _build_duckdb(settings, args)
    with _one_build_at_a_time(settings):
        return _run_dbt(settings, args, results_file="run_results.json", project_dir=project_dir)


def _build_duckdb(settings: Settings, args: list[str]) -> DbtResult:
    """Build into a copy of the DuckDB file (incremental models keep what they had), and move it
    into place only when dbt succeeded. A lock file beside it serialises two builds of it."""
    target = settings.duckdb_file
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.building")
    with _file_lock(target.with_name(f".{target.name}.lock")):
        _install_httpfs(settings.duckdb_extension_dir)
        building.unlink(missing_ok=True)
        if target.exists():
            shutil.copyfile(target, building)
        environ = {
            **_inherited_environ(),
            **settings.duckdb_lake_environ(),
            "FINTRADE_DUCKDB_PATH": str(building),
            "FINTRADE_DUCKDB_EXTENSIONS": str(settings.duckdb_extension_dir),
        }
        try:
            result = _run_dbt(
                settings,
                [*args, "--target", Engine.DUCKDB.value],
                results_file="run_results.json",
                environ=environ,
                run_dir_path=run_dir(settings, Engine.DUCKDB),
            )
        except BaseException:
            building.unlink(missing_ok=True)
            raise
        building.replace(target)
    return result


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install_httpfs(extension_dir: Path) -> None:
    """httpfs from the duckdb-extension-httpfs wheel into the project's extension directory, once:
    DuckDB then loads it from there and never downloads one."""
    if not HTTPFS_FILE.is_file():
        raise DbtBuildError(
            f"the duckdb-extension-httpfs wheel has no httpfs for DuckDB {duckdb.__version__}"
        )
    config: dict[str, str | bool | int | float | list[str]] = {
        "extension_directory": str(extension_dir),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    try:
        with duckdb.connect(config=config) as conn:
            installed = conn.execute(
                "select installed from duckdb_extensions() where extension_name = 'httpfs'"
            ).fetchone()
            if not (installed and installed[0]):
                conn.install_extension(str(HTTPFS_FILE))
    except duckdb.Error as exc:
        raise DbtBuildError(
            f"cannot install httpfs into {extension_dir}: {first_line(exc)}"
        ) from None


@contextmanager
def _one_build_at_a_time(settings: Settings) -> Iterator[None]:
    """Hold the database's build lock while dbt runs: a manual `fintrade run` during the
    scheduler's build waits for it instead of swapping the same models underneath it. The lock
    belongs to a session, so a killed build releases it with its connection."""
    try:
        conn = connect_existing(as_role(settings, Role.TRANSFORMER))
    except WarehouseError:
        # No warehouse to build in: nothing to serialise, and dbt says in one line why it fails.
        yield
        return
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select pg_advisory_lock(hashtext('fintrade.dbt_build'))")
        yield
    finally:
        conn.close()


def run_dir(settings: Settings, engine: Engine = Engine.POSTGRES) -> Path:
    """dbt's target and log folder for this warehouse: runs against different databases (tests,
    benchmarks) never read each other's results, and a failing test's compiled SQL stays there
    to be read. Whoever drops a throwaway database removes its folder too. An installed wheel
    keeps them in the state folder, out of the package's own files. A DuckDB build's folder is
    its file's, beside the PostgreSQL one of the same settings."""
    runs = DBT_PROJECT_DIR / "target" / "runs" if IN_CHECKOUT else settings.local_state_dir / "dbt"
    if engine is Engine.DUCKDB:
        return runs / f"{settings.pg_database}.duckdb"
    return runs / settings.pg_database


def duckdb_results(settings: Settings) -> Path:
    """The results file of the settings' last DuckDB build (dbt's run_results.json)."""
    return run_dir(settings, Engine.DUCKDB) / "run_results.json"


def _run_dbt(
    settings: Settings,
    args: list[str],
    results_file: str,
    *,
    environ: dict[str, str] | None = None,
    run_dir_path: Path | None = None,
    project_dir: Path = DBT_PROJECT_DIR,
) -> DbtResult:
    run_dir_path = run_dir_path or run_dir(settings)
    results_path = run_dir_path / results_file
    results_path.unlink(missing_ok=True)
    command = [
        str(DBT_EXECUTABLE),
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(run_dir_path),
        "--log-path",
        str(run_dir_path / "logs"),
        "--no-use-colors",
    ]
    completed = subprocess.run(
        command,
        cwd=project_dir,
        env=environ if environ is not None else _dbt_environ(settings),
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout + completed.stderr
    label = "dbt " + " ".join(args[:2] if args[0] == "source" else args[:1])
    if completed.returncode != 0:
        raise DbtBuildError(_failure_message(label, completed.returncode, results_path, output))
    warnings = tuple(_nodes_with_status(results_path, WARNING_STATUSES))
    return DbtResult(summary=_summary(output), warnings=warnings, output=output)


def _inherited_environ() -> dict[str, str]:
    """The caller's environment (PATH, locale, DBT_* knobs), as any CLI would pass it, without
    the secrets dbt is not given."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in WITHHELD_VARIABLES and not k.startswith(WITHHELD_PREFIXES)
    }


def _dbt_environ(settings: Settings) -> dict[str, str]:
    inherited = _inherited_environ()
    # libpq's own variable: dbt's connections speak UTF-8 even to an SQL_ASCII database, whose
    # default client encoding would make psycopg2 reject any non-ASCII character in the SQL.
    # dbt builds as the role that owns staging, core and mart, and may only read raw: the
    # profile's default `transformer` target, whose password variable is set here.
    transformer = as_role(settings, Role.TRANSFORMER)
    return {
        **inherited,
        **transformer.pg_environ(),
        "FINTRADE_TRANSFORMER_PASSWORD": transformer.pg_password or "",
        "PGCLIENTENCODING": "UTF8",
    }


def _summary(output: str) -> str:
    lines = (LOG_TIMESTAMP.sub("", line).strip() for line in output.splitlines())
    return "\n".join(line for line in lines if line.startswith(SUMMARY_PREFIXES))


def _failure_message(label: str, returncode: int, results_path: Path, output: str) -> str:
    hook_error = _failed_hook_error(results_path)
    if hook_error is not None:
        return f"{label} failed building raw from the lake: {hook_error}"
    failed = _nodes_with_status(results_path, FAILED_STATUSES)
    if not failed:
        return f"{label} failed (exit {returncode}): {_last_line(output)}"
    named = ", ".join(failed[:MAX_NAMED_NODES])
    more = f" and {len(failed) - MAX_NAMED_NODES} more" if len(failed) > MAX_NAMED_NODES else ""
    return f"{label} failed: {named}{more}"


def _failed_hook_error(results_path: Path) -> str | None:
    """The error of the DuckDB build's raw_from_lake hook, whose last line names the lake object
    it could not read (a damaged snapshot, a missing extract), or None when it did not fail."""
    if not results_path.is_file():
        return None
    for result in json.loads(results_path.read_text()).get("results", []):
        if result.get("unique_id", "").endswith(LAKE_HOOK + "-0") and result.get("status") in (
            FAILED_STATUSES
        ):
            return _last_line(result.get("message") or "")
    return None


def _nodes_with_status(results_path: Path, statuses: frozenset[str]) -> list[str]:
    if not results_path.is_file():
        return []
    results = json.loads(results_path.read_text()).get("results", [])
    return [
        f"{_node_name(result['unique_id'])} ({result['status']})"
        for result in results
        if result.get("status") in statuses
    ]


def _node_name(unique_id: str) -> str:
    """The name a person knows a node by: 'test.fintrade.not_null_x.ab12' → 'not_null_x',
    'source.fintrade.raw.stocks' → 'raw.stocks'."""
    kind, _project, *rest = unique_id.split(".")
    if kind == "source":
        return ".".join(rest)
    if kind == "unit_test":
        return rest[-1]
    return rest[0]


def _last_line(output: str) -> str:
    lines = [LOG_TIMESTAMP.sub("", line).strip() for line in output.splitlines()]
    meaningful = [line for line in lines if line]
    return meaningful[-1] if meaningful else "no output"
