# Local Airflow for FinTrade, no Docker: included by the root Makefile.
# The targets assume the warehouse and the lake answer (PG* and AWS_* exported, or the
# project's local services up); the root Makefile takes care of that.

VENV ?= .venv
AIRFLOW := $(VENV)/bin/airflow
AIRFLOW_HOST ?= 127.0.0.1
AIRFLOW_PORT ?= 8080
# The logical date `make airflow-dag-test` runs (the root Makefile sets the same default).
DATE ?= $(shell date -u -d yesterday +%F)

# SQLite metadata under a git-ignored folder, no example DAGs, and parallelism sized for a
# 2-core machine. The venv's bin goes first on PATH so tasks find `dbt` and `weed`.
# AIRFLOW_HOME and AIRFLOW_PORT can be overridden (the scheduler test runs its own instance).
AIRFLOW_HOME ?= $(CURDIR)/.local/airflow
export AIRFLOW_HOME
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/airflow/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__PARALLELISM := 2
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG := 2
export AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG := 1
export AIRFLOW__CORE__AUTH_MANAGER := airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS := admin:admin
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL := http://$(AIRFLOW_HOST):$(AIRFLOW_PORT)/execution/
export AIRFLOW__API__HOST := $(AIRFLOW_HOST)
export AIRFLOW__API__PORT := $(AIRFLOW_PORT)
export AIRFLOW__API__WORKERS := 1
export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES := 1
export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK := False
export PATH := $(abspath $(VENV))/bin:$(PATH)

AIRFLOW_PASSWORDS_FILE := $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated

.PHONY: airflow-db airflow-dag-test airflow

## airflow-db: create or upgrade Airflow's SQLite metadata database (safe to repeat)
airflow-db:
	@mkdir -p "$(AIRFLOW_HOME)"
	$(AIRFLOW) db migrate

## airflow-dag-test: run the whole DAG once for DATE (YYYY-MM-DD) in-process, no scheduler
airflow-dag-test: airflow-db
	$(AIRFLOW) dags test fintrade_pipeline $(DATE)

## airflow: the Airflow UI on http://127.0.0.1:8080 (with scheduler and dag-processor)
# Not `airflow standalone`: it starts the scheduler's log server on every interface (port 8793).
# The api-server reads task logs from $(AIRFLOW_HOME)/logs itself, so no log server is needed;
# nor a triggerer, as no task defers. Ctrl-C stops all three.
airflow: airflow-db
	@echo "Airflow UI: http://$(AIRFLOW_HOST):$(AIRFLOW_PORT)  user: admin"
	@echo "The admin password is written to $(AIRFLOW_PASSWORDS_FILE)"
	@echo "(created when the api-server starts; 'cat' it in another terminal). Stop with Ctrl-C."
	@trap 'kill $$(jobs -p) 2>/dev/null; wait' EXIT INT TERM; \
	$(AIRFLOW) scheduler --skip-serve-logs & \
	$(AIRFLOW) dag-processor & \
	$(AIRFLOW) api-server & \
	wait
