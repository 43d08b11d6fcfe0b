"""Liveness and readiness. ``/healthz``: the process answers (nothing else is asked, so a slow
database never gets a live process restarted). ``/readyz``: the database, the task broker and the
file storage all answer, each within ``READYZ_TIMEOUT_S``; a load balancer stops sending traffic to
a process that is not ready, and the answer names what is not.

The checks run in parallel threads so that one hung dependency costs the timeout once, not the sum;
a thread's database connection is its own and is closed when its check ends."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection, connections

from .broker import broker_kind, broker_ping

log = logging.getLogger("ops.health")

# The name storage is asked about: its existence is irrelevant, the round trip is the check.
STORAGE_PROBE_NAME = "ops/readyz-probe"


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    error: str = ""  # the exception's class name: details go to the log, not to anonymous callers

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": self.ok, "latency_ms": self.latency_ms}
        if self.error:
            body["error"] = self.error
        return body


def check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connections.close_all()  # this thread's connection


def check_broker() -> None:
    try:
        broker_ping()
    finally:
        connections.close_all()


def check_storage() -> None:
    """One round trip to the default storage (a HEAD on S3); local storage must also be writable."""
    default_storage.exists(STORAGE_PROBE_NAME)
    if isinstance(default_storage, FileSystemStorage):
        # The folder is made on the first save: it, or the nearest folder above it, must be writable.
        location = os.path.abspath(default_storage.location)
        while not os.path.exists(location):
            location = os.path.dirname(location)
        if not (os.path.isdir(location) and os.access(location, os.W_OK | os.X_OK)):
            raise PermissionError(f"{location} is not a writable folder")


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}

_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="readyz")


def _timed(name: str, check: Callable[[], None]) -> CheckResult:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:
        log.warning("readiness: %s is not reachable: %r", name, exc, extra={"check": name})
        return CheckResult(name, False, _ms(started), exc.__class__.__name__)
    return CheckResult(name, True, _ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def readiness() -> list[CheckResult]:
    """Every check's result, each given at most ``READYZ_TIMEOUT_S``."""
    started = time.perf_counter()
    futures = {name: _pool.submit(_timed, name, check) for name, check in READINESS_CHECKS.items()}
    results = []
    for name, future in futures.items():
        remaining = max(0.0, settings.READYZ_TIMEOUT_S - (time.perf_counter() - started))
        try:
            results.append(future.result(timeout=remaining))
        except FutureTimeout:
            log.warning("readiness: %s did not answer within %ss", name, settings.READYZ_TIMEOUT_S)
            results.append(CheckResult(name, False, _ms(started), "Timeout"))
    return results


def readiness_detail() -> dict[str, str]:
    """What each check talks to (no addresses or credentials)."""
    return {"broker": broker_kind(), "storage": settings.STORAGE_BACKEND}
