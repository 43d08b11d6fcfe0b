"""The job serializers build their answer by hand (for speed): it must stay exactly what DRF's
generic path makes of the declared fields (the OpenAPI schema is generated from those)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from billing.services import usage_record_create
from jobs.models import Job, JobStatus
from jobs.serializers import JobOutput, JobSummaryOutput
from jobs.transitions import job_note, job_transition
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db


def _job(tenant, **fields) -> Job:
    return Job.objects.create(tenant=tenant, model_id="fal-ai/ai-avatar", provider="fal", input={"prompt": "x"},
                              quote_seconds=Decimal("3.240"), quote_amount=Decimal("0.81"), **fields)


def _jobs() -> list[Job]:
    tenant = make_tenant()
    queued = _job(tenant, progress=None, queue_position=3)
    job_note(job=queued, message="created")
    failed = _job(tenant)
    for status in (JobStatus.SUBMITTING, JobStatus.RUNNING):
        job_transition(job=failed, to=status, message="step", progress=0.25)
    job_transition(job=failed, to=JobStatus.FAILED, message="bad", error_code="provider_failed",
                   error_message="The provider failed the job: bad face")
    done = _job(tenant, livemode=False, emulated=True)
    done.output.save(f"{done.id}.mp4", ContentFile(b"not really a video"), save=False)
    for status in (JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING):
        job_transition(job=done, to=status, message="step")
    job_transition(job=done, to=JobStatus.SUCCEEDED, message="done", output=done.output.name,
                   output_duration_s=Decimal("3.240"), output_width=512, output_height=512, output_frames=81,
                   output_size_bytes=1234, progress=1.0)
    usage_record_create(tenant=tenant, job_id=done.id, model_id=done.model_id, livemode=False, inputs=done.input,
                        quote_amount=done.quote_amount, seconds=Decimal("3.24"))
    return [queued, Job.objects.get(pk=failed.pk), Job.objects.select_related("usage_record").get(pk=done.pk)]


@pytest.mark.parametrize("serializer_class", [JobSummaryOutput, JobOutput])
def test_the_hand_built_answer_is_the_declared_fields_answer(serializer_class):
    request = APIRequestFactory().get("/api/v1/jobs")
    for job in _jobs():
        serializer = serializer_class(context={"request": request})
        fast = serializer.to_representation(job)
        generic = serializers.Serializer.to_representation(serializer, job)
        assert json.dumps(fast) == json.dumps(generic)  # same keys, same order, same values
        assert list(fast) == list(serializer.fields)
