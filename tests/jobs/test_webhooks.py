"""Our webhook endpoint: a provider's signed report is applied once; anything unsigned, forged or
stale is refused with 401 and changes nothing."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

import pytest

from jobs.models import Job, JobStatus
from providers.clients.wavespeed import sign_webhook
from tests.conftest import make_tenant

URL = "/webhooks/providers/{provider}/emulator"


def _running_job(provider: str, request_id: str, model: str) -> Job:
    tenant = make_tenant("Hooks")
    return Job.objects.create(
        tenant=tenant, model_id=model, provider=provider, status=JobStatus.RUNNING, input={}, emulated=True,
        quote_seconds=Decimal("5"), quote_amount=Decimal("0.15"), provider_request_id=request_id,
        provider_handle={"request_id": request_id},
    )


def _wavespeed_post(client, settings, payload: dict, *, ts: int | None = None, tamper: bool = False,
                    secret: str | None = None):
    body = json.dumps(payload).encode()
    ts = ts if ts is not None else int(time.time())
    webhook_id = f"msg_{uuid.uuid4().hex}"
    signature = sign_webhook(secret=secret or settings.PROVIDER_EMULATOR_WEBHOOK_SECRET, webhook_id=webhook_id,
                             timestamp=ts, body=body)
    if tamper:
        body = body.replace(b"completed", b"failed")
    return client.post(URL.format(provider="wavespeed"), data=body, content_type="application/json",
                       HTTP_WEBHOOK_ID=webhook_id, HTTP_WEBHOOK_TIMESTAMP=str(ts), HTTP_WEBHOOK_SIGNATURE=signature)


def _prediction(request_id: str, status: str = "completed") -> dict:
    return {"id": request_id, "model": "wavespeed-ai/wan-2.1/multitalk", "input": {},
            "outputs": ["http://127.0.0.1:9/out.mp4"] if status == "completed" else [],
            "urls": {"get": f"http://127.0.0.1:9/api/v3/predictions/{request_id}/result"},
            "has_nsfw_contents": [False], "status": status, "created_at": "2026-11-25T00:00:00Z",
            "error": "" if status == "completed" else "GPU on fire"}


@pytest.mark.django_db
def test_signed_wavespeed_webhook_moves_the_job_once(client, settings, django_capture_on_commit_callbacks):
    job = _running_job("wavespeed", "ws-1", "wavespeed-ai/wan-2.1/multitalk")
    with django_capture_on_commit_callbacks() as callbacks:
        assert _wavespeed_post(client, settings, _prediction("ws-1")).status_code == 200
        assert _wavespeed_post(client, settings, _prediction("ws-1")).status_code == 200  # a duplicate
    job.refresh_from_db()
    assert job.status == JobStatus.FINALIZING and job.result_url == "http://127.0.0.1:9/out.mp4"
    assert len(callbacks) == 1  # one finalize task enqueued, not two
    assert job.events.filter(to_status="finalizing").exclude(from_status="finalizing").count() == 1


@pytest.mark.django_db
def test_failed_prediction_fails_the_job_with_the_providers_message(client, settings):
    job = _running_job("wavespeed", "ws-2", "wavespeed-ai/wan-2.1/multitalk")
    assert _wavespeed_post(client, settings, _prediction("ws-2", status="failed")).status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "GPU on fire" in job.error_message


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["tampered", "stale", "wrong_secret", "unsigned"])
def test_bad_wavespeed_signatures_are_refused(client, settings, kind):
    job = _running_job("wavespeed", "ws-3", "wavespeed-ai/wan-2.1/multitalk")
    if kind == "unsigned":
        response = client.post(URL.format(provider="wavespeed"), data=json.dumps(_prediction("ws-3")),
                               content_type="application/json")
    else:
        response = _wavespeed_post(
            client, settings, _prediction("ws-3"), tamper=kind == "tampered",
            ts=int(time.time()) - 301 if kind == "stale" else None,
            secret="whsec_not-the-secret" if kind == "wrong_secret" else None,
        )
    assert response.status_code == 401
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.events.count() == 0


@pytest.mark.django_db
def test_webhook_for_an_unknown_task_is_acknowledged_and_ignored(client, settings):
    assert _wavespeed_post(client, settings, _prediction("nobody-knows")).status_code == 200
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_signed_fal_webhook_is_verified_against_the_jwks(client, settings, emulator):
    """fal signs with ED25519; we verify against the JWKS the (emulated) provider publishes."""
    from providers.emulator.signing import FalSigner

    job = _running_job("fal", "fal-req-1", "fal-ai/ai-avatar")
    signer = emulator._app.signer
    body = json.dumps({"request_id": "fal-req-1", "gateway_request_id": "fal-req-1", "status": "OK",
                       "payload": {"video": {"url": "http://127.0.0.1:9/v.mp4", "content_type": "video/mp4",
                                             "file_name": "v.mp4", "file_size": 10}, "seed": 42}}).encode()
    ts = str(int(time.time()))

    def post(sign_with, payload: bytes):
        return client.post(
            URL.format(provider="fal"), data=payload, content_type="application/json",
            HTTP_X_FAL_WEBHOOK_REQUEST_ID="fal-req-1", HTTP_X_FAL_WEBHOOK_USER_ID="emulator-user",
            HTTP_X_FAL_WEBHOOK_TIMESTAMP=ts,
            HTTP_X_FAL_WEBHOOK_SIGNATURE=sign_with.sign(request_id="fal-req-1", user_id="emulator-user",
                                                        timestamp=ts, body=body),
        )

    assert post(FalSigner(b"\x01" * 32), body).status_code == 401  # a key fal never published
    assert post(signer, body.replace(b"v.mp4", b"x.mp4")).status_code == 401  # body changed after signing
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert post(signer, body).status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.FINALIZING and job.result_url == "http://127.0.0.1:9/v.mp4"


@pytest.mark.django_db
def test_the_emulators_keys_never_move_a_real_job(client, settings):
    """The emulator's webhook secret is no secret: a webhook signed with it, sent to the emulator
    endpoint, must not touch a job that ran at the real provider."""
    job = _running_job("wavespeed", "ws-real", "wavespeed-ai/wan-2.1/multitalk")
    Job.objects.filter(pk=job.pk).update(emulated=False)
    assert _wavespeed_post(client, settings, _prediction("ws-real")).status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.events.count() == 0


@pytest.mark.django_db
def test_unknown_webhook_endpoints_are_404(client):
    assert client.post("/webhooks/providers/wavespeed/other", data=b"{}", content_type="application/json"
                       ).status_code == 404
    assert client.post("/webhooks/providers/nobody/live", data=b"{}", content_type="application/json"
                       ).status_code == 404
