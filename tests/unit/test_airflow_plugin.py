"""Every way the project starts Airflow points it at the plugin that registers the DAG's
timetable: without it Airflow refuses to serialise the DAG ('Timetable class … is not
registered'), in `airflow dags test`, `make airflow` and the Compose stack alike."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

from data_generator.scheduling.timetable import TradingDayTimetable
from tests.support.airflow_client import PLUGINS_FOLDER, REPO_ROOT, dags_test_environ

PLUGIN_FILE = PLUGINS_FOLDER / "fintrade_plugin.py"
IMAGE_PLUGINS = "/opt/airflow/plugins"


def test_the_plugin_registers_the_timetable() -> None:
    spec = importlib.util.spec_from_file_location("fintrade_plugin", PLUGIN_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.FintradePlugin.timetables == [TradingDayTimetable]


def test_make_airflow_and_dags_test_use_the_plugins_folder(tmp_path: Path) -> None:
    makefile = (REPO_ROOT / "airflow" / "airflow.mk").read_text()
    assert re.search(
        r"^export AIRFLOW__CORE__PLUGINS_FOLDER := \$\(CURDIR\)/airflow/plugins$", makefile, re.M
    )
    env = dags_test_environ({"AIRFLOW__CORE__PLUGINS_FOLDER": "/elsewhere"}, tmp_path, tmp_path)
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(PLUGINS_FOLDER)


def test_every_airflow_container_mounts_the_plugin_where_airflow_looks() -> None:
    """Each container that reads the DAGs (the Airflow ones) reads the plugin too."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    airflow_services = {
        name: service
        for name, service in compose["services"].items()
        if "./airflow/dags:/opt/airflow/dags:ro" in service.get("volumes", [])
    }
    assert {"airflow-scheduler", "airflow-dag-processor", "airflow-apiserver"} <= set(
        airflow_services
    )
    for name, service in airflow_services.items():
        assert service["environment"]["AIRFLOW__CORE__PLUGINS_FOLDER"] == IMAGE_PLUGINS, name
        assert f"./airflow/plugins:{IMAGE_PLUGINS}:ro" in service["volumes"], name
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "COPY --chown=airflow:0 airflow/plugins ./plugins" in dockerfile
    assert re.search(r"^WORKDIR /opt/airflow$", dockerfile, re.M)
