# FinTrade DW: `make demo` runs the pipeline end to end, `make test` runs every test.
# Both set the machine up themselves: uv (installed with pip if missing), the locked
# environment, and local PostgreSQL / S3 servers when none are configured.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
DATE ?= $(shell date -u -d yesterday +%F)
PYTEST_ARGS ?=

export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help setup services-up services-down services-status demo test lint bench

help:
	@echo "make demo     set up, start local services, run the pipeline for DATE=$(DATE), show marts"
	@echo "make test     set up and run every test (pytest: ingestion, dbt, Airflow DAG, compose)"
	@echo "make lint     ruff + sqlfluff"
	@echo "make airflow  the Airflow UI on http://127.0.0.1:8080 (services must be up)"
	@echo "make services-up | services-down | services-status"

# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE=1 (set on many machines and
# images) every Airflow task and dbt process would otherwise recompile its imports.
$(VENV)/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

setup: $(VENV)/.synced

services-up: setup
	$(BIN)/fintrade services up
	@$(BIN)/fintrade services status

services-down: setup
	$(BIN)/fintrade services down

services-status: setup
	$(BIN)/fintrade services status

# The main job runs through the real Airflow: the DAG for one logical date, then a few marts.
demo: services-up
	$(MAKE) --no-print-directory airflow-dag-test DATE=$(DATE)
	$(BIN)/python scripts/show_marts.py

test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt/fintrade/models dbt/fintrade/tests

bench: services-up
	$(BIN)/python scripts/bench_ingest.py
	$(BIN)/python scripts/bench_dbt.py
	$(BIN)/python scripts/bench_dag.py

include airflow/airflow.mk

airflow-db: setup
