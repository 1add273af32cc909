"""`RunStatus` is the one list of what the loader writes to raw.ingest_runs.status: the table's
check constraint and the staging model's accepted_values must accept exactly its values, or a
day the vendor is at its limit (a `daily_limit` row) fails the dbt build."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from data_generator.settings import DBT_PROJECT_DIR, INIT_SQL
from data_generator.storage.ingest_runs import RunStatus

STG_INGEST_RUNS = DBT_PROJECT_DIR / "models" / "staging" / "stg_ingest_runs.yml"
STATUS_CHECK = re.compile(r"ingest_runs_status_check check \(\s*status in \(([^)]*)\)")


def accepted_run_statuses(models_file: Path) -> set[str]:
    models = yaml.safe_load(models_file.read_text())["models"]
    model = next(m for m in models if m["name"] == "stg_ingest_runs")
    column = next(c for c in model["columns"] if c["name"] == "run_status")
    (test,) = [t for t in column["data_tests"] if "accepted_values" in t]
    return set(test["accepted_values"]["arguments"]["values"])


def test_stg_ingest_runs_accepts_every_status_the_loader_writes() -> None:
    assert accepted_run_statuses(STG_INGEST_RUNS) == {status.value for status in RunStatus}


def test_the_table_constraint_allows_every_status_the_loader_writes() -> None:
    match = STATUS_CHECK.search(INIT_SQL.read_text())
    assert match is not None, "raw.ingest_runs' status check constraint not found in init.sql"
    allowed = {value.strip().strip("'") for value in match.group(1).split(",")}
    assert allowed == {status.value for status in RunStatus}


def test_a_status_missing_from_the_model_is_seen(tmp_path: Path) -> None:
    """The guard against a check that cannot fail: drop one value and the sets differ."""
    narrowed = STG_INGEST_RUNS.read_text().replace(', "daily_limit"]', "]")
    models_file = tmp_path / "stg_ingest_runs.yml"
    models_file.write_text(narrowed)
    assert accepted_run_statuses(models_file) == {s.value for s in RunStatus} - {"daily_limit"}
