"""What the OpenAPI schema shows of the jobs API beyond its serializers: the list filters as query
parameters and example bodies (the schema is the contract; ``config.openapi`` has the shared parts)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter

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
