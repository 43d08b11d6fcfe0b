"""cancel_after against the provider emulator over real HTTP: a fal job rendering slowly past its
deadline is canceled by the poller, the emulator receives the cancel (for the running task), and the
job is not charged. (The worker runs in this process: tasks inline, the poller ticking.)"""

from __future__ import annotations

import pytest

from billing.models import Reservation, ReservationState, UsageRecord
from jobs.models import JobStatus
from providers.emulator.config import EmulatorConfig
from providers.emulator.server import start_emulator
from tests.conftest import drive_job, upload

pytestmark = pytest.mark.e2e


@pytest.fixture
def slow_emulator(settings):
    running = start_emulator(EmulatorConfig(
        api_key=settings.PROVIDER_EMULATOR_KEY, webhook_secret=settings.PROVIDER_EMULATOR_WEBHOOK_SECRET,
        queued_s=0.1, running_s=60, concurrency=4))  # the slow render: a minute per task
    settings.PROVIDER_EMULATOR_URL = running.url
    settings.WAVESPEED_API_KEY = settings.FAL_KEY = settings.DASHSCOPE_API_KEY = ""
    try:
        yield running
    finally:
        running.stop()


def test_a_slow_render_past_its_deadline_is_canceled_at_the_provider(transactional_db, live_server, settings,
                                                                     slow_emulator, inline_tasks, member_client,
                                                                     png_file, wav_file):
    settings.PUBLIC_BASE_URL = live_server.url
    body = {"model": "fal-ai/ai-avatar", "cancel_after": "3s",
            "input": {"image_url": upload(member_client, png_file)["id"],
                      "audio_url": upload(member_client, wav_file)["id"], "prompt": "Talk", "num_frames": 81}}
    created = member_client.post("/api/v1/jobs", body, format="json")
    assert created.status_code == 201, created.content
    job = drive_job(created.json()["id"], timeout=30)

    assert job.status == JobStatus.CANCELED and job.error_code == "deadline_exceeded", job.error_message
    assert job.provider_request_id  # it was running at the provider when its deadline came
    cancels = [r for r in slow_emulator.requests if r["method"] == "PUT" and r["path"].endswith("/cancel")]
    assert len(cancels) == 1 and job.provider_request_id in cancels[0]["path"]
    assert cancels[0]["status"] == 202  # fal's CANCELLATION_REQUESTED: the running task is asked to stop
    assert not UsageRecord.objects.filter(job=job).exists()
    assert Reservation.objects.get(job_id=job.pk).state == ReservationState.RELEASED
