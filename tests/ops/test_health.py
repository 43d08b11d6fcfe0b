"""/healthz and /readyz: alive without asking anything; ready only when the database, the broker and
the storage answer, and a 503 naming the one that does not (a broker on a closed port, a storage
folder that cannot be written), with each check's latency."""

from __future__ import annotations

import socket

import pytest
from django.test import Client

from ops import health


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again once the socket is: nothing listens there


def test_healthz_answers_without_the_database():
    response = Client().get("/healthz")  # no django_db mark: any query would raise here
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_when_everything_answers():
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "broker", "storage"}
    for check in body["checks"].values():
        assert check["ok"] is True and check["latency_ms"] >= 0


@pytest.mark.django_db
def test_readyz_names_an_unreachable_broker(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failing"] == ["broker"]
    assert body["checks"]["broker"]["ok"] is False and body["checks"]["broker"]["error"] == "ConnectionError"
    assert body["checks"]["database"]["ok"] is True and body["checks"]["storage"]["ok"] is True
    assert body["backends"]["broker"] == "redis"
    assert "127.0.0.1" not in response.content.decode()  # no address to anonymous callers


@pytest.mark.django_db
def test_readyz_names_storage_that_cannot_be_written(settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    settings.MEDIA_ROOT = str(blocker / "media")  # under a file: no upload could ever be saved
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["storage"] and body["checks"]["storage"]["error"] == "PermissionError"


@pytest.mark.django_db
def test_readyz_accepts_a_media_folder_not_made_yet(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "later" / "media")  # the first upload makes it
    assert Client().get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_gives_a_hung_check_the_timeout_only(settings, monkeypatch):
    import threading
    import time

    release = threading.Event()
    monkeypatch.setitem(health.READINESS_CHECKS, "database", lambda: release.wait(10))
    settings.READYZ_TIMEOUT_S = 0.3
    started = time.monotonic()
    try:
        response = Client().get("/readyz")
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
    assert response.json()["checks"]["database"]["error"] == "Timeout"


@pytest.mark.django_db
def test_probes_by_address_over_http_in_production(settings):
    """An orchestrator's probe names the pod's address as its Host and speaks plain HTTP: it gets
    its answer, not Django's 400 for an unknown host or the HTTPS redirect."""
    settings.ALLOWED_HOSTS = ["parley.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    probe = Client(HTTP_HOST="10.0.3.7:8000")
    assert probe.get("/healthz").status_code == 200
    assert probe.get("/readyz").status_code == 200
    assert probe.get("/healthz")["X-Request-Id"]
    assert probe.get("/api/v1/models").status_code == 400  # everything else still checks the host
    assert Client(HTTP_HOST="parley.example.com").get("/api/v1/models").status_code == 301
