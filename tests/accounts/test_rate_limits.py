"""Guessing is limited: failed API-key authentications per client IP and per key prefix answer 429
with Retry-After past the limit, successful ones are never counted; the sign-in lockout answers 429."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, User

pytestmark = pytest.mark.django_db

WRONG = "prl_live_" + "x" * 43


def get(secret: str, ip: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client.get("/api/v1/models", REMOTE_ADDR=ip)


def test_the_21st_wrong_key_from_one_ip_is_429_while_a_right_key_elsewhere_works(api_client, settings):
    assert settings.API_KEY_FAILURES_PER_IP == 20
    right = api_client(Role.VIEWER).secret
    for i in range(20):
        response = get(f"prl_live_{i:04d}" + "y" * 39, "10.0.0.1")
        assert response.status_code == 401, (i, response.content)
    limited = get(WRONG, "10.0.0.1")
    assert limited.status_code == 429, limited.content
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited["Retry-After"]) <= settings.API_KEY_FAILURE_WINDOW_S
    assert get(right, "10.0.0.2").status_code == 200
    # The limited address is refused before any key is looked at, so a guess there learns nothing.
    assert get(right, "10.0.0.1").status_code == 429


def test_malformed_credentials_count_as_failures(db, settings):
    settings.API_KEY_FAILURES_PER_IP = 3
    for header in ("Basic dXNlcjpwYXNz", "Bearer something-else", "Bearer " + WRONG):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/api/v1/models", REMOTE_ADDR="10.0.0.3").status_code == 401
    assert get(WRONG, "10.0.0.3").status_code == 429


def test_successful_authentications_are_not_counted(api_client, settings):
    settings.API_KEY_FAILURES_PER_IP = 3
    right = api_client(Role.VIEWER).secret
    for _ in range(10):
        assert get(right, "10.0.0.4").status_code == 200
    assert get(WRONG, "10.0.0.4").status_code == 401


def test_failures_against_one_prefix_from_many_ips_are_limited(api_client, settings):
    settings.API_KEY_FAILURES_PER_PREFIX = 5
    right = api_client(Role.VIEWER).secret
    target = right[:13]  # the visible prefix of a real key, guessed at from many addresses
    for i in range(5):
        assert get(target + "z" * 40, f"10.1.0.{i}").status_code == 401
    limited = get(target + "w" * 40, "10.1.0.99")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) > 0
    assert get("prl_live_abcd" + "z" * 40, "10.1.0.98").status_code == 401  # another prefix: counted apart


def test_no_credentials_at_all_are_not_counted(db, settings):
    settings.API_KEY_FAILURES_PER_IP = 2
    for _ in range(5):
        assert APIClient().get("/api/v1/models", REMOTE_ADDR="10.0.0.5").status_code == 401


# --- the sign-in lockout --------------------------------------------------------------------------
def test_the_sign_in_lockout_answers_429_with_a_readable_page(client):
    User.objects.create_user(email="eve@example.com", password="a-Long-pass-1234")
    for _ in range(5):  # allauth's default: 5 failures per address in 5 minutes
        response = client.post("/accounts/login/", {"login": "eve@example.com", "password": "wrong"})
        assert response.status_code == 200 and b"not correct" in response.content
    locked = client.post("/accounts/login/", {"login": "eve@example.com", "password": "a-Long-pass-1234"})
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-in attempts" in page and 'href="/accounts/password/reset/"' in page
    assert int(locked["Retry-After"]) > 0
