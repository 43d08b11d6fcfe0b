"""Provider outputs through the outbound-URL policy: a provider-compatible server on our own
network (here the emulator, configured as a real DashScope endpoint on loopback) fails its jobs
with "non-public address" until the operator allows it with OUTBOUND_ALLOWED_NETWORKS; outputs on
loopback, or redirected there, reach no socket; emulated jobs keep their own rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import UsageRecord
from jobs.models import Job, JobStatus
from jobs.pipeline.finalize import job_finalize
from tests.conftest import drive_job, make_tenant, upload
from tests.media_fixtures import make_mp4, make_png
from tests.outbound.servers import redirect_to


@pytest.fixture
def self_hosted_dashscope(transactional_db, live_server, settings, emulator, inline_tasks):
    """The emulator, configured as a real (non-emulated) DashScope endpoint on loopback."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.DASHSCOPE_BASE_URL = f"{emulator.url}/api/v1"
    settings.DASHSCOPE_API_KEY = settings.PROVIDER_EMULATOR_KEY
    return emulator


def _run_job(client, tmp_path) -> Job:
    image = upload(client, make_png(tmp_path / "face.png"))["id"]
    response = client.post("/api/v1/jobs", {"model": "dashscope/wan2.7-r2v", "input": {
        "prompt": "Image 1 talks", "duration": 2, "media": [{"type": "reference_image", "url": image}]}},
        format="json")
    assert response.status_code == 201, response.content
    return drive_job(response.json()["id"], timeout=60)


@pytest.mark.e2e
def test_a_private_provider_fails_its_jobs_by_default(self_hosted_dashscope, member_client, tmp_path):
    job = _run_job(member_client, tmp_path)
    assert not job.emulated
    assert (job.status, job.error_code) == (JobStatus.FAILED, "output_unavailable")
    assert "non-public address (127.0.0.1)" in job.error_message
    assert job.events.get(to_status=JobStatus.FAILED).data == {"reason": "non_public_address"}
    assert not UsageRecord.objects.filter(job_id=job.id).exists()


@pytest.mark.e2e
def test_an_allowed_private_provider_delivers(self_hosted_dashscope, member_client, tmp_path, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    job = _run_job(member_client, tmp_path)
    assert not job.emulated
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_message)
    assert job.output and job.output_duration_s > 0
    assert UsageRecord.objects.filter(job_id=job.id).count() == 1


def _finalizing(url: str, *, emulated: bool = False) -> Job:
    return Job.objects.create(tenant=make_tenant(), model_id="fal-ai/ai-avatar", provider="fal",
                              input={"prompt": "x"}, status=JobStatus.FINALIZING, result_url=url,
                              quote_seconds=Decimal("3.24"), quote_amount=Decimal("0.81"), emulated=emulated)


@pytest.mark.django_db
@pytest.mark.parametrize(("bait_host", "url"), [
    ("127.0.0.1", "http://127.0.0.1:{port}/v.mp4"),
    ("127.0.0.1", "http://localhost:{port}/v.mp4"),  # a name that resolves to loopback
    ("127.0.0.2", "http://127.0.0.2:{port}/v.mp4"),
    ("::1", "http://[::1]:{port}/v.mp4"),
])
def test_an_output_on_loopback_reaches_no_socket(bait, connections, bait_host, url):
    trap = bait(bait_host)
    job = _finalizing(url.format(port=trap.port))
    job_finalize(job_id=str(job.id))
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "output_unavailable")
    assert "non-public address" in job.error_message
    assert job.events.get(to_status=JobStatus.FAILED).data == {"reason": "non_public_address"}
    assert trap.close() == 0 and connections == []


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/v.mp4", "http://169.254.169.254/latest/meta-data/",
                                    "http://192.168.1.1/v.mp4"])
def test_an_output_redirected_to_our_network_reaches_no_socket(settings, bait, web_server, connections, target):
    """127.0.0.1/32 is allowed and stands in for a public CDN, which redirects into our network."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    trap = bait("127.0.0.2")
    cdn = web_server(redirect_to(target.format(port=trap.port)))
    job = _finalizing(cdn.url("/v.mp4"))
    job_finalize(job_id=str(job.id))
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "output_unavailable")
    assert job.events.get(to_status=JobStatus.FAILED).data == {"reason": "non_public_address"}
    assert trap.close() == 0 and connections == [("127.0.0.1", cdn.port)]


@pytest.mark.django_db
def test_an_allowed_output_host_is_downloaded_and_the_job_succeeds(settings, web_server, tmp_path):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    video = make_mp4(tmp_path / "v.mp4", seconds=1.0).read_bytes()
    server = web_server(lambda path: (200, {"Content-Type": "video/mp4"}, video))
    job = _finalizing(server.url("/v.mp4"))
    job_finalize(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.output_size_bytes == len(video)
    assert UsageRecord.objects.filter(job_id=job.id).count() == 1


@pytest.mark.django_db
def test_an_emulated_job_still_takes_its_output_only_from_the_emulator(settings, web_server, tmp_path):
    """The operator's allowance does not widen the emulator's rule."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.PROVIDER_EMULATOR_URL = "http://127.0.0.1:8700"
    video = make_mp4(tmp_path / "v.mp4", seconds=1.0).read_bytes()
    server = web_server(lambda path: (200, {}, video))
    job = _finalizing(server.url("/v.mp4"), emulated=True)
    job_finalize(job_id=str(job.id))
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "output_unavailable")
    assert job.events.get(to_status=JobStatus.FAILED).data == {"reason": "not_the_emulator"}
    assert server.requests == []


@pytest.mark.django_db
def test_an_oversized_output_fails_the_job(settings, web_server, monkeypatch):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    monkeypatch.setattr("jobs.pipeline.output_download.MAX_OUTPUT_BYTES", 1000)
    server = web_server(lambda path: (200, {}, b"x" * 2000))
    job = _finalizing(server.url("/v.mp4"))
    job_finalize(job_id=str(job.id))
    job.refresh_from_db()
    assert job.events.get(to_status=JobStatus.FAILED).data == {"reason": "output_too_large"}
