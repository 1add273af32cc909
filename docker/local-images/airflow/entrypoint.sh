#!/usr/bin/env bash
# The part of the official Airflow image's entrypoint the compose file uses: `bash ...` and
# `python ...` run as given, anything else is an airflow command (`airflow` itself optional).
set -euo pipefail
case "${1:-}" in
    bash) shift; exec /bin/bash "$@" ;;
    python) shift; exec python "$@" ;;
    airflow) shift ;;
esac
exec airflow "$@"
