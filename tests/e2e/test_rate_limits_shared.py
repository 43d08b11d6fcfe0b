"""Rate limits hold across web processes: two gunicorn servers sharing one Redis count a key's
and a tenant's requests together."""

from __future__ import annotations

import uuid

import httpx
import pytest
from django.conf import settings

from accounts.actors import Actor
from accounts.models import Role
from accounts.services import api_key_create
from tests.conftest import REQUIRE_SERVICES
from tests.e2e.test_web_server import web_server  # noqa: F401 - a fixture

pytestmark = pytest.mark.e2e


def test_two_web_processes_share_the_counts(transactional_db, web_server, tenant):  # noqa: F811
    if not settings.REDIS_URL:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but REDIS_URL is not set")
        pytest.skip("REDIS_URL is not set: without Redis each web process counts alone")
    tenant.api_rate_limit_per_tenant = 8
    tenant.save()
    env = {"API_RATE_LIMIT_PER_KEY": "6", "API_RATE_WINDOW_S": "86400", "REDIS_URL": settings.REDIS_URL,
           "Q_CLUSTER_NAME": f"rate-{uuid.uuid4().hex[:8]}"}
    servers = [web_server(**env), web_server(**env)]  # two processes (runserver-free gunicorn, one each)
    keys = [api_key_create(tenant=tenant, actor=Actor.system(tenant), name=f"k{i}", role=Role.VIEWER)[1]
            for i in range(2)]

    def get(server: str, key: str) -> httpx.Response:
        return httpx.get(f"{server}/api/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=10)

    answers = [get(servers[i % 2], keys[0]) for i in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["5", "4", "3", "2", "1", "0"]
    limited = get(servers[0], keys[0])
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.json()["error"]["code"] == "rate_limited"
    # The team's limit (8, the operator's override) counts both keys: 7 used, one left.
    last = get(servers[1], keys[1])
    assert last.status_code == 200 and last.headers["RateLimit-Limit"] == "8"
    assert last.headers["RateLimit-Remaining"] == "0"
    over = get(servers[0], keys[1])
    assert over.status_code == 429 and "your team" in over.json()["error"]["message"]
