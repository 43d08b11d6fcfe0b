"""The state machine: no step backwards, no step applied twice, even when raced."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.db.models import F
from hypothesis import given
from hypothesis import strategies as st

from accounts.actors import Actor
from accounts.models import Role
from billing.models import UsageRecord
from jobs import tasks
from jobs.models import FINAL_STATUSES, TRANSITIONS, Job, JobEvent, JobStatus
from jobs.pipeline.finalize import job_finalize
from jobs.services import asset_create
from jobs.transitions import IllegalTransition, job_transition
from tests.conftest import make_tenant
from tests.media_fixtures import make_mp4, make_png, make_wav

ALL = list(JobStatus)


def _uploaded(path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(path.name, path.read_bytes())


def make_local_job(tenant, tmp_path, seconds: float = 1.0) -> Job:
    from jobs.services import job_create

    actor = Actor(tenant=tenant, role=Role.OWNER)
    image = asset_create(tenant=tenant, actor=actor, upload=_uploaded(make_png(tmp_path / "i.png")))
    audio = asset_create(tenant=tenant, actor=actor, upload=_uploaded(make_wav(tmp_path / "a.wav", seconds=seconds)))
    return job_create(tenant=tenant, actor=actor, model_id="local/still",
                      inputs={"image": str(image.id), "audio": str(audio.id)})


@given(st.sampled_from(ALL), st.sampled_from(ALL))
def test_transition_table_has_no_way_back(a, b):
    order = [JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING]
    if b in TRANSITIONS[a] and a in order and b in order:
        # the only backward move is a transient submit failure putting the job back in the queue
        assert order.index(b) > order.index(a) or (a, b) == (JobStatus.SUBMITTING, JobStatus.QUEUED)
    if a in FINAL_STATUSES:
        assert not TRANSITIONS[a]


@pytest.mark.django_db
@pytest.mark.parametrize("final", sorted(FINAL_STATUSES))
def test_final_jobs_cannot_move(tenant, tmp_path, final):
    job = make_local_job(tenant, tmp_path)
    Job.objects.filter(pk=job.pk).update(status=final)
    job.refresh_from_db()
    for target in ALL:
        with pytest.raises(IllegalTransition):
            job_transition(job=job, to=target)
    assert Job.objects.get(pk=job.pk).status == final


@pytest.mark.django_db
def test_stale_transition_loses_and_writes_nothing(tenant, tmp_path):
    job = make_local_job(tenant, tmp_path)
    stale = Job.objects.get(pk=job.pk)
    assert job_transition(job=job, to=JobStatus.SUBMITTING)
    events = JobEvent.objects.filter(job=job).count()
    # a second worker holding the old state tries the same step: it loses
    assert not job_transition(job=stale, to=JobStatus.SUBMITTING)
    assert stale.status == JobStatus.QUEUED  # its in-memory copy is untouched
    assert JobEvent.objects.filter(job=job).count() == events


@pytest.mark.django_db
def test_running_every_task_twice_changes_nothing_the_second_time(tenant, tmp_path):
    job = make_local_job(tenant, tmp_path, seconds=1.2)
    tasks.job_submit_task(str(job.id))  # renders, and delivers in the same worker
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    events = JobEvent.objects.filter(job=job).count()
    tasks.job_submit_task(str(job.id))  # duplicate deliveries of both tasks: no-ops
    tasks.job_finalize_task(str(job.id))
    tasks.job_finalize_task(str(job.id))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and JobEvent.objects.filter(job=job).count() == events
    moves = list(
        JobEvent.objects.filter(job=job).exclude(to_status=F("from_status")).values_list("to_status", flat=True)
    )
    assert moves == ["submitting", "running", "finalizing", "succeeded"]
    assert UsageRecord.objects.filter(job=job).count() == 1
    assert UsageRecord.objects.get(job=job).amount == Decimal("0.02")  # 1.2 s -> 2 started seconds


@pytest.mark.django_db(transaction=True)
def test_parallel_transitions_one_winner():
    """Two workers race the same step on separate connections: exactly one wins."""
    tenant = make_tenant("Race")
    job = Job.objects.create(tenant=tenant, model_id="local/still", provider="local", input={},
                             quote_seconds=Decimal("1"), quote_amount=Decimal("0.01"))
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def race() -> None:
        try:
            mine = Job.objects.get(pk=job.pk)
            barrier.wait()
            results.append(job_transition(job=mine, to=JobStatus.SUBMITTING))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert JobEvent.objects.filter(job=job, to_status="submitting").count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_finalize_charges_once(tmp_path):
    """Two finalize tasks for the same job run at once: one success, one usage record."""
    tenant = make_tenant("Race")
    render = tmp_path / "render"
    render.mkdir()
    video = make_mp4(render / "output.mp4", seconds=1.0)
    job = Job.objects.create(tenant=tenant, model_id="local/still", provider="local", input={},
                             status=JobStatus.FINALIZING, result_url=f"file://{video}",
                             quote_seconds=Decimal("1"), quote_amount=Decimal("0.01"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def finalize() -> None:
        try:
            barrier.wait()
            job_finalize(job_id=str(job.id))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=finalize) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert UsageRecord.objects.filter(job=job).count() == 1
    assert JobEvent.objects.filter(job=job, to_status="succeeded").exclude(from_status="succeeded").count() == 1
