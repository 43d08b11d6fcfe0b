"""Reconciling DashScope's reported output length (its ``usage``) with our probe of the delivered
video: a DashScope job run against the emulator over real HTTP (tasks inline, the poller ticking in
the test) records nothing when the two agree and one row naming the job when they differ, which
re-running does not repeat; nothing is corrected."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import ReconciliationDifference, ReconciliationKind, UsageRecord
from billing.provider_reconcile import provider_duration_reconcile
from jobs.models import JobStatus
from providers.emulator.dashscope import DashScopeHandler
from tests.conftest import drive_job, upload
from tests.media_fixtures import make_png

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_platform(transactional_db, live_server, settings, emulator, inline_tasks):
    settings.PUBLIC_BASE_URL = live_server.url
    return emulator


def _run_dashscope_job(member_client, tmp_path):
    image = upload(member_client, make_png(tmp_path / "face.png"))["id"]
    response = member_client.post("/api/v1/jobs", {"model": "dashscope/wan2.7-r2v", "input": {
        "prompt": "Image 1 talks", "duration": 2, "media": [{"type": "reference_image", "url": image}]}},
        format="json")
    assert response.status_code == 201, response.content
    job = drive_job(response.json()["id"], timeout=60)
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_message)
    return job


def test_matching_duration_records_nothing(live_platform, member_client, tmp_path):
    job = _run_dashscope_job(member_client, tmp_path)
    assert job.provider_reported_seconds == Decimal("2")
    assert abs(job.output_duration_s - job.provider_reported_seconds) <= Decimal("0.1")
    assert not ReconciliationDifference.objects.exists()


def test_differing_duration_records_one_row_and_is_not_fixed(live_platform, member_client, tmp_path, monkeypatch):
    honest = DashScopeHandler._usage

    def overbilled(self, task):  # the provider bills 5 s for the 2 s video it delivered
        return {**honest(self, task), "output_video_duration": 5, "duration": 5}

    monkeypatch.setattr(DashScopeHandler, "_usage", overbilled)
    job = _run_dashscope_job(member_client, tmp_path)

    [row] = ReconciliationDifference.objects.all()
    assert (row.tenant_id, row.kind, row.job_id, row.model_id) == (
        job.tenant_id, ReconciliationKind.PROVIDER_DURATION, job.id, "dashscope/wan2.7-r2v")
    assert (row.ours_seconds, row.theirs_seconds) == (job.output_duration_s, Decimal("5"))
    # nothing corrected: the job keeps its probe, the charge follows it
    assert job.provider_reported_seconds == Decimal("5")
    assert UsageRecord.objects.get(job_id=job.id).seconds == job.output_duration_s

    again = provider_duration_reconcile(tenant=job.tenant, job_id=job.id, model_id=job.model_id,
                                        ours=job.output_duration_s, theirs=job.provider_reported_seconds)
    assert again == row and ReconciliationDifference.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("ours", "theirs", "recorded"), [
    ("5.000", None, False),  # the provider reports nothing
    ("5.000", "5.100", False),  # within the tolerance
    ("5.000", "4.900", False),
    ("5.000", "5.101", True),
    ("5.040", "5", False),
])
def test_tolerance(tenant, settings, ours, theirs, recorded):
    settings.PROVIDER_DURATION_TOLERANCE_S = "0.1"
    row = provider_duration_reconcile(tenant=tenant, job_id="6a1e8f0c-3b7a-4b1e-9f43-2d1c0c8a9e11",
                                      model_id="dashscope/wan2.7-r2v", ours=Decimal(ours),
                                      theirs=None if theirs is None else Decimal(theirs))
    assert (row is not None) == recorded
    assert ReconciliationDifference.objects.count() == int(recorded)
