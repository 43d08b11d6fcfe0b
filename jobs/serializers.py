"""The API's public shapes of assets and jobs (one output serializer per resource)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from .models import Asset, Job


class AssetOutput(serializers.Serializer):
    id = serializers.UUIDField()
    object = serializers.SerializerMethodField()
    kind = serializers.CharField()
    content_type = serializers.CharField()
    size_bytes = serializers.IntegerField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)
    original_name = serializers.CharField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_object(self, obj: Asset) -> str:
        return "asset"


class JobEventOutput(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    message = serializers.CharField()


class QuoteOutput(serializers.Serializer):
    amount = serializers.CharField(source="quote_amount")
    currency = serializers.CharField(source="quote_currency")
    seconds = serializers.FloatField(source="quote_seconds")


class JobSummaryOutput(serializers.Serializer):
    """A job as lists show it: everything but its timeline (``GET /jobs/{id}``, or a list's
    ``?expand=events``, has that), so that a page costs the same whatever the jobs' histories."""

    id = serializers.UUIDField()
    object = serializers.SerializerMethodField()
    model = serializers.CharField(source="model_id")
    provider = serializers.CharField()
    emulated = serializers.BooleanField()
    livemode = serializers.BooleanField()
    status = serializers.CharField()
    input = serializers.JSONField()
    quote = QuoteOutput(source="*")
    output = serializers.SerializerMethodField()
    charge = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    progress = serializers.FloatField(allow_null=True)
    queue_position = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)

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
            "created_at": when(obj.created_at), "started_at": when(obj.started_at),
            "completed_at": when(obj.completed_at),
        }

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

    def get_charge(self, obj: Job) -> dict | None:
        record = getattr(obj, "usage_record", None) if obj.status == "succeeded" else None
        if record is None:
            return None
        return {"amount": str(record.amount), "currency": record.currency, "seconds": float(record.seconds),
                "billable_seconds": float(record.billable_seconds), "livemode": record.livemode}

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
