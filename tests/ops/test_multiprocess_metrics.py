"""Provider request metrics counted in other processes reach a scrape: through the web process's
/metrics when it shares PROMETHEUS_MULTIPROC_DIR with them, and through `metrics_exporter` on a
machine without a web process."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import httpx
import pytest

from tests.conftest import BASE_DIR, wait_for

pytestmark = pytest.mark.e2e

# A worker's provider call, as ops.provider_metrics records it, in a process of its own.
RECORD = ("import django; django.setup()\n"
          "from ops.provider_metrics import provider_request_observed\n"
          "provider_request_observed('fal', 'GET', 0.2, 'ok')\n"
          "provider_request_observed('fal', 'POST', 3.0, 'timeout')\n"
          "from ops.poller_metrics import poll_observed\n"
          "poll_observed(0.3, 40)\n")  # and a poller's poll, 0.3 s late, holding 40 running jobs


def _run(code: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, check=True, timeout=60)


def _env(folder: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PROMETHEUS_MULTIPROC_DIR": folder}
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_exporter_sums_the_machines_processes(tmp_path):
    env = _env(str(tmp_path))
    _run(RECORD, env)
    _run(RECORD, env)  # a second worker process; both have exited, as if killed (no hook ran)
    # A poller still running, holding 25 jobs: the only one whose held jobs count now.
    alive = subprocess.Popen([sys.executable, "-c", "import django; django.setup()\n"
                              "from ops.poller_metrics import held_observed\n"
                              "held_observed(25)\nprint('ready', flush=True)\nimport time; time.sleep(120)\n"],
                             cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, text=True)
    assert alive.stdout.readline().strip() == "ready"
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "manage.py", "metrics_exporter", "--port", str(port)], cwd=BASE_DIR,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def scrape() -> str | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                return None

        text = wait_for(scrape, timeout=30, message="the exporter to answer")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        alive.kill()
        alive.wait(timeout=10)
    assert re.search(r'^parley_provider_request_seconds_count\{method="GET",provider="fal"\} 2\.0$', text, re.M), text
    assert re.search(r'^parley_provider_request_errors_total\{kind="timeout",provider="fal"\} 2\.0$', text, re.M), text
    assert re.search(r'^parley_poller_poll_lag_seconds_count 2\.0$', text, re.M), text
    # The dead processes' 40 held jobs each are gone from the sum; their counters above stay.
    assert re.search(r'^parley_poller_held_jobs 25\.0$', text, re.M), text
    assert "parley_jobs" not in text  # the platform's figures are the web process's to serve


def test_the_web_scrape_includes_other_processes(tmp_path):
    env = _env(str(tmp_path))
    _run(RECORD, env)
    scrape = ("import django; django.setup()\n"
              "from ops.scrape import metrics_text\n"
              "import sys; sys.stdout.write(metrics_text().decode())\n")
    env_sqlite = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "REDIS_URL": ""}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env_sqlite, check=True,
                   timeout=300)
    text = subprocess.run([sys.executable, "-c", scrape], cwd=BASE_DIR, env=env_sqlite, check=True, timeout=60,
                          capture_output=True, text=True).stdout
    assert re.search(r'^parley_provider_request_seconds_count\{method="GET",provider="fal"\} 1\.0$', text, re.M), text
    assert re.search(r'^parley_jobs_overdue\{state="running"\} 0\.0$', text, re.M), text


def test_the_exporter_needs_the_folder():
    env = {k: v for k, v in _env("").items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    result = subprocess.run([sys.executable, "manage.py", "metrics_exporter"], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "PROMETHEUS_MULTIPROC_DIR" in result.stderr
