# Local Airflow for FinTrade, no Docker: included by the root Makefile.
# The targets assume the warehouse and the lake answer (PG* and AWS_* exported, or the
# project's local services up); the root Makefile takes care of that.

VENV ?= .venv
AIRFLOW := $(VENV)/bin/airflow
AIRFLOW_HOST ?= 127.0.0.1
AIRFLOW_PORT ?= 8080
# The logical date `make airflow-dag-test` runs (the root Makefile sets the same default): the
# last NYSE session before today (UTC).
DATE ?= $(shell $(VENV)/bin/python -c 'import datetime as d; from data_generator.reference.trading_calendar import last_session_on_or_before as s; print(s(d.datetime.now(d.UTC).date() - d.timedelta(days=1)))' 2>/dev/null || date -u -d yesterday +%F)

# SQLite metadata under a git-ignored folder, no example DAGs, and parallelism sized for a
# 2-core machine. The venv's bin goes first on PATH so tasks find `dbt` and `weed`.
# AIRFLOW_HOME and AIRFLOW_PORT can be overridden (the scheduler test runs its own instance).
AIRFLOW_HOME ?= $(CURDIR)/.local/airflow
export AIRFLOW_HOME
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/airflow/dags
# The project's plugin registers the DAG's trading-day timetable (Airflow loads no other).
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/airflow/plugins
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

# EXECUTOR=local (the default): tasks run in the scheduler's LocalExecutor processes.
# EXECUTOR=celery: the scheduler queues them to Celery through Redis (FINTRADE_REDIS_URL, else a
# project-local redis-server that this make starts and stops), and CELERY_WORKERS `airflow celery
# worker` processes run them, each up to CELERY_WORKER_CONCURRENCY at once (PARALLELISM above
# still caps the total). Results go to a SQLite file beside the metadata database: scheduler and
# workers share this machine. Workers on other machines: docs/airflow.md, "Celery".
EXECUTOR ?= local
CELERY_WORKERS ?= 1
CELERY_WORKER_CONCURRENCY ?= 2
ifeq ($(EXECUTOR),celery)
export AIRFLOW__CORE__EXECUTOR := CeleryExecutor
export AIRFLOW__CELERY__RESULT_BACKEND := db+sqlite:///$(AIRFLOW_HOME)/celery-results.db
export AIRFLOW__CELERY__WORKER_CONCURRENCY := $(CELERY_WORKER_CONCURRENCY)
# The broker URL is only known once the Redis answers: exported by the recipe, from the shell.
REDIS_MODULE := $(VENV)/bin/python -m data_generator.localdev.redis_server
REDIS_UP := broker=$$($(REDIS_MODULE) up --owner $$$$) || exit 1; \
	export AIRFLOW__CELERY__BROKER_URL="$$broker";
REDIS_DOWN := $(REDIS_MODULE) down --owner $$$$
CELERY_WORKERS_START := for n in $$(seq 1 $(CELERY_WORKERS)); do \
	$(AIRFLOW) celery worker --skip-serve-logs --queues default \
		--celery-hostname "worker$$n@%h" --pid "$(AIRFLOW_HOME)/celery-worker-$$n.pid" & \
	done;
else ifeq ($(EXECUTOR),local)
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
else
$(error EXECUTOR must be local or celery, got '$(EXECUTOR)')
endif

AIRFLOW_PASSWORDS_FILE := $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated

.PHONY: airflow-db airflow-dag-test airflow

## airflow-db: create or upgrade Airflow's SQLite metadata database (safe to repeat)
airflow-db:
	@mkdir -p "$(AIRFLOW_HOME)"
	$(AIRFLOW) db migrate

## airflow-dag-test: run the whole DAG once for DATE (YYYY-MM-DD) in-process, no scheduler
airflow-dag-test: airflow-db
	$(AIRFLOW) dags test fintrade_pipeline $(DATE)

## airflow: the Airflow UI on http://127.0.0.1:8080 (with scheduler and dag-processor;
## EXECUTOR=celery adds CELERY_WORKERS Celery workers and their Redis)
# Not `airflow standalone`: it starts the scheduler's log server on every interface (port 8793).
# The api-server reads task logs from $(AIRFLOW_HOME)/logs itself, so no log server is needed
# (Celery workers here write to the same folder); nor a triggerer, as no task defers. Ctrl-C, or
# any one of them exiting, stops them all, and then the Redis this make started, if it did.
airflow: airflow-db
	@echo "Airflow UI: http://$(AIRFLOW_HOST):$(AIRFLOW_PORT)  user: admin  executor: $(EXECUTOR)"
	@echo "The admin password is written to $(AIRFLOW_PASSWORDS_FILE)"
	@echo "(created when the api-server starts; 'cat' it in another terminal). Stop with Ctrl-C."
	@trap 'kill $$(jobs -p) 2>/dev/null; wait; $(REDIS_DOWN)' EXIT INT TERM; \
	$(REDIS_UP) \
	$(AIRFLOW) scheduler --skip-serve-logs & \
	$(AIRFLOW) dag-processor & \
	$(AIRFLOW) api-server & \
	$(CELERY_WORKERS_START) \
	wait -n
