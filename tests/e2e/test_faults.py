"""Every fault the emulator can inject, for every provider: the job ends as a user would expect
(retried and then succeeded, or failed with the provider's message), never stuck, and never
charged when it failed. The worker runs in this process (tasks inline, the poller ticking); the
provider calls and the downloads of our signed URLs are real HTTP."""

from __future__ import annotations

import pytest

from billing.models import UsageRecord
from jobs.models import JobEvent, JobStatus
from tests.conftest import drive_job, upload, wait_for
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.e2e

PROVIDER_MODELS = {
    "wavespeed": ("wavespeed-ai/wan-2.1/multitalk", lambda a: {"image": a["image"], "audio": a["audio"]}),
    "fal": ("fal-ai/ai-avatar", lambda a: {"image_url": a["image"], "audio_url": a["audio"], "prompt": "Talk",
                                           "num_frames": 81}),
    "dashscope": ("dashscope/wan2.7-r2v", lambda a: {"prompt": "Image 1 talks", "duration": 2,
                                                     "media": [{"type": "reference_image", "url": a["image"]}]}),
}

# fault -> (emulator settings, expected final status, words the error must contain)
FAULTS = {
    "latency": ({"latency_s": 0.4}, "succeeded", None),
    "rate_limit_burst": ({"rate_limit": 6, "retry_after_s": 0.2}, "succeeded", None),
    "server_errors": ({"server_error": 6}, "succeeded", None),
    "timeout": ({"timeout": 1, "hang_s": 2.5}, "succeeded", None),
    "malformed_json": ({"malformed_json": 2}, "succeeded", None),
    "failed_task": ({"fail_task": 1}, "failed", "provider failed the job"),
    "expired_output": ({"expired_output": True}, "failed", "expired"),
    "duplicate_webhook": ({"duplicate_webhook": True}, "succeeded", None),
}


@pytest.fixture
def live_platform(transactional_db, live_server, settings, emulator, inline_tasks):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.PROVIDER_READ_TIMEOUT_S = 1.5
    settings.PROVIDER_MAX_RETRIES = 2
    return emulator


CASES = [(p, f) for p in PROVIDER_MODELS for f in FAULTS if not (p == "dashscope" and f == "duplicate_webhook")]


@pytest.mark.parametrize(("provider", "fault"), CASES)
def test_fault_ends_as_a_user_expects(provider, fault, live_platform, member_client, tmp_path):
    emulator = live_platform
    faults, expected, words = FAULTS[fault]
    assets = {
        "image": upload(member_client, make_png(tmp_path / "face.png"))["id"],
        "audio": upload(member_client, make_wav(tmp_path / "speech.wav", seconds=1.5))["id"],
    }
    model, build = PROVIDER_MODELS[provider]
    emulator.set_faults(provider, **faults)
    response = member_client.post("/api/v1/jobs", {"model": model, "input": build(assets)}, format="json")
    assert response.status_code == 201, response.content
    job = drive_job(response.json()["id"], timeout=60)

    assert job.status == expected, (job.error_code, job.error_message,
                                    [e.message for e in JobEvent.objects.filter(job=job)])
    charges = UsageRecord.objects.filter(job=job)
    if expected == JobStatus.SUCCEEDED:
        assert charges.count() == 1
        assert job.output and job.output_duration_s is not None
        succeeded_moves = JobEvent.objects.filter(job=job, to_status="succeeded").exclude(from_status="succeeded")
        assert succeeded_moves.count() == 1
    else:
        assert charges.count() == 0
        assert words in job.error_message.lower(), job.error_message
    if fault in ("rate_limit_burst", "server_errors"):
        # the burst was absorbed by retries (the client's own, then the job's as DB state)
        assert any(r["fault"] for r in emulator.requests)
    if fault == "duplicate_webhook":
        # both copies arrive and are accepted, and the second changes nothing
        wait_for(lambda: len([d for d in emulator.webhooks if d["delivered"]]) >= 2, timeout=15,
                 message="both webhook copies")
        assert UsageRecord.objects.filter(job=job).count() == 1
        assert JobEvent.objects.filter(job=job, to_status="finalizing").exclude(from_status="finalizing").count() == 1
