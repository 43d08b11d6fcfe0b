"""Idempotency-Key on the creating POSTs: a repeat answers the first answer (replayed), a
different request with the key is a 409 naming it, keys are per tenant and mode and kept 24 h,
only 2xx and 400 answers are kept. The concurrent case runs against real servers in
tests/e2e/test_idempotency_concurrency.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import ApiKey, ApiKeyMode, Role
from billing.budgets import budget_set
from idempotency.keys import idempotency_purge
from idempotency.models import IdempotencyKey, IdempotencyState
from jobs.models import Asset, Job
from tests.conftest import upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def assets(member_client, png_file, wav_file) -> dict:
    return {"image": upload(member_client, png_file)["id"], "audio": upload(member_client, wav_file)["id"]}


def post_job(client, key: str | None, inputs: dict, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/jobs", {"model": "local/still", "input": inputs, **extra}, format="json", **headers)


def test_a_repeat_answers_the_first_answer_and_creates_nothing(member_client, assets):
    key = str(uuid.uuid4())
    first = post_job(member_client, key, assets)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    again = post_job(member_client, key, assets)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Job.objects.count() == 1
    without_key = post_job(member_client, None, assets)
    assert without_key.status_code == 201 and Job.objects.count() == 2


def test_json_key_order_and_spacing_do_not_make_a_different_request(member_client, assets):
    key = "order-key"
    image, audio = assets["image"], assets["audio"]
    first = member_client.post("/api/v1/jobs", data=f'{{"model": "local/still", "input": {{"image": "{image}",'
                               f' "audio": "{audio}"}}}}', content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
    again = member_client.post("/api/v1/jobs", data=f'{{"input":{{"audio":"{assets["audio"]}","image":'
                               f'"{assets["image"]}"}},"model":"local/still"}}', content_type="application/json",
                               HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.content == first.content


def test_the_key_with_a_different_body_or_path_is_a_409_naming_it(member_client, assets):
    key = "key-used-twice"
    assert post_job(member_client, key, assets).status_code == 201
    other = post_job(member_client, key, {**assets, "resolution": "480p"})
    assert other.status_code == 409, other.content
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused" and key in error["message"]
    quote = member_client.post("/api/v1/quotes", {"model": "local/still", "input": assets}, format="json",
                               HTTP_IDEMPOTENCY_KEY=key)
    assert quote.status_code == 409 and quote.json()["error"]["code"] == "idempotency_key_reused"
    assert Job.objects.count() == 1


def test_keys_are_scoped_to_the_tenant_and_the_mode(api_client, member_client, assets, other_tenant, png_file):
    key = "shared-key"
    live = post_job(member_client, key, assets)
    test_mode = post_job(api_client(Role.MEMBER, mode=ApiKeyMode.TEST), key, assets)
    assert live.status_code == test_mode.status_code == 201
    assert live.json()["id"] != test_mode.json()["id"] and "Idempotent-Replayed" not in test_mode
    other = api_client(Role.MEMBER, tenant_=other_tenant)
    with open(png_file, "rb") as fh:
        foreign = other.post("/api/v1/assets", {"file": fh}, format="multipart", HTTP_IDEMPOTENCY_KEY=key)
    assert foreign.status_code == 201 and "Idempotent-Replayed" not in foreign
    assert Job.objects.count() == 2
    # Another key of the same tenant and mode shares the tenant's keys, as Stripe's account does.
    again = post_job(api_client(Role.MEMBER), key, assets)
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == live.json()["id"]


def test_a_refused_body_is_kept_and_replayed(member_client, assets):
    key = "bad-body"
    first = post_job(member_client, key, {**assets, "resolution": "8k"})
    assert first.status_code == 400
    again = post_job(member_client, key, {**assets, "resolution": "8k"})
    assert again.status_code == 400 and again["Idempotent-Replayed"] == "true" and again.content == first.content


def test_a_refusal_that_may_pass_is_not_kept(member_client, assets, tenant):
    budget_set(tenant=tenant, actor=Actor.system(tenant), monthly_limit=Decimal("0"))
    key = "over-budget"
    assert post_job(member_client, key, assets).status_code == 402
    assert not IdempotencyKey.objects.exists()
    budget_set(tenant=tenant, actor=Actor.system(tenant), monthly_limit=None)
    retried = post_job(member_client, key, assets)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried


def test_a_server_error_releases_the_key(member_client, assets, monkeypatch):
    import jobs.apis

    real = jobs.apis.job_create
    monkeypatch.setattr(jobs.apis, "job_create", lambda **kw: (_ for _ in ()).throw(RuntimeError("boom")))
    member_client.raise_request_exception = False
    assert post_job(member_client, "crashy", assets).status_code == 500
    assert not IdempotencyKey.objects.exists()
    monkeypatch.setattr(jobs.apis, "job_create", real)
    assert post_job(member_client, "crashy", assets).status_code == 201


def test_multipart_uploads_are_the_same_request_by_their_content(member_client, png_file, wav_file):
    def send(path, key="upload-key"):
        with open(path, "rb") as fh:
            return member_client.post("/api/v1/assets", {"file": fh}, format="multipart", HTTP_IDEMPOTENCY_KEY=key)

    first, again = send(png_file), send(png_file)
    assert first.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert Asset.objects.count() == 1
    other = send(wav_file)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_new_api_key_is_replayed_but_its_secret_is_not_stored_in_the_clear(api_client):
    admin = api_client(Role.ADMIN)
    first = admin.post("/api/v1/api-keys", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="new-key")
    again = admin.post("/api/v1/api-keys", {"name": "ci"}, format="json", HTTP_IDEMPOTENCY_KEY="new-key")
    assert first.status_code == 201 and again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert ApiKey.objects.filter(name="ci").count() == 1
    stored = bytes(IdempotencyKey.objects.get(key="new-key").response_body)
    assert first.json()["secret"].encode() not in stored and b"prl_" not in stored


def test_keys_are_kept_24_hours(member_client, assets):
    assert post_job(member_client, "old-key", assets).status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    again = post_job(member_client, "old-key", assets)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again and Job.objects.count() == 2
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_purge() == 1 and not IdempotencyKey.objects.exists()


def test_a_request_in_progress_is_waited_for_then_409(member_client, assets, tenant, settings):
    settings.IDEMPOTENCY_WAIT_S = 0.3
    IdempotencyKey.objects.create(tenant=tenant, livemode=True, key="held", fingerprint="x" * 64, method="POST",
                                  path="/api/v1/jobs")
    assert post_job(member_client, "held", assets).json()["error"]["code"] == "idempotency_key_reused"
    held = IdempotencyKey.objects.get(key="held")
    first = post_job(member_client, "held-2", assets)
    IdempotencyKey.objects.filter(key="held-2").update(state=IdempotencyState.IN_PROGRESS)
    started = timezone.now()
    busy = post_job(member_client, "held-2", assets)
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "idempotency_key_in_progress"
    assert busy["Retry-After"] == "1" and (timezone.now() - started).total_seconds() >= 0.3
    # A request that died holding its key (older than IDEMPOTENCY_LOCK_TIMEOUT_S) is taken over.
    IdempotencyKey.objects.filter(key="held-2").update(locked_at=timezone.now() - timedelta(minutes=5))
    taken = post_job(member_client, "held-2", assets)
    assert taken.status_code == 201 and taken.json()["id"] != first.json()["id"]
    assert IdempotencyKey.objects.get(key="held-2").state == IdempotencyState.COMPLETED
    assert held.state == IdempotencyState.IN_PROGRESS


def test_an_invalid_key_is_a_400_naming_the_header(member_client, assets):
    response = post_job(member_client, "x" * 256, assets)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Job.objects.exists()


def test_an_asset_made_from_a_data_uri_is_made_once(member_client, png_file):
    import base64

    uri = "data:image/png;base64," + base64.b64encode(png_file.read_bytes()).decode()
    answers = [member_client.post("/api/v1/assets", {"url": uri}, format="json", HTTP_IDEMPOTENCY_KEY="uri-key")
               for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201] and answers[1]["Idempotent-Replayed"] == "true"
    assert answers[0].content == answers[1].content and Asset.objects.count() == 1
