"""Pipeline edge cases that real providers produce only by bad luck: a cancel racing the submit,
a bug inside a step, an output URL that is not a web address."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import UsageRecord
from jobs import pipeline
from jobs.models import Job, JobStatus
from providers.clients.base import CancelResult, Submission
from tests.conftest import make_tenant


class RacingClient:
    """Accepts the task, but the user cancels the job while the submit is on the wire."""

    def __init__(self, job_id: str) -> None:
        self.job_id, self.canceled = job_id, []

    def submit(self, *, model_path, inputs, webhook_url=None):  # noqa: ANN001, ANN201
        Job.objects.filter(pk=self.job_id).update(status=JobStatus.CANCELED)  # the user's cancel wins the race
        return Submission(request_id="req-1", handle={"request_id": "req-1"})

    def cancel(self, *, handle):  # noqa: ANN001, ANN201
        self.canceled.append(handle)
        return CancelResult(status="OK")

    def close(self) -> None:
        pass


class BrokenClient(RacingClient):
    def submit(self, *, model_path, inputs, webhook_url=None):  # noqa: ANN001, ANN201
        raise RuntimeError("a bug")


def _queued(tenant, model="fal-ai/ai-avatar", provider="fal") -> Job:
    return Job.objects.create(tenant=tenant, model_id=model, provider=provider, input={"prompt": "x"},
                              quote_seconds=Decimal("3.24"), quote_amount=Decimal("0.81"), emulated=True)


@pytest.mark.django_db
def test_task_accepted_after_a_cancel_is_canceled_at_the_provider(monkeypatch):
    job = _queued(make_tenant())
    client = RacingClient(str(job.id))
    monkeypatch.setattr(pipeline, "_client", lambda job: client)
    pipeline.job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED
    assert client.canceled == [{"request_id": "req-1"}]
    assert job.events.filter(message__icontains="just accepted").exists()


@pytest.mark.django_db
def test_a_bug_during_submit_fails_the_job_instead_of_leaving_it_stuck(monkeypatch):
    job = _queued(make_tenant())
    monkeypatch.setattr(pipeline, "_client", lambda job: BrokenClient(str(job.id)))
    pipeline.job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "internal_error"
    assert not UsageRecord.objects.filter(job=job).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/v.mp4", "gopher://x"])
def test_output_urls_other_than_http_are_refused_for_providers(url):
    job = _queued(make_tenant())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINALIZING, result_url=url)
    pipeline.job_finalize(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "unsupported scheme" in job.error_message
    assert not job.output


class FlakyStatusClient(RacingClient):
    """The provider's status endpoint is down for a while; the task renders fine meanwhile."""

    def __init__(self, job_id: str, failures: int) -> None:
        super().__init__(job_id)
        self.failures = failures

    def poll(self, *, handle):  # noqa: ANN001, ANN201
        from providers.clients.base import PollResult, ProviderUnavailable

        if self.failures:
            self.failures -= 1
            raise ProviderUnavailable("503 from the status endpoint", provider="fal", http_status=503)
        return PollResult(state="running", progress=0.5)


@pytest.mark.django_db
def test_a_running_job_outlives_a_status_outage(monkeypatch, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = _queued(make_tenant())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, provider_handle={"request_id": "r"})
    client = FlakyStatusClient(str(job.id), failures=10)
    monkeypatch.setattr(pipeline, "_client", lambda job: client)
    for _ in range(11):
        pipeline.job_poll(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.attempts == 0 and job.progress == 0.5
    assert job.events.filter(message__icontains="could not check").count() == 1  # noted once, not ten times


@pytest.mark.django_db
def test_a_submit_whose_worker_keeps_dying_fails_instead_of_looping(settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = _queued(make_tenant())
    for _ in range(5):
        Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(status=JobStatus.SUBMITTING)
        job.refresh_from_db()
        if job.is_final:
            break
        pipeline.job_dispatch_due(job=job)  # the poller finds it stuck in submitting
        job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "internal_error"
    assert not UsageRecord.objects.filter(job=job).exists()


class BusyClient(RacingClient):
    def submit(self, *, model_path, inputs, webhook_url=None):  # noqa: ANN001, ANN201
        from providers.clients.base import ProviderRateLimited

        raise ProviderRateLimited("Too many requests", retry_after=5.0, provider="fal", http_status=429)


@pytest.mark.django_db
def test_429s_make_a_job_wait_but_never_fail_it(monkeypatch, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = _queued(make_tenant())
    monkeypatch.setattr(pipeline, "_client", lambda job: BusyClient(str(job.id)))
    for _ in range(10):
        pipeline.job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.attempts == 0
    assert job.events.filter(message__icontains="busy (429)").count() == 10


@pytest.mark.django_db
def test_a_job_that_waits_past_the_queue_timeout_fails_uncharged(settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.JOB_QUEUED_TIMEOUT_S = 3600
    job = _queued(make_tenant())
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=2))
    pipeline.job_submit(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "provider_capacity" and "for 1 h;" in job.error_message


@pytest.mark.django_db
@pytest.mark.parametrize(("emulated", "url"), [
    (False, "http://169.254.169.254/latest/meta-data/"),  # cloud metadata
    (False, "http://127.0.0.1:5432/"),  # our own machine
    (False, "http://10.0.0.8/video.mp4"),  # our private network
    (True, "http://169.254.169.254/latest/meta-data/"),  # an "emulated" output not at the emulator
])
def test_outputs_are_never_fetched_from_our_own_network(settings, emulated, url):
    settings.PROVIDER_EMULATOR_URL = "http://127.0.0.1:8700"
    job = _queued(make_tenant())
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FINALIZING, result_url=url, emulated=emulated)
    pipeline.job_finalize(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_code == "output_unavailable"
    assert "non-public" in job.error_message or "must come from the emulator" in job.error_message
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
