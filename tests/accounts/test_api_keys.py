"""API keys: their format, stored only as a hash, their visible prefix, last use, and test mode."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.actors import Actor
from accounts.models import ApiKey, ApiKeyMode, Role
from accounts.services import api_key_authenticate, api_key_create, api_key_revoke
from jobs.models import Job
from tests.conftest import upload
from tests.media_fixtures import make_png, make_wav


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.mark.parametrize(("mode", "prefix"), [(ApiKeyMode.LIVE, "prl_live_"), (ApiKeyMode.TEST, "prl_test_")])
def test_key_format(tenant, mode, prefix):
    key, secret = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="k", mode=mode)
    assert secret.startswith(prefix)
    body = secret[len(prefix):]
    assert len(body) >= 40  # 32 random bytes, url-safe base64
    assert all(c.isalnum() or c in "-_" for c in body)
    assert key.mode == mode and key.livemode is (mode == ApiKeyMode.LIVE)


def test_keys_are_unique(tenant):
    secrets = {api_key_create(tenant=tenant, actor=Actor.system(tenant), name=f"k{i}")[1] for i in range(20)}
    assert len(secrets) == 20


def test_secret_is_stored_only_hashed(tenant):
    key, secret = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="CI key", mode=ApiKeyMode.TEST)
    row = ApiKey.objects.filter(pk=key.pk).values().get()
    for column, value in row.items():
        assert secret not in str(value), column
        assert secret[len("prl_test_"):] not in str(value), column
    assert row["hashed_key"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["hashed_key"] != secret


def test_prefix_is_visible_and_tells_keys_apart(api_client):
    admin = api_client(Role.ADMIN, mode=ApiKeyMode.TEST)  # a key makes keys of its own mode only
    created = admin.post("/api/v1/api-keys", {"name": "Deploy", "mode": "test"}, format="json").json()
    assert created["secret"].startswith(created["prefix"])
    assert created["prefix"].startswith("prl_test_") and len(created["prefix"]) > len("prl_test_")
    assert len(created["prefix"]) < len(created["secret"]) // 2  # it reveals little of the secret
    listed = {k["id"]: k for k in admin.get("/api/v1/api-keys").json()["results"]}
    assert listed[created["id"]]["prefix"] == created["prefix"]
    assert ApiKey.objects.get(pk=created["id"]).prefix == created["prefix"]


def test_last_used_at_is_set_on_use(api_client, tenant):
    client = api_client(Role.VIEWER)
    key = ApiKey.objects.get(tenant=tenant)
    assert key.last_used_at is None
    before = timezone.now()
    assert client.get("/api/v1/models").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None and before <= key.last_used_at <= timezone.now()


def test_last_used_at_is_refreshed_when_stale(api_client, tenant):
    client = api_client(Role.VIEWER)
    stale = timezone.now() - timedelta(hours=2)
    ApiKey.objects.filter(tenant=tenant).update(last_used_at=stale)
    assert client.get("/api/v1/models").status_code == 200
    assert ApiKey.objects.get(tenant=tenant).last_used_at > stale + timedelta(hours=1)


def test_a_failed_authentication_marks_nothing(tenant):
    key, secret = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="k")
    api_key_revoke(tenant=tenant, actor=Actor.system(tenant), key_id=key.pk)
    assert api_key_authenticate(secret=secret) is None
    assert bearer(secret).get("/api/v1/models").status_code == 401
    assert bearer(secret[:-1] + ("A" if secret[-1] != "A" else "B")).get("/api/v1/models").status_code == 401
    key.refresh_from_db()
    assert key.last_used_at is None


def test_authenticate_returns_the_key_and_its_tenant(tenant):
    key, secret = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="k", role=Role.ADMIN)
    found = api_key_authenticate(secret=secret)
    assert found is not None and found.pk == key.pk and found.tenant == tenant and found.role == Role.ADMIN
    assert api_key_authenticate(secret=secret + "x") is None
    assert api_key_authenticate(secret=key.hashed_key) is None  # the stored hash is no credential


def test_test_mode_key_creates_a_test_mode_job(api_client, tmp_path):
    client = api_client(Role.MEMBER, mode=ApiKeyMode.TEST)
    image = upload(client, make_png(tmp_path / "a.png"))
    audio = upload(client, make_wav(tmp_path / "a.wav"))
    response = client.post("/api/v1/jobs", {"model": "local/still", "input": {
        "image": image["id"], "audio": audio["id"]}}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["livemode"] is False
    job = Job.objects.get(pk=response.json()["id"])
    assert job.livemode is False
    assert job.api_key.mode == ApiKeyMode.TEST


@pytest.mark.parametrize("model", ["fal-ai/ai-avatar/single-text", "wavespeed-ai/wan-2.1/multitalk"])
def test_test_mode_jobs_of_provider_models_are_emulated(api_client, tmp_path, model, settings):
    settings.FAL_KEY = "real-looking-key"
    settings.WAVESPEED_API_KEY = "real-looking-key"
    client = api_client(Role.MEMBER, mode=ApiKeyMode.TEST)
    image = upload(client, make_png(tmp_path / "a.png"))
    audio = upload(client, make_wav(tmp_path / "a.wav"))
    inputs = (
        {"image_url": image["id"], "text_input": "Hello.", "voice": "Aria", "prompt": "A talk."}
        if model.startswith("fal") else {"image": image["id"], "audio": audio["id"]}
    )
    body = client.post("/api/v1/jobs", {"model": model, "input": inputs}, format="json").json()
    assert body["livemode"] is False and body["emulated"] is True
    live = api_client(Role.MEMBER)
    live_body = live.post("/api/v1/jobs", {"model": model, "input": inputs}, format="json")
    # The live key of the same tenant reaches the (configured) real provider.
    assert live_body.status_code == 201, live_body.content
    assert live_body.json()["livemode"] is True and live_body.json()["emulated"] is False


def test_live_key_creates_a_live_job(member_client, tmp_path):
    image = upload(member_client, make_png(tmp_path / "a.png"))
    audio = upload(member_client, make_wav(tmp_path / "a.wav"))
    body = member_client.post("/api/v1/jobs", {"model": "local/still", "input": {
        "image": image["id"], "audio": audio["id"]}}, format="json").json()
    assert body["livemode"] is True
    assert Job.objects.get(pk=body["id"]).livemode is True
