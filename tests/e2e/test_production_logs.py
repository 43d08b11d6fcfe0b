"""Production logs from a real gunicorn: gunicorn's own lines and the application's alike are one
JSON object a line on stderr, and the request's line carries the X-Request-Id its answer carries."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import BASE_DIR, wait_for

pytestmark = pytest.mark.e2e


def test_production_logs_are_json_lines_with_request_ids(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_FORMAT": "json",
           "MEDIA_ROOT": str(tmp_path / "media")}
    env.pop("PYTEST_XDIST_WORKER", None)
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "--workers", "1",
                                 "-b", f"127.0.0.1:{port}", "config.wsgi"], cwd=BASE_DIR, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def answers() -> httpx.Response | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-Id": "lb-1234"}, timeout=2)
            except httpx.HTTPError:
                return None

        response = wait_for(answers, timeout=30, message="gunicorn to answer", on_timeout=log.read_text)
        assert response.headers["X-Request-Id"] == "lb-1234"
        time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]  # every line is JSON
    assert any(line["logger"] == "gunicorn.error" and line["message"].startswith("Booting worker") for line in lines)
    (request,) = [line for line in lines if line.get("request_id") == "lb-1234"]
    assert (request["logger"], request["path"], request["status"], request["level"]) == \
        ("parley.requests", "/healthz", 200, "INFO")
