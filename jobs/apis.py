"""REST API v1 of the jobs app: assets, jobs and quotes (the catalogue is ``providers.apis``)."""

from __future__ import annotations

import django_filters
from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import TenantApi
from accounts.models import Role
from billing.pricing import price_breakdown
from billing.serializers import QuoteCreatedOutput
from config.errors import Conflict
from config.openapi import error_response
from idempotency.api import idempotent

from .api_examples import (
    ASSET_EXAMPLE,
    JOB_EXAMPLES,
    JOB_FILTER_PARAMETERS,
    JOB_QUEUED_EXAMPLE,
    JOB_SUCCEEDED_EXAMPLE,
    KIND_PARAMETER,
    RANGE_HEADER,
    job_body,
)
from .file_responses import stored_file_response
from .models import Job, JobStatus
from .selectors import asset_get, asset_list, job_get, job_list
from .serializers import AssetOutput, JobOutput, JobSummaryOutput
from .services import asset_create_from_url, asset_delete, asset_store, job_cancel, job_create, job_quote


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "example": "10m"}], "nullable": True})
class CancelAfterField(serializers.JSONField):
    """Seconds or a duration string; read by ``jobs.deadlines`` (400 naming ``cancel_after``)."""


class AssetListCreateApi(TenantApi):
    required_roles = {"POST": Role.MEMBER}
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class FilterSet(django_filters.FilterSet):
        kind = django_filters.ChoiceFilter(choices=[("image", "image"), ("audio", "audio"), ("video", "video")])

    @extend_schema(summary="List assets", responses=AssetOutput(many=True), parameters=[KIND_PARAMETER],
                   description="The team's uploaded files, newest first (assets are shared by live and test keys).")
    def get(self, request: Request) -> Response:
        filters = self.FilterSet(request.query_params, queryset=asset_list(tenant=request.tenant))
        if not filters.is_valid():
            raise serializers.ValidationError(filters.errors)
        return self.paginated(filters.qs, AssetOutput)

    @extend_schema(
        summary="Upload an asset", examples=[ASSET_EXAMPLE],
        responses={201: AssetOutput, 200: OpenApiResponse(AssetOutput, description=(
            "An upload whose content the team already has: that asset, not a copy."))},
        request={
            "multipart/form-data": {"type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary", "description": "An image, audio or video file."}}},
            "application/json": {"type": "object", "required": ["url"], "properties": {"url": {
                "type": "string", "description": "An https URL we fetch the file from, or a data: URI."}}},
        },
        description="Stores one file: uploaded (multipart field `file`) or fetched by us (JSON `{\"url\"}`: an "
                    "https URL to a public address, or a data: URI). Its kind and type are read from its content, "
                    "not its name, and it is probed (size, duration) within the upload limits; a file that is not "
                    "a readable image, audio or video is a 400 naming the field. A job names it by its `id`.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """201 with a new asset; an upload whose content the tenant already has answers 200 with
        that asset (a fetched URL is always a new asset)."""
        upload = request.FILES.get("file")
        url = request.data.get("url") if upload is None and hasattr(request.data, "get") else None
        if url is not None:
            asset, created = asset_create_from_url(tenant=request.tenant, actor=request.actor, url=url), True
        else:
            asset, created = asset_store(tenant=request.tenant, actor=request.actor, upload=upload)
        return Response(AssetOutput(asset).data, status=201 if created else 200)


class AssetDetailApi(TenantApi):
    required_roles = {"DELETE": Role.MEMBER}

    @extend_schema(summary="Get an asset", responses=AssetOutput, description="One uploaded file's details.")
    def get(self, request: Request, asset_id: str) -> Response:
        return Response(AssetOutput(asset_get(tenant=request.tenant, asset_id=asset_id)).data)

    @extend_schema(summary="Delete an asset", responses={
        204: None, 409: error_response("`asset_in_use`: a job that has not finished yet uses it.")},
        description="Deletes the file; refused while an unfinished job uses it.")
    def delete(self, request: Request, asset_id: str) -> Response:
        asset_delete(tenant=request.tenant, actor=request.actor, asset_id=asset_id)
        return Response(status=204)


def _job_of(request: Request, job_id: object) -> Job:
    """The request's job in the key's mode: another tenant's, or the other mode's, is a 404."""
    return job_get(tenant=request.tenant, job_id=job_id, livemode=request.actor.livemode)


class JobListCreateApi(TenantApi):
    required_roles = {"POST": Role.MEMBER}
    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="JobCreateInput")
    class InputSerializer(serializers.Serializer):
        model = serializers.CharField(required=False, allow_blank=True)
        input = serializers.JSONField(required=False, default=dict)
        cancel_after = CancelAfterField(required=False, allow_null=True, help_text=(
            "The job's deadline from its creation: seconds, or a duration such as \"90s\", \"10m\", \"1h\". "
            "Unfinished by then, it is canceled and not charged. Default and maximum: the operator's "
            "(JOB_CANCEL_AFTER_MAX_S, 24 h by default)."))
        webhook = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                        help_text="A URL told of this job's events, signed (see webhook-endpoints).")
        webhook_events_filter = serializers.JSONField(
            required=False, help_text="job.running, job.succeeded, job.failed, job.canceled (or Replicate's start, "
                                      "completed); default: the three final events.")

    class FilterSet(django_filters.FilterSet):
        status = django_filters.ChoiceFilter(choices=JobStatus.choices)
        model = django_filters.CharFilter(field_name="model_id")

    @extend_schema(summary="List jobs", responses=JobSummaryOutput(many=True), parameters=[
        *JOB_FILTER_PARAMETERS, OpenApiParameter("expand", str, enum=["events"], description=(
            "`events`: each job with its timeline, as `GET /jobs/{id}` has it (a list's items have none)."))],
        description="The key's mode's jobs (live or test), newest first, optionally of one status or model; "
                    "each item is the job without its timeline.")
    def get(self, request: Request) -> Response:
        expand = request.query_params.get("expand", "")
        if expand not in ("", "events"):
            raise serializers.ValidationError({"expand": [f"Unknown expansion {expand!r}; the only one is 'events'."]})
        jobs = job_list(tenant=request.tenant, livemode=request.actor.livemode,  # the key's mode only
                        events=expand == "events")
        filters = self.FilterSet(request.query_params, queryset=jobs)
        if not filters.is_valid():
            raise serializers.ValidationError(filters.errors)
        return self.paginated(filters.qs, JobOutput if expand else JobSummaryOutput)

    @extend_schema(
        summary="Create a job", request={"application/json": job_body(InputSerializer)},
        examples=[*JOB_EXAMPLES, JOB_QUEUED_EXAMPLE],
        responses={201: JobOutput, 402: error_response(
            "`budget_exceeded`: a live job's quote does not fit in the month's limit (the error also gives "
            "`limit`, `spend`, `reserved`, `quote`, `currency`, `scope`); `payment_required`: an invoice is unpaid.")},
        description="Validates the input against the model's schema (errors name `input.<path>`), quotes it, "
                    "reserves the quote against the budget (live keys) and queues it. Follow it with "
                    "`GET /api/v1/jobs/{id}`; it is charged only if it succeeds, never more than its quote.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        job = job_create(tenant=request.tenant, actor=request.actor, model_id=s.validated_data.get("model"),
                         inputs=s.validated_data.get("input"), cancel_after=s.validated_data.get("cancel_after"),
                         webhook=s.validated_data.get("webhook"),
                         webhook_events_filter=s.validated_data.get("webhook_events_filter"))
        # answered as created, not read back
        return Response(JobOutput(job, context={"request": request}).data, status=201)


class JobDetailApi(TenantApi):
    @extend_schema(summary="Get a job", responses=JobOutput, examples=[JOB_SUCCEEDED_EXAMPLE],
                   description="A job's status, progress, events, output (once succeeded), charge and error.")
    def get(self, request: Request, job_id: str) -> Response:
        return Response(JobOutput(_job_of(request, job_id), context={"request": request}).data)


class JobCancelApi(TenantApi):
    required_roles = {"POST": Role.MEMBER}

    @extend_schema(summary="Cancel a job", request=None, responses={
        200: JobOutput, 409: error_response("`job_not_cancelable`: the job has finished, or its video is already "
                                            "being delivered.")},
        description="Stops an unfinished job (the provider is told where it can be); a canceled job is never "
                    "charged.")
    def post(self, request: Request, job_id: str) -> Response:
        job = job_cancel(tenant=request.tenant, actor=request.actor, job_id=job_id, livemode=request.actor.livemode)
        return Response(JobOutput(_job_of(request, job.id), context={"request": request}).data)


class JobOutputApi(TenantApi):
    @extend_schema(summary="Download a job's video", responses={
        (200, "video/mp4"): OpenApiResponse(bytes, description="The MP4 (byte ranges are honoured)."),
        (206, "video/mp4"): OpenApiResponse(bytes, description="The asked byte range of the MP4."),
        409: error_response("`job_not_finished`: the job has not succeeded (yet), so it has no video."),
        416: OpenApiResponse(description="The range starts past the end (`Content-Range: bytes */<size>`).")},
        parameters=[RANGE_HEADER], description="The finished job's MP4.")
    def get(self, request: Request, job_id: str) -> HttpResponse:
        job = _job_of(request, job_id)
        if not job.has_output:
            raise Conflict(f"This job is {job.status}: its output can be fetched once it has succeeded.",
                           code="job_not_finished")
        return stored_file_response(request, job.output, content_type="video/mp4", filename=f"{job.id}.mp4")


class QuoteCreateApi(TenantApi):
    """What a job body would cost, validated exactly as ``POST /api/v1/jobs`` validates it; creates
    nothing. The job created from the same body stores the same amount."""

    parser_classes = [JSONParser]

    @extend_schema(summary="Price a job", request={"application/json": job_body(JobListCreateApi.InputSerializer)},
                   responses={200: QuoteCreatedOutput}, examples=JOB_EXAMPLES[:1],
                   description="What a job body would cost, validated exactly as `POST /api/v1/jobs` validates it "
                               "(the same `input.<path>` errors); creates nothing. The job created from the same "
                               "body stores the same amount.")
    @idempotent
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        s = JobListCreateApi.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        quoted = job_quote(tenant=request.tenant, model_id=s.validated_data.get("model"),
                           inputs=s.validated_data.get("input"))
        price = quoted.price
        return Response(QuoteCreatedOutput({
            "model": quoted.entry.id, "amount": str(price.amount), "currency": price.currency,
            "billable_seconds": str(price.billable_seconds),
            "breakdown": price_breakdown(rule=quoted.entry.pricing, inputs=quoted.checked.input, price=price,
                                         input_video_seconds=quoted.checked.input_video_s),
        }).data)
