"""jobs/queue.py: a request's tasks are pushed once its answer is sent; a broker that fails then
costs the job a wait for the poller's dispatch, never a 500 for a job that exists; outside a
request the push is made at the commit."""

from __future__ import annotations

import logging

import pytest
from django.utils import timezone

import jobs.apis
import jobs.queue
from accounts.actors import Actor
from accounts.models import Role
from jobs.models import Job, JobStatus
from jobs.pipeline.dispatch import job_dispatch_due
from jobs.services import job_create
from tests.conftest import upload


@pytest.fixture
def pushes(monkeypatch) -> list[tuple[str, tuple]]:
    seen: list[tuple[str, tuple]] = []
    monkeypatch.setattr(jobs.queue, "async_task", lambda path, *args, **kwargs: seen.append((path, args)))
    return seen


def _body(client, png_file, wav_file) -> dict:  # noqa: ANN001
    return {"model": "local/still", "input": {"image": upload(client, png_file)["id"],
                                              "audio": upload(client, wav_file)["id"]}}


@pytest.mark.django_db(transaction=True)
def test_a_created_job_is_pushed_once_its_answer_is_complete(member_client, png_file, wav_file, pushes,
                                                             monkeypatch):
    body = _body(member_client, png_file, wav_file)
    at_answer: list[int] = []
    real_finalize = jobs.apis.JobListCreateApi.finalize_response

    def finalize(self, request, response, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        at_answer.append(len(pushes))  # the answer is built, the transaction committed
        return real_finalize(self, request, response, *args, **kwargs)

    monkeypatch.setattr(jobs.apis.JobListCreateApi, "finalize_response", finalize)
    response = member_client.post("/api/v1/jobs", body, format="json")
    assert response.status_code == 201, response.content
    assert at_answer == [0]  # nothing pushed while answering
    assert pushes == [("jobs.tasks.job_submit_task", (response.json()["id"],))]  # pushed when it was sent


@pytest.mark.django_db(transaction=True)
def test_a_broker_down_after_the_commit_answers_201_and_the_poller_dispatches_the_job(
        member_client, png_file, wav_file, monkeypatch, caplog):
    body = _body(member_client, png_file, wav_file)

    def broker_down(*args, **kwargs):  # noqa: ANN002, ANN003
        raise ConnectionError("Redis is restarting")

    monkeypatch.setattr(jobs.queue, "async_task", broker_down)
    with caplog.at_level(logging.ERROR, logger="jobs.queue"):
        response = member_client.post("/api/v1/jobs", body, format="json")
    assert response.status_code == 201, response.content  # the job exists: its client must not retry it
    assert "the poller will dispatch it" in caplog.text
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.QUEUED and job.next_attempt_at is not None
    seen: list[str] = []
    monkeypatch.setattr(jobs.queue, "async_task", lambda path, *args, **kwargs: seen.append(path))
    Job.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())  # its sweep time has come
    job_dispatch_due(job=Job.objects.get(pk=job.pk))
    assert seen == ["jobs.tasks.job_submit_task"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_request_the_push_is_made_at_the_commit(tenant, member_client, png_file, wav_file, pushes):
    body = _body(member_client, png_file, wav_file)
    job = job_create(tenant=tenant, actor=Actor(tenant=tenant, role=Role.MEMBER, livemode=True),
                     model_id=body["model"], inputs=body["input"])
    assert pushes == [("jobs.tasks.job_submit_task", (str(job.id),))]
