"""The runtime dependency set is complete: what the image and any `--no-dev` install get.

The Dockerfile installs `uv export --no-dev`; a module imported at run time but reaching the lock
only through a dev tool (numpy came in through pandas once) breaks the DAG in the image while
every test in the dev environment passes. So: a fresh venv with `--no-dev`, then import every
module of the package and the DAG file there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from data_generator.settings import PROJECT_ROOT

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
        [*command, "sync", "--frozen", "--no-dev", "--quiet"],
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
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert "and the DAG" in imported.stdout
