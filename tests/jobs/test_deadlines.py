"""cancel_after: read within the operator's limits (400 naming it), stored as the job's deadline;
a job held queued or running past it ends canceled, uncharged, its reservation released, and the
provider asked to stop the task it had."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Role
from billing.models import Reservation, ReservationState, UsageRecord
from jobs.deadlines import cancel_after_seconds
from jobs.management.commands.job_poller import poller_tick
from jobs.models import Job, JobStatus
from providers.clients.results import CancelResult, PollResult, Submission
from tests.conftest import upload, wait_for
from tests.jobs.scripted_provider import ScriptedProvider


@pytest.mark.parametrize(("value", "seconds"), [
    ("10m", 600), ("90s", 90), ("1h", 3600), ("1h30m", 5400), (45, 45), (2.5, Decimal("2.5")), ("120", 120),
    (" 5M ", 300), (None, 24 * 3600),
])
def test_durations_are_read(value, seconds):
    assert cancel_after_seconds(value) == Decimal(seconds)


@pytest.mark.parametrize("value", ["ten minutes", "", "-5", 0, -1, "25h", 86401, True, {"s": 1}, [], "1d",
                                   "m", float("nan"), "1e3"])
def test_bad_durations_name_the_field_and_the_limits(value):
    with pytest.raises(ValidationError) as caught:
        cancel_after_seconds(value)
    (message,) = caught.value.message_dict["cancel_after"]
    assert "between 1 and 86400 seconds" in message and '"10m"' in message


# --- through the API -------------------------------------------------------------------------------
def _fal_body(client, png_file, wav_file, **extra) -> dict:
    return {"model": "fal-ai/ai-avatar", "input": {"image_url": upload(client, png_file)["id"],
            "audio_url": upload(client, wav_file)["id"], "prompt": "a person talking"}, **extra}


@pytest.mark.django_db
def test_the_api_stores_the_deadline_or_the_operators_maximum(member_client, png_file, wav_file, settings):
    settings.JOB_CANCEL_AFTER_MAX_S = 7200
    body = _fal_body(member_client, png_file, wav_file)
    job = member_client.post("/api/v1/jobs", {**body, "cancel_after": "10m"}, format="json").json()
    assert parse_datetime(job["cancel_at"]) - parse_datetime(job["created_at"]) == pytest.approx(
        timedelta(minutes=10), abs=timedelta(seconds=1))
    default = member_client.post("/api/v1/jobs", body, format="json").json()
    assert parse_datetime(default["cancel_at"]) - parse_datetime(default["created_at"]) == pytest.approx(
        timedelta(hours=2), abs=timedelta(seconds=1))


@pytest.mark.django_db
def test_a_bad_cancel_after_is_a_400_naming_it_with_the_input_errors_and_writes_nothing(member_client, png_file,
                                                                                       wav_file):
    body = _fal_body(member_client, png_file, wav_file, cancel_after="3 days")
    response = member_client.post("/api/v1/jobs", body, format="json")
    assert response.status_code == 400
    assert "between 1 and 86400 seconds" in response.json()["error"]["fields"]["cancel_after"][0]
    body["input"]["prompt"] = 5
    fields = member_client.post("/api/v1/jobs", body, format="json").json()["error"]["fields"]
    assert {"cancel_after", "input.prompt"} <= set(fields)
    assert not Job.objects.exists() and not Reservation.objects.exists()


# --- past the deadline -------------------------------------------------------------------------------
def _past(job_id: str) -> None:
    """Wait, for real, until the job's deadline has passed."""
    cancel_at = Job.objects.get(pk=job_id).cancel_at
    wait_for(lambda: timezone.now() >= cancel_at, timeout=10, interval=0.05, message="the deadline")


