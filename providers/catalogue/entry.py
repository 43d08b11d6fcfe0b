"""The shape of a catalogue entry: everything the platform knows about one model, as data.

A new model is one ``ModelEntry`` (plus, at most, a client for a new provider). Job creation
validates against ``input_schema`` (JSON Schema, draft 2020-12) and ``asset_slots``; the quote
comes from ``duration`` and ``pricing``; the dashboard form and ``GET /api/v1/models`` are
generated from the same entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

AssetKind = Literal["image", "audio", "video"]


@dataclass(frozen=True)
class AssetSlot:
    """An input that takes one of the tenant's assets (the provider receives a URL to it).

    ``path`` is a dotted path into the job input; ``[]`` marks a list, e.g. ``media[].url``.
    ``kinds`` are the asset kinds accepted there. For list items whose kind depends on a sibling
    field (DashScope's ``media[].type``), ``kind_by`` names the sibling and maps its values to a
    kind, e.g. ``("type", {"reference_image": "image", "reference_video": "video"})``.
    """

    path: str
    kinds: tuple[AssetKind, ...]
    kind_by: tuple[str, Mapping[str, AssetKind]] | None = None
    max_duration_s: Decimal | None = None  # per asset (e.g. a reference voice of 1..10 s)
    min_duration_s: Decimal | None = None


@dataclass(frozen=True)
class DurationRule:
    """How long the output will be, known before rendering, for the quote and the limits.

    - ``source="audio"``: the longest (``combine="max"``) or the sum (``combine="sum"``) of the
      audio assets in ``fields`` (dotted paths of asset slots).
    - ``source="frames"``: ``input[frames_field] / fps`` (fal: num_frames at 25 fps).
    - ``source="parameter"``: ``input[parameter_field]`` seconds (DashScope's duration).
    - ``source="text"``: text-to-speech models whose length is set by ``frames_field`` as well;
      kept distinct so the UI can say so.
    """

    source: Literal["audio", "frames", "parameter"]
    fields: tuple[str, ...] = ()
    combine: Literal["max", "sum"] = "max"
    frames_field: str = "num_frames"
    fps: Decimal = Decimal("25")
    parameter_field: str = "duration"
    default: Decimal | None = None  # when the parameter is absent and has no schema default


@dataclass(frozen=True)
class PriceRule:
    """A provider's price as data. ``billing.pricing.price_compute`` is the one function that
    reads it; the rule never rounds money itself.

    Billable seconds = the video's seconds (plus input reference video seconds when
    ``bills_input_video``), rounded *up* to ``increment_s``, clamped to ``minimum_s``..
    ``maximum_s``. Price = billable seconds x ``per_second`` x the resolution multiplier x the
    frames multiplier (``frames_multiplier`` when ``input[frames_field] > frames_threshold``).
    """

    per_second: Decimal
    currency: str = "usd"
    increment_s: Decimal = Decimal("1")
    minimum_s: Decimal = Decimal("0")
    maximum_s: Decimal | None = None
    resolution_field: str | None = None
    resolution_multipliers: Mapping[str, Decimal] = field(default_factory=dict)
    frames_field: str | None = None
    frames_threshold: int | None = None
    frames_multiplier: Decimal = Decimal("1")
    bills_input_video: bool = False
    source: str = ""  # where the figures come from (seed, public page, our default)

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "per_second": str(self.per_second),
            "increment_s": str(self.increment_s),
            "minimum_s": str(self.minimum_s),
            "maximum_s": None if self.maximum_s is None else str(self.maximum_s),
            "resolution_field": self.resolution_field,
            "resolution_multipliers": {k: str(v) for k, v in self.resolution_multipliers.items()},
            "frames_field": self.frames_field,
            "frames_threshold": self.frames_threshold,
            "frames_multiplier": str(self.frames_multiplier),
            "bills_input_video": self.bills_input_video,
            "source": self.source,
        }


@dataclass(frozen=True)
class Capabilities:
    cancel: bool = False
    webhook: bool = False
    progress: bool = False
    text_to_speech: bool = False


@dataclass(frozen=True)
class Limits:
    max_duration_s: Decimal | None = None  # the longest video (and driving audio) the model makes
    min_duration_s: Decimal | None = None
    max_media: int | None = None  # e.g. DashScope: reference images and videos together
    max_images: int | None = None
    max_videos: int | None = None
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("max_duration_s", "min_duration_s"):
            value = getattr(self, key)
            out[key] = None if value is None else float(value)
        out.update(max_media=self.max_media, max_images=self.max_images, max_videos=self.max_videos)
        if self.notes:
            out["notes"] = self.notes
        return out


# A check that JSON Schema cannot express (e.g. "the prompt must mention Image 1"). It gets the
# input (defaults applied) and the resolved assets by path, and returns {path: message}.
ExtraCheck = Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, str]]


@dataclass(frozen=True)
class ModelEntry:
    id: str  # the provider's own model path; "local/still" for the local renderer
    provider: Literal["local", "wavespeed", "fal", "dashscope"]
    provider_model: str  # what the client submits to (the path after the provider's base)
    display_name: str
    description: str
    input_schema: Mapping[str, Any]
    asset_slots: Sequence[AssetSlot]
    duration: DurationRule
    pricing: PriceRule
    limits: Limits = field(default_factory=Limits)
    capabilities: Capabilities = field(default_factory=Capabilities)
    extra_checks: Sequence[ExtraCheck] = ()
    docs_url: str = ""
    sources: str = ""  # which seed / page each figure follows, and choices made where they disagree

    @property
    def properties(self) -> Mapping[str, Any]:
        return self.input_schema.get("properties", {})

    def defaults(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.properties.items() if "default" in v}
