"""The production web server (gunicorn with config/gunicorn.conf.py) keeps answering while clients
hold connections open with request bodies that never arrive."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BASE_DIR, database_url, wait_for

pytestmark = pytest.mark.e2e

CONFIG = BASE_DIR / "config" / "gunicorn.conf.py"
# A view that reads the whole body before answering (a webhook verifies its signature over it).
BODY_READER = "/webhooks/providers/wavespeed/live"
STALLED_REQUEST = (
    f"POST {BODY_READER} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    "Content-Length: 1000\r\n\r\n{\"id"
).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def web_server(db, settings, tmp_path) -> Iterator[Callable[..., str]]:
    """web_server(*gunicorn_args, **env) starts gunicorn on a free port on the test database and
    returns its base URL once it answers."""
    started: list[subprocess.Popen] = []

    def start(*args: str, **extra_env: str) -> str:
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **extra_env,
        }
        env.pop("PYTEST_XDIST_WORKER", None)
        log = open(tmp_path / f"gunicorn-{port}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *args, "-b", f"127.0.0.1:{port}", "config.wsgi"],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        started.append(proc)
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return httpx.get(f"{url}/api/v1/models", timeout=2).status_code == 401
            except httpx.HTTPError:
                return False

        wait_for(answers, timeout=30, message="gunicorn to answer",
                 on_timeout=lambda: Path(log.name).read_text(errors="replace")[-3000:])
        return url

    yield start
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _stall(url: str, count: int) -> list[socket.socket]:
    """Open ``count`` connections that send headers and 4 bytes of a 1,000-byte body, then wait."""
    port = int(url.rsplit(":", 1)[1])
    stalled = []
    for _ in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(STALLED_REQUEST)
        stalled.append(conn)
    time.sleep(0.5)  # let the server accept them and start reading their bodies
    return stalled


def _answered_within(url: str, seconds: float) -> httpx.Response:
    start = time.monotonic()
    response = httpx.get(f"{url}/api/v1/models", timeout=seconds + 5)
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"answered after {elapsed:.1f} s"
    return response


def test_stalled_bodies_do_not_stop_the_web_server(web_server):
    url = web_server("-c", str(CONFIG))
    stalled = _stall(url, 24)
    try:
        assert _answered_within(url, 3.0).status_code == 401
        full = httpx.post(f"{url}{BODY_READER}", content=b"{}", timeout=5)  # a body that does arrive
        assert full.status_code in (400, 401, 404), full.text
    finally:
        for conn in stalled:
            conn.close()


def test_a_stalled_body_gives_its_thread_back_after_the_idle_timeout(web_server):
    """Each stall is bounded: after WEB_BODY_IDLE_TIMEOUT_S without a byte, the server stops waiting
    for the body and answers (or closes). More stalled connections than threads would still queue
    the others meanwhile: that is what the buffering proxy of deploy/nginx.conf is for."""
    url = web_server("-c", str(CONFIG), WEB_BODY_IDLE_TIMEOUT_S="2")
    start = time.monotonic()
    (stalled,) = _stall(url, 1)
    try:
        stalled.settimeout(15)
        stalled.recv(1024)  # an answer, or b"" when the server closed
        assert 2 <= time.monotonic() - start < 12
    finally:
        stalled.close()
