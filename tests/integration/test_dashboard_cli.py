"""`python -m data_generator.dashboard` as `make demo` and `make dashboard` run it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from data_generator.settings import PROJECT_ROOT


def run_dashboard(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHBOARD_")}
    return subprocess.run(
        [sys.executable, "-m", "data_generator.dashboard", *args],
        cwd=PROJECT_ROOT,
        env={**env, **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_print_address_names_the_configured_port():
    result = run_dashboard("--print-address", DASHBOARD_PORT="18123")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("open http://127.0.0.1:18123/")


def test_a_port_in_use_is_one_line_and_a_non_zero_exit():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_dashboard(DASHBOARD_PORT=str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"dashboard: 127.0.0.1:{port} is in use; set DASHBOARD_PORT to a free port"
    )


def test_a_bad_port_setting_is_named():
    result = run_dashboard("--print-address", DASHBOARD_PORT="eighty")
    assert result.returncode == 2
    assert result.stderr.strip() == "dashboard: DASHBOARD_PORT must be a whole number, got 'eighty'"


def test_an_unknown_engine_is_named_with_the_choices():
    result = run_dashboard("--engine", "sqlite", "--print-address")
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.endswith("invalid choice: 'sqlite' (choose from 'postgres', 'duckdb')")
