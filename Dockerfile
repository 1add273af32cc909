# syntax=docker/dockerfile:1
# FinTrade DW's Airflow image: Airflow and Python from the official image, every other package
# at the version in uv.lock, and the project itself. The base tag's Airflow and Python versions
# must match uv.lock; tests/test_compose.py checks that, as no image is built on the dev machine.

# The base images are build arguments, so a site without registry access can build FROM its own
# equivalents; docker-compose.yml passes AIRFLOW_BASE_IMAGE and UV_IMAGE with these defaults.
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9
ARG AIRFLOW_BASE_IMAGE=apache/airflow:3.3.2-python3.11

FROM ${UV_IMAGE} AS uv

FROM ${AIRFLOW_BASE_IMAGE}

# The uv that wrote uv.lock reads it; the image's own uv may be older than the lock format.
COPY --from=uv /uv /opt/uv/bin/uv

WORKDIR /opt/airflow

# Dependencies in their own layer, so a code change does not reinstall them. The export carries
# pyproject's [tool.uv] override (dbt-core-experimental-parser==2.0.0a4: later versions build from
# source and download from GitHub), which a plain `pip install .` would not apply. apache-airflow
# in it is the version the image already has, so Airflow stays as the image built it. uv installs
# into the image's environment ($VIRTUAL_ENV, /home/airflow/.local), with bytecode compiled once
# here: otherwise every task process and dbt call compiles its imports afresh. The `localdev`
# group (a PostgreSQL server wheel, SeaweedFS) stays out: the stack runs its own servers.
COPY --chown=airflow:0 pyproject.toml uv.lock ./
RUN /opt/uv/bin/uv export --frozen --no-dev --no-group localdev --no-emit-project --no-hashes \
        --output-file /tmp/requirements.txt \
    && /opt/uv/bin/uv pip install --no-cache --compile-bytecode --requirements /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY --chown=airflow:0 data_generator ./data_generator
COPY --chown=airflow:0 sql ./sql
COPY --chown=airflow:0 dbt ./dbt
COPY --chown=airflow:0 airflow/dags ./dags
COPY --chown=airflow:0 airflow/plugins ./plugins

# Editable, so data_generator finds sql/ and dbt/ beside itself in /opt/airflow, as in a checkout,
# and `python /opt/airflow/data_generator/generate_data.py` runs the code that is installed.
# /opt/airflow/auth is created here so the named volume mounted on it belongs to airflow.
RUN /opt/uv/bin/uv pip install --no-cache --compile-bytecode --no-deps --editable . \
    && mkdir -p /opt/airflow/auth
