"""The public shape of a catalogue entry (GET /api/v1/models)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .catalogue import ModelEntry
from .registry import provider_is_emulated


class ModelLimitsOutput(serializers.Serializer):
    max_duration_s = serializers.FloatField(allow_null=True, help_text="The longest video (and driving audio).")
    min_duration_s = serializers.FloatField(allow_null=True)
    max_media = serializers.IntegerField(allow_null=True, help_text="Reference images and videos together.")
    max_images = serializers.IntegerField(allow_null=True)
    max_videos = serializers.IntegerField(allow_null=True)
    notes = serializers.CharField(required=False, help_text="Limits that a number cannot say.")


class ModelPricingOutput(serializers.Serializer):
    currency = serializers.CharField()
    per_second = serializers.CharField(help_text="Provider price per billable second (a decimal string).")
    increment_s = serializers.CharField(help_text="Billable seconds are rounded up to whole increments.")
    minimum_s = serializers.CharField()
    maximum_s = serializers.CharField(allow_null=True)
    resolution_field = serializers.CharField(allow_null=True, help_text="The input field the multipliers read.")
    resolution_multipliers = serializers.DictField(child=serializers.CharField())
    frames_field = serializers.CharField(allow_null=True)
    frames_threshold = serializers.IntegerField(allow_null=True)
    frames_multiplier = serializers.CharField(help_text="Applied when input[frames_field] > frames_threshold.")
    bills_input_video = serializers.BooleanField(help_text="Reference video seconds are billed with the output.")
    source = serializers.CharField(help_text="Where the figures come from.")


class ModelCapabilitiesOutput(serializers.Serializer):
    cancel = serializers.BooleanField()
    webhook = serializers.BooleanField()
    progress = serializers.BooleanField()
    text_to_speech = serializers.BooleanField()


class ModelOutput(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.SerializerMethodField()
    provider = serializers.CharField()
    display_name = serializers.CharField()
    description = serializers.CharField()
    input_schema = serializers.JSONField(help_text="The JSON Schema of a job's `input` for this model (also "
                                                   "in the OpenAPI components as `<Model>Input`).")
    limits = serializers.SerializerMethodField()
    pricing = serializers.SerializerMethodField()
    capabilities = serializers.SerializerMethodField()
    emulated = serializers.SerializerMethodField()
    docs_url = serializers.CharField()

    @extend_schema_field({"type": "string", "enum": ["model"]})
    def get_object(self, obj: ModelEntry) -> str:
        return "model"

    @extend_schema_field(ModelLimitsOutput)
    def get_limits(self, obj: ModelEntry) -> dict:
        return obj.limits.as_dict()

    @extend_schema_field(ModelPricingOutput)
    def get_pricing(self, obj: ModelEntry) -> dict:
        return obj.pricing.as_dict()

    @extend_schema_field(ModelCapabilitiesOutput)
    def get_capabilities(self, obj: ModelEntry) -> dict:
        c = obj.capabilities
        return {"cancel": c.cancel, "webhook": c.webhook, "progress": c.progress, "text_to_speech": c.text_to_speech}

    def get_emulated(self, obj: ModelEntry) -> bool:
        """True when this model is served by the provider emulator (no provider key is set)."""
        request = self.context.get("request")
        actor = getattr(request, "actor", None)
        return provider_is_emulated(obj.provider, livemode=actor.livemode if actor else True)


class ModelListOutput(serializers.Serializer):
    results = ModelOutput(many=True)
