"""Reconciling DashScope's reported output length (its ``usage``) with our probe of the delivered
video: a DashScope job run against the emulator over real HTTP (tasks inline, the poller ticking in
the test) records nothing when the two agree and one row naming the job when they differ, which
re-running does not repeat; nothing is corrected."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest

from billing.models import ReconciliationDifference, ReconciliationKind, UsageRecord
from billing.provider_reconcile import provider_duration_reconcile
from jobs.models import JobStatus
from jobs.provider_prices import price_inputs, provider_prices_reconcile
from providers.catalogue import catalogue_get
from providers.emulator import wavespeed as wavespeed_emulator
from providers.emulator.dashscope import DashScopeHandler
from tests.conftest import drive_job, upload
from tests.media_fixtures import make_png, make_wav

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


# --- WaveSpeed's price endpoint against what we metered ---------------------------------------------

def _run_wavespeed_job(member_client, tmp_path, *, model="wavespeed-ai/wan-2.2/speech-to-video", resolution="720p"):
    image = upload(member_client, make_png(tmp_path / "face.png"))["id"]
    audio = upload(member_client, make_wav(tmp_path / "speech.wav", seconds=6.2))["id"]
    fields = {"image": image, "audio": audio} | ({"resolution": resolution} if resolution else {})
    response = member_client.post("/api/v1/jobs", {"model": model, "input": fields}, format="json")
    assert response.status_code == 201, response.content
    job = drive_job(response.json()["id"], timeout=60)
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_message)
    return job


def test_price_inputs_carry_the_length_and_only_what_the_rule_reads():
    rule = catalogue_get(model_id="wavespeed-ai/wan-2.2/speech-to-video").pricing
    assert price_inputs(rule=rule, job_input={"image": "a-uuid", "audio": "b-uuid", "prompt": "hi",
                                              "resolution": "720p"}, seconds=Decimal("6.2")) == {
        "duration": 6.2, "resolution": "720p"}


def test_wavespeed_price_matching_ours_records_nothing(live_platform, member_client, tmp_path):
    job = _run_wavespeed_job(member_client, tmp_path)
    record = UsageRecord.objects.get(job=job)
    assert record.provider_amount == Decimal("0.42")  # 7 started seconds x $0.03 x 2 (720p)

    run = provider_prices_reconcile(day=record.created_at.date())
    assert (run.checked, run.unpriced, run.errors, run.differences) == (1, 0, [], [])
    assert not ReconciliationDifference.objects.exists()


def test_wavespeed_price_differing_records_one_row_and_is_not_fixed(live_platform, member_client, tmp_path,
                                                                   monkeypatch):
    job = _run_wavespeed_job(member_client, tmp_path)
    record = UsageRecord.objects.get(job=job)
    monkeypatch.setattr(wavespeed_emulator, "_BASE_PRICE_PER_5S", Decimal("0.20"))  # WaveSpeed raised its price

    run = provider_prices_reconcile(day=record.created_at.date())
    [row] = run.differences
    assert (row.tenant_id, row.kind, row.job_id, row.model_id) == (
        job.tenant_id, ReconciliationKind.PROVIDER_PRICE, job.id, "wavespeed-ai/wan-2.2/speech-to-video")
    # WaveSpeed: max(5, ceil(6.2)) / 5 x $0.20 x 2 = $0.56; ours stays 7 x $0.03 x 2
    assert (row.ours_amount, row.theirs_amount) == (Decimal("0.42"), Decimal("0.56"))
    assert row.day == record.created_at.date()
    # rerunning the day lists the same row once; the charge is untouched
    assert provider_prices_reconcile(day=record.created_at.date()).differences == [row]
    assert ReconciliationDifference.objects.count() == 1
    assert UsageRecord.objects.get(job=job).amount == record.amount


def test_a_provider_that_cannot_price_is_noted_and_nothing_recorded(live_platform, member_client, tmp_path,
                                                                   emulator, settings):
    job = _run_wavespeed_job(member_client, tmp_path, model="wavespeed-ai/wan-2.1/multitalk", resolution=None)
    settings.WAVESPEED_PRICING_PATH = "/api/v3/model/no-such-price"  # the emulator answers 404 there
    run = provider_prices_reconcile(day=UsageRecord.objects.get(job=job).created_at.date())
    assert run.checked == 0 and len(run.errors) == 1 and str(job.id) in run.errors[0]
    assert not ReconciliationDifference.objects.exists()


def test_local_jobs_and_other_days_are_not_asked(live_platform, member_client, tmp_path):
    job = _run_wavespeed_job(member_client, tmp_path)
    day = UsageRecord.objects.get(job=job).created_at.date()
    assert provider_prices_reconcile(day=day - timedelta(days=1)).checked == 0


def test_the_daily_task_and_the_command_check_a_day(live_platform, member_client, tmp_path, monkeypatch):
    from django.core.management import call_command

    from jobs.tasks import provider_prices_reconcile_task

    job = _run_wavespeed_job(member_client, tmp_path)
    day = UsageRecord.objects.get(job=job).created_at.date()
    monkeypatch.setattr(wavespeed_emulator, "_BASE_PRICE_PER_5S", Decimal("0.20"))
    assert provider_prices_reconcile_task(day.isoformat()) == 1
    out = io.StringIO()
    call_command("provider_prices_reconcile", "--date", day.isoformat(), stdout=out)
    assert f"job {job.id}" in out.getvalue() and "1 differences" in out.getvalue()
