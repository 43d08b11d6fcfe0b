"""What the OpenAPI schema shows of the jobs API beyond its serializers: the list filters as query
parameters, example bodies and answers, and the job body by model (the schema is the contract;
``config.openapi`` has the shared parts)."""

from __future__ import annotations

from functools import cache

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers

from providers.catalogue import catalogue_list
from providers.openapi import model_component_name, model_input_ref

from .models import AssetKind, Job, JobStatus

KIND_PARAMETER = OpenApiParameter(
    "kind", OpenApiTypes.STR, enum=AssetKind.values, required=False,
    description="Only assets of this kind; another value is a 400 naming `kind`.",
)

JOB_FILTER_PARAMETERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=JobStatus.values, required=False,
                     description="Only jobs in this status; another value is a 400 naming `status`."),
    OpenApiParameter("model", {"type": "string", "maxLength": Job._meta.get_field("model_id").max_length},
                     required=False, description="Only jobs of this catalogue model (`GET /api/v1/models`)."),
]

RANGE_HEADER = OpenApiParameter(
    "Range", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="One byte range, `bytes=first-last`, `bytes=first-` or `bytes=-suffix` (206); one past the end "
                "is a 416.",
)

JOB_EXAMPLES = [
    OpenApiExample("local/still", request_only=True, value={
        "model": "local/still",
        "input": {"image": "5f0c7a9e-2b1d-4a43-9c1e-8f6d3e2a1b00", "audio": "0b7e4d2c-9a8f-4e61-b5d3-2c1a0f9e8d71",
                  "resolution": "480p"}}),
    OpenApiExample("fal-ai/ai-avatar", request_only=True, value={
        "model": "fal-ai/ai-avatar",
        "input": {"image_url": "5f0c7a9e-2b1d-4a43-9c1e-8f6d3e2a1b00",
                  "audio_url": "0b7e4d2c-9a8f-4e61-b5d3-2c1a0f9e8d71",
                  "prompt": "A woman speaks warmly to the camera in a bright studio.", "num_frames": 145}}),
    OpenApiExample("dashscope/wan2.7-r2v", request_only=True, value={
        "model": "dashscope/wan2.7-r2v",
        "input": {"prompt": "Image 1 walks along a beach at sunset and waves.", "duration": 5,
                  "media": [{"type": "reference_image", "url": "5f0c7a9e-2b1d-4a43-9c1e-8f6d3e2a1b00"}]}}),
]

_IMAGE, _AUDIO = "5f0c7a9e-2b1d-4a43-9c1e-8f6d3e2a1b00", "0b7e4d2c-9a8f-4e61-b5d3-2c1a0f9e8d71"
_JOB = "9d3e1f6a-7c2b-4e8d-a1f0-3b5c7d9e2f41"

ASSET_EXAMPLE = OpenApiExample("An uploaded image", response_only=True, status_codes=["201"], value={
    "id": _IMAGE, "object": "asset", "kind": "image", "content_type": "image/png", "size_bytes": 48213,
    "width": 512, "height": 512, "duration_s": None, "original_name": "face.png",
    "sha256": "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
    "created_at": "2026-11-30T09:12:03.512Z"})

JOB_QUEUED_EXAMPLE = OpenApiExample("A queued job", response_only=True, status_codes=["201"], value={
    "id": _JOB, "object": "job", "model": "local/still", "provider": "local", "emulated": False, "livemode": True,
    "status": "queued", "input": {"image": _IMAGE, "audio": _AUDIO, "resolution": "480p"},
    "quote": {"amount": "0.03", "currency": "usd", "seconds": 2.6}, "output": None, "charge": None, "error": None,
    "progress": None, "queue_position": 0,
    "events": [{"at": "2026-11-30T09:12:05.004Z", "from_status": "", "to_status": "queued", "message": "Created."}],
    "created_at": "2026-11-30T09:12:05.004Z", "started_at": None, "completed_at": None,
    "cancel_at": "2026-12-01T09:12:05.004Z", "webhook": "", "webhook_events_filter": []})

JOB_SUCCEEDED_EXAMPLE = OpenApiExample("A succeeded job", response_only=True, status_codes=["200"], value={
    **JOB_QUEUED_EXAMPLE.value, "status": "succeeded", "progress": 1.0, "queue_position": None,
    "output": {"url": f"https://parley.example/api/v1/jobs/{_JOB}/output", "duration_s": 2.6, "width": 480,
               "height": 480, "frames": 65, "size_bytes": 181240, "content_type": "video/mp4"},
    "charge": {"amount": "0.03", "currency": "usd", "seconds": 2.6, "billable_seconds": 3.0, "livemode": True},
    "started_at": "2026-11-30T09:12:05.210Z", "completed_at": "2026-11-30T09:12:09.873Z"})



def _field(base: type[serializers.Field], name: str, schema: dict[str, object]) -> serializers.Field:
    """An instance of a new subclass of ``base`` that the schema shows as ``schema``."""
    return extend_schema_field(schema)(type(name, (base,), {}))()


@cache
def job_body(fields: type[serializers.Serializer]) -> PolymorphicProxySerializer:
    """The job body as the schema shows it (``JobCreateInput``): one variant per catalogue model
    (``<Model>Job``), told apart by ``model``, whose ``input`` is that model's input component. Each
    variant is ``fields`` (the view's InputSerializer) with those two narrowed, so a field added to
    the body is documented for every model without more code."""
    variants: dict[str, type[serializers.Serializer]] = {}
    for entry in catalogue_list():
        name = model_component_name(entry.id)
        model = _field(serializers.CharField, f"{name}ModelField",
                       {"type": "string", "enum": [entry.id], "description": "The catalogue model."})
        input_ = _field(serializers.JSONField, f"{name}InputField", model_input_ref(entry.id))
        variant = type(f"{name}Job", (fields,), {"model": model, "input": input_, "__module__": __name__})
        variants[entry.id] = extend_schema_serializer(component_name=f"{name}Job")(variant)
    return PolymorphicProxySerializer(component_name="JobCreateInput", serializers=variants,
                                      resource_type_field_name="model")