@pytest.mark.django_db(transaction=True)
def test_a_job_held_queued_past_its_deadline_is_canceled_uncharged(api_client, tenant, png_file, wav_file, settings,
                                                                   inline_tasks, provider):
    settings.TENANT_MAX_RUNNING_JOBS = 1
    fake = provider(ScriptedProvider(submit=[Submission(request_id="req-1", handle={"request_id": "req-1"})],
                                     status=[PollResult(state="running", progress=0.1)],
                                     cancel=[CancelResult(status="OK")]))
    client = api_client(Role.MEMBER)
    running = client.post("/api/v1/jobs", _fal_body(client, png_file, wav_file), format="json").json()
    assert Job.objects.get(pk=running["id"]).status == JobStatus.RUNNING  # takes the team's one running slot
    held = client.post("/api/v1/jobs", _fal_body(client, png_file, wav_file, cancel_after=1), format="json").json()
    assert Job.objects.get(pk=held["id"]).status == JobStatus.QUEUED
    assert Reservation.objects.get(job_id=held["id"]).state == ReservationState.RESERVED
    _past(held["id"])
    poller_tick()
    job = Job.objects.get(pk=held["id"])
    assert job.status == JobStatus.CANCELED and job.error_code == "deadline_exceeded"
    assert not UsageRecord.objects.filter(job_id=held["id"]).exists()
    assert Reservation.objects.get(job_id=held["id"]).state == ReservationState.RELEASED
    assert [op for op, _ in fake.calls].count("submit") == 1  # it never reached the provider
    body = client.get(f"/api/v1/jobs/{held['id']}").json()
    assert body["status"] == "canceled" and body["charge"] is None and body["error"]["code"] == "deadline_exceeded"
    assert Job.objects.get(pk=running["id"]).status == JobStatus.RUNNING  # no deadline of its own yet


@pytest.mark.django_db(transaction=True)
def test_a_job_held_running_past_its_deadline_is_canceled_and_the_provider_told(api_client, png_file, wav_file,
                                                                                inline_tasks, provider):
    fake = provider(ScriptedProvider(submit=[Submission(request_id="req-9", handle={"request_id": "req-9"})],
                                     status=[PollResult(state="running", progress=0.5)],
                                     cancel=[CancelResult(status="CANCELLATION_REQUESTED")]))
    client = api_client(Role.MEMBER)
    created = client.post("/api/v1/jobs", _fal_body(client, png_file, wav_file, cancel_after="2s"),
                          format="json").json()
    job = Job.objects.get(pk=created["id"])
    assert job.status == JobStatus.RUNNING
    poller_tick()  # polled, still running
    _past(created["id"])
    poller_tick()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED and job.error_code == "deadline_exceeded"
    assert "cancel_after of 2 s" in job.error_message
    assert ("cancel", {"handle": {"request_id": "req-9"}}) in fake.calls
    assert job.events.filter(message__startswith="Asked the provider to stop").exists()
    assert not UsageRecord.objects.filter(job=job).exists()
    assert Reservation.objects.get(job_id=job.pk).state == ReservationState.RELEASED


@pytest.mark.django_db
def test_a_result_reported_after_the_deadline_cancels_instead_of_delivering(tenant, inline_tasks, provider,
                                                                             django_capture_on_commit_callbacks):
    from jobs.pipeline.progress import job_apply_result

    fake = provider(ScriptedProvider(cancel=[CancelResult(status="OK")]))
    job = Job.objects.create(tenant=tenant, model_id="fal-ai/ai-avatar", provider="fal", status=JobStatus.RUNNING,
                             input={}, quote_seconds=Decimal("3"), quote_amount=Decimal("0.60"), emulated=True,
                             provider_request_id="req-late", provider_handle={"request_id": "req-late"},
                             cancel_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        job_apply_result(job=job, result=PollResult(state="succeeded", video_url="https://x.invalid/v.mp4"),
                         source="webhook")
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED and job.error_code == "deadline_exceeded" and not job.result_url
    assert inline_tasks == ["jobs.tasks.job_provider_cancel_task"]  # no finalize
    assert [op for op, _ in fake.calls] == ["cancel"]
