# FinTrade DW: `make demo` runs the pipeline end to end, `make test` runs every test.
# Both set the machine up themselves: uv (installed with pip if missing), the locked
# environment, and local PostgreSQL / S3 servers when none are configured.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
# The last NYSE session before today (UTC): a weekend or holiday date would make the DAG skip
# every task (docs/airflow.md), leaving the demo nothing to show.
DATE ?= $(shell $(VENV)/bin/python -c 'import datetime as d; from data_generator.reference.trading_calendar import last_session_on_or_before as s; print(s(d.datetime.now(d.UTC).date() - d.timedelta(days=1)))' 2>/dev/null || date -u -d yesterday +%F)
PYTEST_ARGS ?=
STACK_TEST_ARGS ?=

export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help setup services-up services-down services-status demo test test-unit test-duckdb lint bench browser dashboard stack-test dbt-duckdb

help:
	@echo "make demo     set up, start local services, run the pipeline for DATE=$(DATE), show marts"
	@echo "make test     set up and run every test (pytest: ingestion, dbt, Airflow DAG, compose)"
	@echo "make test-unit  the fast tier only: pure logic, no servers (tests/unit)"
	@echo "make test-duckdb  the DuckDB engine's parity and dashboard tests (docs/engines.md)"
	@echo "make lint     ruff + sqlfluff + mypy"
	@echo "make stack-test  the Docker Compose stack, up for real and checked (needs a Docker engine)"
	@echo "make airflow  the Airflow UI on http://127.0.0.1:8080 (services must be up)"
	@echo "make dashboard  the dashboard over the marts on http://127.0.0.1:\$$DASHBOARD_PORT (8050)"
	@echo "make dbt-duckdb  dbt build on DuckDB from the lake, no PostgreSQL (docs/engines.md)"
	@echo "make services-up | services-down | services-status"

# Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE=1 (set on many machines and
# images) every Airflow task and dbt process would otherwise recompile its imports.
$(VENV)/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --compile-bytecode
	@touch $@

DASHBOARD_JS := data_generator/dashboard/node_modules/.package-lock.json

# Plotly's basic bundle for the dashboard, from npm at the locked version, when npm is on the
# machine; without it the dashboard serves the plotly wheel's full bundle (slower first load).
$(DASHBOARD_JS): data_generator/dashboard/package.json data_generator/dashboard/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "dashboard: npm not found, it will serve Plotly's full bundle"; \
	elif ! npm ci --prefix data_generator/dashboard --no-audit --no-fund --loglevel=error; then \
		echo "dashboard: npm ci failed, it will serve Plotly's full bundle"; fi

setup: $(VENV)/.synced $(DASHBOARD_JS)

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
	@$(BIN)/python -m data_generator.dashboard --print-address

# The dashboard over the marts, on the warehouse `make demo` built. Ctrl-C stops it.
dashboard: services-up
	$(BIN)/python -m data_generator.dashboard

# The dbt project on DuckDB, from the lake only: the lake's server is started if local, never
# PostgreSQL. The lake must hold a pipeline day (`make demo` or `fintrade run`).
dbt-duckdb: setup
	$(BIN)/fintrade build --engine duckdb

# Debian's Chromium and its driver for the page tests: installed when missing and we are root,
# else the page tests skip and say why.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get -o DPkg::Lock::Timeout=300 update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
			--no-install-recommends chromium chromium-driver; \
	else echo "browser: chromium and chromium-driver are missing and this is not root:" \
		"the page tests will skip"; fi

test: setup browser
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: setup
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# The second engine's tests alone (docs/engines.md): a demo day built on PostgreSQL and on DuckDB
# from the lake, every mart column compared, the dashboard over DuckDB. `make test` runs them too.
test-duckdb: setup browser
	$(BIN)/pytest tests/unit/test_engine_parity_compare.py tests/integration/test_engine_parity.py \
		tests/integration/test_dashboard_duckdb.py $(PYTEST_ARGS)

# The Compose stack with a real Docker engine (started here when none answers and this is root):
# official images where pullable, else local builds from docker/local-images/. See docs/docker.md.
# STACK_TEST_ARGS=--bench adds bytecode start-up timings inside the image.
stack-test: setup
	$(BIN)/python -m tests.stack $(STACK_TEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt/fintrade/models dbt/fintrade/tests
	$(BIN)/mypy

bench: services-up
	$(BIN)/python scripts/bench_ingest.py
	$(BIN)/python scripts/bench_dbt.py
	$(BIN)/python scripts/bench_dag.py

include airflow/airflow.mk

airflow-db: setup
