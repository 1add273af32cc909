"""Headless Debian Chromium driven by Selenium, and the dashboard as a child process: shared by
the page tests and scripts/bench_dashboard.py.

Only the machine's own Chromium and chromedriver are used (Selenium is never left to download
a browser), with the flags that let Chromium run as root in a container.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from data_generator.settings import PROJECT_ROOT
from tests.support.ports import free_port

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1800",
)
CHART_IDS = ("price-chart", "sector-chart", "activity-chart")
SERVER_START_TIMEOUT_SECONDS = 60.0

# True once every chart's Plotly graph div has drawn its SVG with at least one trace.
CHARTS_DRAWN_JS = """
return arguments[0].every(id => {
    const gd = document.querySelector('#' + id + ' .js-plotly-plot');
    return gd && gd._fullData && gd._fullData.length > 0 && gd.querySelector('.main-svg');
});
"""


def chromium_paths() -> tuple[str, str] | None:
    """(browser, driver) from the machine's packages, or None where they are not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


# The page tests' mark: they need the browser `make browser` installs.
needs_chromium = pytest.mark.skipif(
    chromium_paths() is None,
    reason="Debian's chromium and chromium-driver are not installed and `make browser` "
    "could not install them (it needs root and apt)",
)


@contextmanager
def chromium() -> Iterator[WebDriver]:
    paths = chromium_paths()
    if paths is None:
        raise RuntimeError("chromium and chromedriver are not installed (make browser)")
    browser, driver_path = paths
    with tempfile.TemporaryDirectory(prefix="fintrade-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            yield driver
        finally:
            driver.quit()


@contextmanager
def dashboard_server(environ: dict[str, str], log_dir: Path, *args: str) -> Iterator[str]:
    """`python -m data_generator.dashboard <args>` on a free port; yields its address once it
    answers, and stops it by pid. Its output is in `log_dir/dashboard.log`."""
    port = free_port()
    env = {**environ, "DASHBOARD_HOST": "127.0.0.1", "DASHBOARD_PORT": str(port)}
    log_path = log_dir / "dashboard.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "data_generator.dashboard", *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    address = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_answering(address, process, log_path)
        yield address
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_until_answering(address: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the dashboard exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(address, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the dashboard did not answer on {address}")


def load_until_charts_drawn(driver: WebDriver, address: str, timeout: float = 30.0) -> float:
    """Open the page and wait until every chart is drawn; returns milliseconds from navigation
    start, as the browser measured them."""
    driver.get(address)
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script(CHARTS_DRAWN_JS, list(CHART_IDS))
    )
    return float(driver.execute_script("return performance.now()"))


def browser_cpu_seconds(driver: WebDriver) -> float:
    """CPU time (user + system) used so far by the browser's processes, all descendants of the
    chromedriver this driver started: on a shared machine a steadier figure than wall time."""
    ticks, pending = 0, [driver.service.process.pid]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def console_errors(driver: WebDriver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
