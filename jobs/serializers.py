"""The API's public shapes of assets and jobs (one output serializer per resource)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Asset, AssetKind, Job, JobStatus


class AssetOutput(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=AssetKind.choices)
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)
    original_name = serializers.CharField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()

    @extend_schema_field({"type": "string", "enum": ["asset"]})
    def get_object(self, obj: Asset) -> str:
        return "asset"


class JobEventOutput(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    from_status = serializers.CharField(help_text="Empty for the job's creation.")
    to_status = serializers.ChoiceField(choices=JobStatus.choices)
    message = serializers.CharField()


class QuoteOutput(serializers.Serializer):
    amount = serializers.CharField(source="quote_amount")
    currency = serializers.CharField(source="quote_currency")
    seconds = serializers.FloatField(source="quote_seconds")


class JobVideoOutput(serializers.Serializer):
    url = serializers.URLField(help_text="GET it with the API key: the MP4.")
    duration_s = serializers.FloatField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    frames = serializers.IntegerField(allow_null=True)
    size_bytes = serializers.IntegerField(allow_null=True)
    content_type = serializers.CharField()


class JobChargeOutput(serializers.Serializer):
    amount = serializers.CharField(help_text="A decimal string, never more than the quote.")
    currency = serializers.CharField()
    seconds = serializers.FloatField(help_text="The delivered video's probed seconds.")
    billable_seconds = serializers.FloatField()
    livemode = serializers.BooleanField()


class JobErrorOutput(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. `provider_rejected`, `no_output`; empty when none was given.")
    message = serializers.CharField()


class JobSummaryOutput(serializers.Serializer):
    """A job as lists show it: everything but its timeline (``GET /jobs/{id}``, or a list's
    ``?expand=events``, has that), so that a page costs the same whatever the jobs' histories."""

    id = serializers.UUIDField()
    object = serializers.SerializerMethodField()
    model = serializers.CharField(source="model_id")
    provider = serializers.CharField()
    emulated = serializers.BooleanField()
    livemode = serializers.BooleanField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    input = serializers.JSONField(help_text="The input as validated, with the model's defaults filled in.")
    quote = QuoteOutput(source="*")
    output = serializers.SerializerMethodField()
    charge = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    progress = serializers.FloatField(allow_null=True, help_text="0..1 while running, when the provider says.")
    queue_position = serializers.IntegerField(allow_null=True, help_text="Jobs ahead of this one while queued.")
    webhook = serializers.CharField()
    webhook_events_filter = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    cancel_at = serializers.DateTimeField(allow_null=True, help_text="The deadline: unfinished by then, canceled.")

    @extend_schema_field({"type": "string", "enum": ["job"]})
    def get_object(self, obj: Job) -> str:
        return "job"

    def to_representation(self, obj: Job) -> dict:
        """The declared fields, built directly: DRF's generic path (a deep copy of every declared
        field per serializer, an attribute walk per value) was a third of a job creation's CPU and
        most of a list page's serialization. ``tests/jobs/test_job_output.py`` keeps the two equal."""
        when = _WHEN.to_representation
        return {
            "id": str(obj.id), "object": "job", "model": obj.model_id, "provider": obj.provider,
            "emulated": obj.emulated, "livemode": obj.livemode, "status": str(obj.status), "input": obj.input,
            "quote": {"amount": str(obj.quote_amount), "currency": obj.quote_currency,
                      "seconds": float(obj.quote_seconds)},
            "output": self.get_output(obj), "charge": self.get_charge(obj), "error": self.get_error(obj),
            "progress": None if obj.progress is None else float(obj.progress),
            "queue_position": None if obj.queue_position is None else int(obj.queue_position),
            "webhook": obj.webhook, "webhook_events_filter": list(obj.webhook_events_filter or []),
            "created_at": when(obj.created_at), "started_at": when(obj.started_at),
            "completed_at": when(obj.completed_at), "cancel_at": when(obj.cancel_at),
        }

    @extend_schema_field(JobVideoOutput(allow_null=True))
    def get_output(self, obj: Job) -> dict | None:
        if not obj.has_output:
            return None
        request = self.context.get("request")
        path = reverse("api:job-output", kwargs={"job_id": obj.id})
        return {
            "url": request.build_absolute_uri(path) if request is not None else path,
            "duration_s": float(obj.output_duration_s) if obj.output_duration_s is not None else None,
            "width": obj.output_width,
            "height": obj.output_height,
            "frames": obj.output_frames,
            "size_bytes": obj.output_size_bytes,
            "content_type": "video/mp4",
        }

    @extend_schema_field(JobChargeOutput(allow_null=True))
    def get_charge(self, obj: Job) -> dict | None:
        record = getattr(obj, "usage_record", None) if obj.status == "succeeded" else None
        if record is None:
            return None
        return {"amount": str(record.amount), "currency": record.currency, "seconds": float(record.seconds),
                "billable_seconds": float(record.billable_seconds), "livemode": record.livemode}

    @extend_schema_field(JobErrorOutput(allow_null=True))
    def get_error(self, obj: Job) -> dict | None:
        if not obj.error_message:
            return None
        return {"code": obj.error_code, "message": obj.error_message}


class JobOutput(JobSummaryOutput):
    """A job with its timeline (its page, its creation, its cancel)."""

    events = JobEventOutput(many=True)

    def to_representation(self, obj: Job) -> dict:
        when = _WHEN.to_representation
        return {**super().to_representation(obj), "events": [
            {"at": when(e.created_at), "from_status": e.from_status, "to_status": e.to_status, "message": e.message}
            for e in obj.events.all()]}


_WHEN = serializers.DateTimeField()
