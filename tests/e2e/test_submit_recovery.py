"""A submit whose answer is lost (the provider accepted the task but answered after our read
timeout): the job ends with exactly one task at the provider, or with the possible duplicate
recorded as a provider cost; never two tasks nobody knows of. The worker runs in this process
(tasks inline, the poller ticking); the provider calls and its webhooks are real HTTP."""

from __future__ import annotations

import pytest

from billing.models import UsageRecord
from jobs.models import JobStatus
from tests.conftest import drive_job, upload
from tests.e2e.test_faults import PROVIDER_MODELS
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_platform(transactional_db, live_server, settings, emulator, inline_tasks):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.PROVIDER_READ_TIMEOUT_S = 1.5
    settings.PROVIDER_MAX_RETRIES = 2
    settings.JOB_SUBMIT_REPORT_WAIT_S = 45
    return emulator


def _create(client, provider: str, tmp_path) -> str:
    assets = {
        "image": upload(client, make_png(tmp_path / "face.png"))["id"],
        "audio": upload(client, make_wav(tmp_path / "speech.wav", seconds=1.5))["id"],
    }
    model, build = PROVIDER_MODELS[provider]
    response = client.post("/api/v1/jobs", {"model": model, "input": build(assets)}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.parametrize("provider", ["wavespeed", "fal"])
def test_a_lost_submit_answer_is_followed_by_the_task_the_provider_reports(provider, live_platform, member_client,
                                                                           tmp_path):
    emulator = live_platform
    emulator.set_faults(provider, timeout=1, hang_s=3.0)  # the task is created; its answer comes too late
    job = drive_job(_create(member_client, provider, tmp_path), timeout=60)

    assert job.status == JobStatus.SUCCEEDED, [e.message for e in job.events.all()]
    assert len(emulator.tasks) == 1  # never sent twice
    assert job.provider_request_id == next(iter(emulator.tasks))
    assert job.provider_duplicates == 0
    # the task reported itself (before or after our read timed out) and the job adopted it
    assert job.events.filter(data__adopted=True).count() == 1
    assert UsageRecord.objects.filter(job=job).count() == 1


def test_a_lost_submit_answer_without_webhooks_records_the_possible_duplicate(live_platform, member_client,
                                                                              tmp_path):
    emulator = live_platform
    emulator.set_faults("dashscope", timeout=1, hang_s=3.0)
    job = drive_job(_create(member_client, "dashscope", tmp_path), timeout=60)

    assert job.status == JobStatus.SUCCEEDED, [e.message for e in job.events.all()]
    live_tasks = [t for t in emulator.tasks.values() if t["state"] != "canceled"]
    assert len(live_tasks) == 2
    assert job.provider_duplicates == 1  # the first task is ours to pay, and known
    assert job.events.filter(data__possible_duplicate=True).count() == 1
    assert UsageRecord.objects.filter(job=job).count() == 1  # the tenant pays once
