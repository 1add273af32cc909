"""The runtime dependency set is complete: what the image and any `--no-dev` install get.

The Dockerfile installs `uv export --no-dev --no-group localdev`; a module imported at run time
but reaching the lock only through a dev tool (numpy came in through pandas once) breaks the DAG
in the image while every test in the dev environment passes. So: a fresh venv the same way,
then import every module of the package and the DAG file there. The local-development servers
(the `localdev` group) are absent, so their modules import lazily and say what is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from data_generator.settings import PROJECT_ROOT

NO_LOCAL_SERVERS = """
from data_generator.errors import FintradeError
from data_generator.localdev import postgres, seaweedfs
from data_generator.settings import load_settings
settings = load_settings({"FINTRADE_POSTGRES_SERVER": "embedded", "FINTRADE_LAKE_MODE": "local"})
for start in (lambda: postgres.postgres_binaries(settings), lambda: seaweedfs.ensure_s3(settings)):
    try:
        start()
    except FintradeError as exc:
        print(exc)
"""
IMPORT_EVERYTHING = """
import importlib, pkgutil, runpy, sys
import data_generator
names = [m.name for m in pkgutil.walk_packages(data_generator.__path__, "data_generator.")]
for name in names:
    importlib.import_module(name)
runpy.run_path(sys.argv[1])
print(f"imported {len(names)} modules and the DAG")
"""


def test_every_module_and_the_dag_import_in_a_no_dev_install(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIRTUAL_ENV", "UV_", "AIRFLOW", "PG", "FINTRADE_", "ALPHA_"))
    }
    env.update({"UV_PROJECT_ENVIRONMENT": str(venv), "AIRFLOW_HOME": str(tmp_path / "airflow")})
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    command = [uv] if uv else ["python3", "-m", "uv"]
    subprocess.run(
        [*command, "sync", "--frozen", "--no-dev", "--no-group", "localdev", "--quiet"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    python = venv / "bin" / "python"

    no_dev_tools = subprocess.run(
        [str(python), "-c", "import pandas"], capture_output=True, text=True, env=env
    )
    imported = subprocess.run(
        [
            str(python),
            "-c",
            IMPORT_EVERYTHING,
            str(PROJECT_ROOT / "airflow/dags/fintrade_pipeline.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert no_dev_tools.returncode != 0, "pandas (a dev tool) is in the --no-dev install"
    no_servers = subprocess.run(
        [str(python), "-c", NO_LOCAL_SERVERS],
        cwd=tmp_path,
        env=env | {"FINTRADE_STATE_DIR": str(tmp_path / "state"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_servers.returncode == 0, no_servers.stderr[-2000:]
    reasons = no_servers.stdout.splitlines()
    assert len(reasons) == 2, no_servers.stdout
    assert all("'localdev' dependency group" in reason for reason in reasons), reasons
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert "and the DAG" in imported.stdout
