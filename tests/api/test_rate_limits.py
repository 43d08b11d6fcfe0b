"""Request rates per API key and per tenant: every answer carries RateLimit-Limit/-Remaining/-Reset
for the tighter count, and past a limit the API answers 429 with Retry-After. Across two web
processes sharing Redis: tests/e2e/test_rate_limits_shared.py."""

from __future__ import annotations

import pytest

from accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.API_RATE_WINDOW_S = 86400  # one window for the whole test (a boundary once a day)
    settings.API_RATE_LIMIT_PER_KEY = 3
    settings.API_RATE_LIMIT_PER_TENANT = 100


def test_every_answer_says_where_the_key_stands_and_the_fourth_is_429(api_client):
    client = api_client(Role.VIEWER)
    remaining = []
    for path in ("/api/v1/models", "/api/v1/jobs", "/api/v1/jobs/123e4567-e89b-12d3-a456-426614174000"):
        response = client.get(path)
        assert response.status_code in (200, 404)
        assert response["RateLimit-Limit"] == "3" and 0 < int(response["RateLimit-Reset"]) <= 86400
        remaining.append(response["RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    limited = client.get("/api/v1/models")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert "this API key" in limited.json()["error"]["message"]
    assert limited["Retry-After"] == limited["RateLimit-Reset"] and limited["RateLimit-Remaining"] == "0"
    assert api_client(Role.VIEWER).get("/api/v1/models").status_code == 200  # another key has its own count


def test_a_role_refusal_and_a_validation_error_carry_the_headers_too(api_client):
    viewer = api_client(Role.VIEWER)
    forbidden = viewer.post("/api/v1/jobs", {}, format="json")
    assert forbidden.status_code == 403 and forbidden["RateLimit-Remaining"] == "2"
    invalid = api_client(Role.MEMBER).post("/api/v1/jobs", {"model": "nope"}, format="json")
    assert invalid.status_code == 400 and invalid["RateLimit-Remaining"] == "2"


def test_the_tenant_limit_spans_its_keys_and_the_operator_overrides_it(api_client, tenant, other_tenant):
    tenant.api_rate_limit_per_tenant = 4
    tenant.api_rate_limit_per_key = 10
    tenant.save()
    first, second = api_client(Role.VIEWER), api_client(Role.VIEWER)
    for client in (first, first, second):
        assert client.get("/api/v1/models").status_code == 200
    last = second.get("/api/v1/models")
    assert last.status_code == 200 and last["RateLimit-Limit"] == "4" and last["RateLimit-Remaining"] == "0"
    limited = first.get("/api/v1/models")
    assert limited.status_code == 429 and "your team" in limited.json()["error"]["message"]
    assert api_client(Role.VIEWER, tenant_=other_tenant).get("/api/v1/models").status_code == 200


def test_idempotent_replays_are_counted_and_carry_the_headers(api_client):
    client = api_client(Role.ADMIN)
    first = client.post("/api/v1/api-keys", {"name": "k"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post("/api/v1/api-keys", {"name": "k"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first["RateLimit-Remaining"] == "2" and again["RateLimit-Remaining"] == "1"
    assert again["Idempotent-Replayed"] == "true"


def test_without_reachable_counters_the_api_answers_uncounted_and_logs_it(api_client, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    response = api_client(Role.VIEWER).get("/api/v1/models")
    assert response.status_code == 200 and "RateLimit-Limit" not in response
    assert "rate limits not counted" in caplog.text


def test_the_operator_sees_and_sets_the_overrides_in_the_admin(tenant):
    from django.test import Client

    from accounts.models import User

    admin = User.objects.create_superuser(email="ops@example.com", password="pw-Secret-123")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/accounts/tenant/{tenant.pk}/change/")
    for field in ("api_rate_limit_per_key", "api_rate_limit_per_tenant", "max_running_jobs"):
        assert f'name="{field}"'.encode() in page.content
    listing = client.get("/admin/accounts/tenant/")
    assert b"column-max_running_jobs" in listing.content
