"""CI runs on the real services: PostgreSQL and a Redis broker. On a laptop without them these
skip; with REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails the run instead."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"


def _need(condition: bool, what: str) -> None:
    if condition:
        return
    if REQUIRED:
        pytest.fail(f"REQUIRE_SERVICES=1 but {what}")
    pytest.skip(f"{what} (set DATABASE_URL/REDIS_URL, as .ci/run does, to run this)")


@pytest.mark.django_db
def test_runs_on_postgresql():
    _need(connection.vendor == "postgresql", f"the database is {connection.vendor}, not PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


def test_broker_is_redis():
    _need(bool(settings.REDIS_URL), "REDIS_URL is not set: the broker is django-q2's ORM broker")
    from django_q.brokers import get_broker

    broker = get_broker()
    assert type(broker).__name__ == "Redis"
    assert broker.ping()
