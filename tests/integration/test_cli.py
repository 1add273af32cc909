"""The command line as users run it: the original entry point, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys

from data_generator.settings import PROJECT_ROOT, Settings
from tests.support.harness import run_fintrade, settings_environ
from tests.support.warehouse import query


def generate_data(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`python data_generator/generate_data.py …`, run as a file path like the original README."""
    return subprocess.run(
        [sys.executable, "data_generator/generate_data.py", *args],
        env=settings_environ(settings),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_original_entry_point_initialises_then_adds_a_day(settings):
    first = generate_data(settings, "--init", "--date", "2026-11-25", "--symbols", "AAPL,JPM")

    assert first.returncode == 0, first.stderr
    assert query(settings, "select count(*) from raw.accounts") == [(50,)]
    assert query(settings, "select count(distinct symbol) from raw.daily_prices") == [(2,)]

    daily = generate_data(settings, "--date", "2026-11-27", "--symbols", "AAPL,JPM")

    assert daily.returncode == 0, daily.stderr
    new_orders = query(
        settings, "select count(*) from raw.orders where order_id like %s", ("ORD20261127%",)
    )
    assert new_orders[0][0] > 0


def test_bad_input_fails_with_one_line_naming_it(settings):
    cases = {
        ("ingest", "--date", "2026-02-30"): "not a date (YYYY-MM-DD): '2026-02-30'",
        ("ingest", "--date", "2026-11-25", "--symbols", "AAPL,NOPE"): "not in the universe: NOPE",
        ("replay",): "cannot list s3://",
    }
    for args, reason in cases.items():
        result = run_fintrade(settings, *args)
        assert result.returncode != 0, args
        assert reason in result.stderr.strip().splitlines()[-1], (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_bad_setting_names_the_variable(settings):
    broken = settings.with_overrides(alpha_vantage_outputsize="huge")

    result = run_fintrade(broken, "ingest", "--date", "2026-11-25")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "fintrade ingest: ALPHA_VANTAGE_OUTPUTSIZE must be one of auto, compact, full, got 'huge'"
    )


def test_services_status_prints_how_to_connect(settings):
    result = run_fintrade(settings, "services", "status")

    assert result.returncode == 0, result.stderr
    assert f"psql -h {settings.pg_host} -p {settings.pg_port}" in result.stdout
    assert f"endpoint {settings.aws_endpoint_url}" in result.stdout
