"""kill -9 of the workers and of the poller at each step of a job, with real processes: every job
reaches a final state within two minutes of the process coming back, the provider's slot frees up
as fast, and another tenant's job does not wait behind a dead one. Leases are short here
(JOB_LEASE_S=2) so the test is quick; production's 30 s scale the same way."""

from __future__ import annotations

import os
import signal
import time

import pytest

from accounts.models import Role
from billing.models import UsageRecord
from jobs.models import Job, JobStatus
from tests.conftest import upload, wait_for
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.e2e

RECOVERY_S = 120


@pytest.fixture
def env(emulator, settings) -> dict[str, str]:
    # The web process (this test's live server, which takes the webhooks) and the workers agree
    # on the caps: one WaveSpeed slot, so a job stuck in it would hold every tenant's jobs.
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "wavespeed": 1}
    settings.JOB_LEASE_S = 2
    return {"PROVIDER_EMULATOR_URL": emulator.url, "JOB_LEASE_S": "2", "JOB_SUBMIT_REPORT_WAIT_S": "60",
            "WAVESPEED_CONCURRENCY": "1", "POLLER_HOLD_S": "10"}


def _create(client, tmp_path, model: str = "wavespeed-ai/wan-2.1/multitalk") -> str:
    image = upload(client, make_png(tmp_path / "face.png"))["id"]
    audio = upload(client, make_wav(tmp_path / "speech.wav", seconds=1.5))["id"]
    inputs = ({"image": image, "audio": audio} if model.startswith("wavespeed") else
              {"image_url": image, "audio_url": audio, "prompt": "Talk", "num_frames": 81})
    response = client.post("/api/v1/jobs", {"model": model, "input": inputs}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _kill(proc) -> None:  # noqa: ANN001
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def _final(*job_ids: str, workers) -> list[Job]:  # noqa: ANN001
    def done() -> list[Job] | None:
        jobs = [Job.objects.get(pk=i) for i in job_ids]
        return jobs if all(j.is_final for j in jobs) else None

    return wait_for(done, timeout=RECOVERY_S, interval=0.5, message="every job to end", on_timeout=workers.output)


def _events(job: Job) -> list[str]:
    return [f"{e.from_status}->{e.to_status} {e.message}" for e in job.events.all()]


def test_workers_killed_mid_submit(platform, emulator, env, api_client, other_tenant, tmp_path):
    workers = platform(**env)
    mine, theirs = api_client(Role.MEMBER), api_client(Role.MEMBER, tenant_=other_tenant)
    emulator.set_faults("wavespeed", timeout=1, hang_s=30)  # the provider takes the task, answers late
    first = _create(mine, tmp_path)
    wait_for(lambda: Job.objects.filter(pk=first, status=JobStatus.SUBMITTING, submit_sent_at__isnull=False).exists()
             and emulator.tasks, timeout=30, message="the submit to be in flight", on_timeout=workers.output)
    _kill(workers.procs[0])  # the django-q2 cluster, mid-submit
    back = time.monotonic()
    second = _create(theirs, tmp_path)  # another tenant, behind the one WaveSpeed slot
    restarted = platform(**env)

    jobs = _final(first, second, workers=restarted)
    assert time.monotonic() - back < RECOVERY_S
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED] * 2, [_events(j) for j in jobs]
    assert len(emulator.tasks) == 2  # one task per job: the lost submit was not sent again
    assert jobs[0].provider_duplicates == 0
    assert all(UsageRecord.objects.filter(job=j).count() == 1 for j in jobs)


def test_workers_killed_mid_finalize(platform, emulator, env, api_client, tmp_path):
    workers = platform(**env)
    client = api_client(Role.MEMBER)
    emulator.set_faults("fal", output_latency_s=30)  # the video's download hangs: the worker is mid-finalize
    job_id = _create(client, tmp_path, model="fal-ai/ai-avatar")
    wait_for(lambda: Job.objects.filter(pk=job_id, status=JobStatus.FINALIZING).exists(), timeout=60,
             message="the job to be finalizing", on_timeout=workers.output)
    time.sleep(1)  # the download is under way
    _kill(workers.procs[0])
    emulator.set_faults("fal", output_latency_s=0)
    back = time.monotonic()
    restarted = platform(**env)

    (job,) = _final(job_id, workers=restarted)
    assert time.monotonic() - back < RECOVERY_S
    assert job.status == JobStatus.SUCCEEDED, _events(job)
    assert UsageRecord.objects.filter(job=job).count() == 1


def test_poller_killed_while_jobs_run(platform, emulator, env, api_client, tmp_path):
    workers = platform(**env)
    client = api_client(Role.MEMBER)
    emulator.set_faults("fal", latency_s=0.5)
    job_ids = [_create(client, tmp_path, model="fal-ai/ai-avatar") for _ in range(3)]
    wait_for(lambda: Job.objects.filter(pk__in=job_ids, status=JobStatus.RUNNING).exists(), timeout=60,
             message="a job to be running", on_timeout=workers.output)
    _kill(workers.procs[1])  # the poller, holding its claims
    _kill(workers.procs[0])
    back = time.monotonic()
    restarted = platform(**env)

    jobs = _final(*job_ids, workers=restarted)
    assert time.monotonic() - back < RECOVERY_S
    assert all(j.status == JobStatus.SUCCEEDED for j in jobs), [_events(j) for j in jobs]
    assert all(UsageRecord.objects.filter(job=j).count() == 1 for j in jobs)
