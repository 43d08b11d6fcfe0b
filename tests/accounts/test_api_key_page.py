"""The API keys page: creating a key is post/redirect/get (a reload repeats the GET, never makes a
second key), its secret is shown once after the redirect and stored nowhere on the server (it
crosses the redirect in an encrypted, session-bound, short-lived cookie: accounts.key_reveal); each
key shows its last use and this month's spend from the ledger."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from accounts.actors import Actor
from accounts.audit import AuditAction
from accounts.key_reveal import COOKIE_NAME
from accounts.models import ApiKey, AuditEvent, Role, User
from accounts.services import api_key_create, hash_api_key
from billing.services import refund_create
from tests.billing.test_ledger import charge

pytestmark = pytest.mark.django_db


def _secret(response) -> str | None:
    found = re.search(r'value="(prl_(?:live|test)_[^"]+)"', response.content.decode())
    return found.group(1) if found else None


def test_post_redirect_get_shows_the_secret_once(dashboard_login, tenant):
    client = dashboard_login(tenant)
    created = client.post("/settings/api-keys/", {"name": "CI", "mode": "live", "role": "member"})
    key = ApiKey.objects.get(name="CI")
    assert created.status_code == 303 and created["Location"] == f"/settings/api-keys/?created={key.pk}"
    cookie = created.cookies[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/settings/api-keys/"
    assert int(cookie["max-age"]) == 120
    assert key.secret_shown_at is None
    shown = client.get(created["Location"])
    secret = _secret(shown)
    assert secret and hash_api_key(secret) == key.hashed_key
    assert secret not in cookie.value  # encrypted in the cookie, not merely signed
    assert shown.cookies[COOKIE_NAME].value == "" and shown.cookies[COOKIE_NAME]["max-age"] == 0  # deleted
    reloaded = client.get(created["Location"])  # the reload: a GET, so no second key and no secret
    assert ApiKey.objects.filter(name="CI").count() == 1
    assert _secret(reloaded) is None and "shown once already" in reloaded.content.decode()
    key.refresh_from_db()
    assert key.secret_shown_at is not None
    assert all(secret not in str(v) for v in client.session.values())
    assert AuditEvent.objects.filter(action=AuditAction.API_KEY_CREATED, target__startswith="CI (").count() == 1


def test_a_replayed_cookie_shows_nothing(dashboard_login, tenant):
    client = dashboard_login(tenant)
    created = client.post("/settings/api-keys/", {"name": "CI", "mode": "live", "role": "member"})
    value = created.cookies[COOKIE_NAME].value
    # Another session holding the cookie: bound to the session that made the key.
    other = Client()
    other.force_login(client.user)
    other.cookies[COOKIE_NAME] = value
    assert _secret(other.get(created["Location"])) is None
    # A second tab of the same session racing the first: only one GET wins the claim.
    first = client.get(created["Location"])
    client.cookies[COOKIE_NAME] = value
    second = client.get(created["Location"])
    assert _secret(first) and _secret(second) is None


def test_a_tampered_or_expired_cookie_shows_nothing(dashboard_login, tenant, settings):
    client = dashboard_login(tenant)
    created = client.post("/settings/api-keys/", {"name": "CI", "mode": "live", "role": "member"})
    value = created.cookies[COOKIE_NAME].value
    client.cookies[COOKIE_NAME] = value[:-4] + "AAAA"
    assert _secret(client.get(created["Location"])) is None
    settings.API_KEY_REVEAL_MAX_AGE_S = -1
    client.cookies[COOKIE_NAME] = value
    assert _secret(client.get(created["Location"])) is None
    assert ApiKey.objects.get(name="CI").secret_shown_at is None


def test_each_key_shows_its_last_use_and_spend_this_month(dashboard_login, tenant):
    system = Actor.system(tenant)
    ci, _ = api_key_create(tenant=tenant, actor=system, name="ci")
    idle, _ = api_key_create(tenant=tenant, actor=system, name="idle")
    ApiKey.objects.filter(pk=ci.pk).update(last_used_at=datetime(2026, 11, 29, 8, 30, tzinfo=UTC))
    charge(tenant, "1.20", api_key_id=ci.pk)
    refunded = charge(tenant, "0.50", api_key_id=ci.pk)
    charge(tenant, "9.99", api_key_id=ci.pk, at=datetime.now(UTC) - timedelta(days=40))  # an earlier month
    charge(tenant, "3.00", api_key_id=ci.pk, livemode=False)  # test mode: not on the live list
    operator = User.objects.create_user(email="staff@parley.example", password="pw-Secret-123", is_staff=True)
    refund_create(usage_record_id=refunded.pk, operator=operator, reason="blank", amount=Decimal("0.20"))
    page = dashboard_login(tenant).get("/settings/api-keys/").content.decode()
    rows = {name: row for name, row in re.findall(r"<td>(ci|idle)</td>(.*?)</tr>", page, re.S)}
    assert "2026-11-29 08:30" in rows["ci"] and "never" in rows["idle"]
    assert "1.50 USD" in rows["ci"] and "0.00 USD" in rows["idle"]  # 1.20 + 0.50 - 0.20


def test_members_cannot_post_a_key_and_viewers_see_no_form(dashboard_login, tenant):
    for role in (Role.MEMBER, Role.VIEWER):
        client = dashboard_login(tenant, role)
        assert client.post("/settings/api-keys/", {"name": "x", "mode": "live", "role": "viewer"}).status_code == 403
        assert COOKIE_NAME not in client.cookies
    assert not ApiKey.objects.exists()
