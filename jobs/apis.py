"""REST API v1 of the jobs app: assets, jobs and quotes (the catalogue is ``providers.apis``)."""

from __future__ import annotations

import django_filters
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.apis import TenantApi
from accounts.models import Role
from billing.pricing import price_breakdown
from billing.serializers import QuoteCreatedOutput
from config.errors import ParleyError

from .file_responses import stored_file_response
from .models import Job, JobStatus
from .selectors import asset_get, asset_list, job_get, job_list
from .serializers import AssetOutput, JobOutput, JobSummaryOutput
from .services import asset_create_from_url, asset_delete, asset_store, job_cancel, job_create, job_quote


class AssetListCreateApi(TenantApi):
    required_roles = {"POST": Role.MEMBER}
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class FilterSet(django_filters.FilterSet):
        kind = django_filters.ChoiceFilter(choices=[("image", "image"), ("audio", "audio"), ("video", "video")])

    @extend_schema(responses=AssetOutput(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSet(request.query_params, queryset=asset_list(tenant=request.tenant))
        if not filters.is_valid():
            raise serializers.ValidationError(filters.errors)
        return self.paginated(filters.qs, AssetOutput)

    @extend_schema(request={
        "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
        "application/json": {"type": "object", "required": ["url"], "properties": {"url": {
            "type": "string", "description": "An https URL we fetch the file from, or a data: URI."}}},
    }, responses={201: AssetOutput, 200: AssetOutput})
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

    @extend_schema(responses=AssetOutput)
    def get(self, request: Request, asset_id: str) -> Response:
        return Response(AssetOutput(asset_get(tenant=request.tenant, asset_id=asset_id)).data)

    @extend_schema(responses={204: None})
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

    class FilterSet(django_filters.FilterSet):
        status = django_filters.ChoiceFilter(choices=JobStatus.choices)
        model = django_filters.CharFilter(field_name="model_id")

    @extend_schema(responses=JobSummaryOutput(many=True), parameters=[OpenApiParameter(
        "expand", str, enum=["events"], description="`events`: each job with its timeline, as `GET /jobs/{id}`.")])
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

    @extend_schema(request=InputSerializer, responses={201: JobOutput})
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        job = job_create(tenant=request.tenant, actor=request.actor, model_id=s.validated_data.get("model"),
                         inputs=s.validated_data.get("input"))  # answered as created, not read back
        return Response(JobOutput(job, context={"request": request}).data, status=201)


class JobDetailApi(TenantApi):
    @extend_schema(responses=JobOutput)
    def get(self, request: Request, job_id: str) -> Response:
        return Response(JobOutput(_job_of(request, job_id), context={"request": request}).data)


class JobCancelApi(TenantApi):
    required_roles = {"POST": Role.MEMBER}

    @extend_schema(request=None, responses=JobOutput)
    def post(self, request: Request, job_id: str) -> Response:
        job = job_cancel(tenant=request.tenant, actor=request.actor, job_id=job_id, livemode=request.actor.livemode)
        return Response(JobOutput(_job_of(request, job.id), context={"request": request}).data)


class JobOutputApi(TenantApi):
    @extend_schema(responses={(200, "video/mp4"): bytes})
    def get(self, request: Request, job_id: str) -> HttpResponse:
        job = _job_of(request, job_id)
        if not job.has_output:
            raise ParleyError("This job has no output yet.", code="no_output")
        return stored_file_response(request, job.output, content_type="video/mp4", filename=f"{job.id}.mp4")


class QuoteCreateApi(TenantApi):
    """What a job body would cost, validated exactly as ``POST /api/v1/jobs`` validates it; creates
    nothing. The job created from the same body stores the same amount."""

    parser_classes = [JSONParser]

    @extend_schema(request=JobListCreateApi.InputSerializer, responses={200: QuoteCreatedOutput})
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
