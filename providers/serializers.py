"""The public shape of a catalogue entry (GET /api/v1/models)."""

from __future__ import annotations

from rest_framework import serializers

from .catalogue import ModelEntry
from .registry import provider_is_emulated


class ModelOutput(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.SerializerMethodField()
    provider = serializers.CharField()
    display_name = serializers.CharField()
    description = serializers.CharField()
    input_schema = serializers.JSONField()
    limits = serializers.SerializerMethodField()
    pricing = serializers.SerializerMethodField()
    capabilities = serializers.SerializerMethodField()
    emulated = serializers.SerializerMethodField()
    docs_url = serializers.CharField()

    def get_object(self, obj: ModelEntry) -> str:
        return "model"

    def get_limits(self, obj: ModelEntry) -> dict:
        return obj.limits.as_dict()

    def get_pricing(self, obj: ModelEntry) -> dict:
        return obj.pricing.as_dict()

    def get_capabilities(self, obj: ModelEntry) -> dict:
        c = obj.capabilities
        return {"cancel": c.cancel, "webhook": c.webhook, "progress": c.progress, "text_to_speech": c.text_to_speech}

    def get_emulated(self, obj: ModelEntry) -> bool:
        """True when this model is served by the provider emulator (no provider key is set)."""
        request = self.context.get("request")
        actor = getattr(request, "actor", None)
        return provider_is_emulated(obj.provider, livemode=actor.livemode if actor else True)
