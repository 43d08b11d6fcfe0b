"""Pipeline edge cases that real providers produce only by bad luck: a cancel racing the submit,
a bug inside a step, an output URL that is not a web address."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import UsageRecord
from jobs.models import Job, JobStatus
from jobs.pipeline.dispatch import job_dispatch_due
from jobs.pipeline.finalize import job_finalize
from jobs.pipeline.progress import job_poll
from jobs.pipeline.submit import job_submit
from providers.clients.errors import ProviderAuthError, ProviderRateLimited, ProviderRejected, ProviderUnavailable
from providers.clients.results import CancelResult, PollResult, Submission
from tests.conftest import make_tenant
from tests.jobs.scripted_provider import ScriptedProvider


def _queued(tenant, model="fal-ai/ai-avatar", provider="fal") -> Job:
    return Job.objects.create(tenant=tenant, model_id=model, provider=provider, input={"prompt": "x"},
                              quote_seconds=Decimal("3.24"), quote_amount=Decimal("0.81"), emulated=True)


@pytest.mark.django_db
def test_task_accepted_after_a_cancel_is_canceled_at_the_provider(provider):
    job = _queued(make_tenant())

    def accepted_while_canceled() -> Submission:
        Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELED)  # the user's cancel wins the race
        return Submission(request_id="req-1", handle={"request_id": "req-1"})

    fake = provider(ScriptedProvider(submit=[accepted_while_canceled],
                                     cancel=[CancelResult(status="OK")]))
    job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED
    assert [op for op, _ in fake.calls] == ["submit", "cancel"]
    assert fake.calls[1][1] == {"handle": {"request_id": "req-1"}}
    assert job.events.last().data == {"request_id": "req-1"}  # the timeline names the task it stopped
    assert fake.closes == 1


@pytest.mark.django_db
def test_a_bug_during_submit_fails_the_job_instead_of_leaving_it_stuck(provider):
    job = _queued(make_tenant())
    fake = provider(ScriptedProvider(submit=[RuntimeError("a bug")]))
    job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "internal_error"
    assert not UsageRecord.objects.filter(job=job).exists()
    assert fake.closes == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("error", "code", "message", "data"), [
    (ProviderAuthError("bad key", provider="fal", http_status=401), "provider_auth",
     "The provider refused the platform's credentials; the operator has been told. (bad key)", {}),
    (ProviderRejected("image too small", provider="fal", http_status=422, fields={"image_url": "too small"}),
     "provider_rejected", "The provider rejected the input: image too small", {"fields": {"image_url": "too small"}}),
    (ProviderUnavailable("down", provider="fal", http_status=503), "provider_unavailable",
     "The provider could not be reached after 1 attempt to send the job: down", {}),
])
def test_each_submit_error_fails_the_job_with_its_code(provider, settings, error, code, message, data):
    settings.JOB_MAX_ATTEMPTS = 1
    job = _queued(make_tenant())
    fake = provider(ScriptedProvider(submit=[error]))
    job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert (job.status, job.error_code, job.error_message) == (JobStatus.FAILED, code, message)
    assert job.events.get(to_status=JobStatus.FAILED).data == data
    assert fake.closes == 1


@pytest.mark.django_db
def test_an_unavailable_provider_sends_the_job_back_to_the_queue_until_the_attempts_are_spent(provider, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = _queued(make_tenant())
    provider(ScriptedProvider(submit=[ProviderUnavailable("down", provider="fal", http_status=503)]))
    for expected_attempts in (1, 2):
        job_submit(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.QUEUED, expected_attempts)
    job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "provider_unavailable")


@pytest.mark.django_db
@pytest.mark.parametrize(("error", "code"), [
    (ProviderAuthError("bad key", provider="fal", http_status=403), "provider_auth"),
    (ProviderRejected("no such task", provider="fal", http_status=404), "provider_failed"),
])
def test_a_poll_refused_by_the_provider_fails_the_job(provider, error, code):
    job = _queued(make_tenant())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, provider_handle={"request_id": "r"})
    fake = provider(ScriptedProvider(status=[error]))
    job_poll(job_id=str(job.id))
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, code)
    assert fake.closes == 1


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/v.mp4", "gopher://x"])
def test_output_urls_other_than_http_are_refused_for_providers(url):
    job = _queued(make_tenant())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINALIZING, result_url=url)
    job_finalize(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "output_unavailable"
    assert job.events.get(to_status=JobStatus.FAILED).data == {"reason": "unsupported_scheme"}
    assert not job.output


@pytest.mark.django_db
def test_a_running_job_outlives_a_status_outage(provider, settings):
    """The provider's status endpoint is down for a while; the task renders fine meanwhile."""
    settings.JOB_MAX_ATTEMPTS = 3
    job = _queued(make_tenant())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, provider_handle={"request_id": "r"})
    outage = ProviderUnavailable("503 from the status endpoint", provider="fal", http_status=503)
    fake = provider(ScriptedProvider(status=[outage] * 10 + [PollResult(state="running", progress=0.5)]))
    for _ in range(11):
        job_poll(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.attempts == 0 and job.progress == 0.5
    assert job.events.filter(data__has_key="poll_error").count() == 1  # noted once, not ten times
    assert fake.closes == 11


@pytest.mark.django_db
def test_a_submit_whose_worker_keeps_dying_fails_instead_of_looping(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = _queued(make_tenant())
    for _ in range(5):
        Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(status=JobStatus.SUBMITTING)
        job.refresh_from_db()
        if job.is_final:
            break
        job_dispatch_due(job=job)  # the poller finds it stuck in submitting
        job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "internal_error"
    assert not UsageRecord.objects.filter(job=job).exists()


@pytest.mark.django_db
def test_429s_make_a_job_wait_but_never_fail_it(provider, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = _queued(make_tenant())
    busy = ProviderRateLimited("Too many requests", retry_after=5.0, provider="fal", http_status=429)
    fake = provider(ScriptedProvider(submit=[busy]))
    for _ in range(10):
        job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.attempts == 0
    assert job.events.filter(from_status=JobStatus.SUBMITTING, to_status=JobStatus.QUEUED).count() == 10
    assert fake.closes == 10


@pytest.mark.django_db
def test_a_job_that_waits_past_the_queue_timeout_fails_uncharged(settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.JOB_QUEUED_TIMEOUT_S = 3600
    job = _queued(make_tenant())
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=2))
    job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "provider_capacity"
    assert job.error_message == "The provider had no room for this job for 1 h; it is not charged."


@pytest.mark.django_db
@pytest.mark.parametrize(("emulated", "url", "reason"), [
    (False, "http://169.254.169.254/latest/meta-data/", "non_public_address"),  # cloud metadata
    (False, "http://127.0.0.1:5432/", "non_public_address"),  # our own machine
    (False, "http://10.0.0.8/video.mp4", "non_public_address"),  # our private network
    (True, "http://169.254.169.254/latest/meta-data/", "not_the_emulator"),  # an "emulated" output elsewhere
])
def test_outputs_are_never_fetched_from_our_own_network(settings, emulated, url, reason):
    settings.PROVIDER_EMULATOR_URL = "http://127.0.0.1:8700"
    job = _queued(make_tenant())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINALIZING, result_url=url, emulated=emulated)
    job_finalize(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "output_unavailable"
    assert job.events.get(to_status=JobStatus.FAILED).data == {"reason": reason}
    assert not job.output


def test_the_emulators_webhook_secret_is_derived_from_secret_key():
    """Not a constant anyone can read in the repository: it is derived from SECRET_KEY."""
    import base64
    import hashlib
    import hmac

    from django.conf import settings

    expected = base64.b64encode(hmac.new(settings.SECRET_KEY.encode(), b"parley provider emulator webhooks",
                                         hashlib.sha256).digest()).decode()
    assert settings.PROVIDER_EMULATOR_WEBHOOK_SECRET == "whsec_" + expected
