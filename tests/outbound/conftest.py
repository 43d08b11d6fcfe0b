"""Fixtures of the outbound-policy tests: bait listeners, HTTP servers, and a record of every TCP
connection opened (a spy that calls through: the policy itself is never replaced)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from tests.outbound.servers import Bait, WebServer, self_signed_tls


@pytest.fixture
def bait() -> Iterator[Callable[..., Bait]]:
    made: list[Bait] = []

    def make(host: str = "127.0.0.1") -> Bait:
        made.append(Bait(host))
        return made[-1]

    yield make
    for b in made:
        b.close()


@pytest.fixture
def web_server() -> Iterator[Callable[..., WebServer]]:
    made: list[WebServer] = []

    def make(respond, host: str = "127.0.0.1", tls=None) -> WebServer:
        made.append(WebServer(respond, host, tls))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.fixture
def connections(monkeypatch) -> list[tuple[str, int]]:
    """Every (address, port) a TCP connection was opened to during the test."""
    opened: list[tuple[str, int]] = []
    real = socket.create_connection

    def spy(address, *args, **kwargs):
        opened.append((address[0], address[1]))
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return opened


@pytest.fixture
def tls(tmp_path, monkeypatch):
    """A server TLS context for localhost, trusted by our outbound client (SSL_CERT_FILE)."""
    context, cert = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return context
