"""The shape of a catalogue entry: everything the platform knows about one model, as data.

A new model is one ``ModelEntry`` (plus, at most, a client for a new provider). Job creation
validates against ``input_schema`` (JSON Schema, draft 2020-12) and the ``asset_slots`` derived
from it; the quote comes from ``duration`` and ``pricing``; the dashboard form and
``GET /api/v1/models`` are generated from the same entry.

A file input is declared once, in the schema: a string property annotated ``x-asset-kind`` (the
asset kind, or a list of kinds) or ``x-asset-kind-by`` (``{"field": <sibling>, "kinds": {<sibling
value>: <kind>}}``, for list items whose kind a sibling field chooses). ``asset_slots`` is read
from those annotations, at the top level and in the items of an array of objects; per-slot
durations are limits (``Limits.asset_durations_s``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

AssetKind = Literal["image", "audio", "video"]
ASSET_KINDS: tuple[AssetKind, ...] = ("image", "audio", "video")
Provider = Literal["local", "wavespeed", "fal", "dashscope"]

# How pages name each provider.
PROVIDER_NAMES: Mapping[str, str] = {
    "local": "Local renderer",
    "wavespeed": "WaveSpeed",
    "fal": "fal",
    "dashscope": "Alibaba DashScope",
}


def provider_display_name(provider: str) -> str:
    """The provider's name as pages show it (its id when it has none)."""
    return PROVIDER_NAMES.get(provider, provider)


@dataclass(frozen=True)
class AssetSlot:
    """An input that takes one of the tenant's assets (the provider receives a URL to it), as
    ``asset_slots_from_schema`` reads it from the schema's annotations.

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

    fal's text-to-speech endpoints use ``"frames"`` too: their length is set by ``num_frames``.
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
    """A provider's price as data. ``billing.pricing.price_for_tenant`` is the one function that
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
    source: str = ""  # where the figures come from (the provider's public page, or our default)

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
    # (shortest, longest) seconds of the asset given at an asset slot's path, e.g. a reference
    # voice of 1..10 s; None leaves that end open. Not part of ``as_dict``: ``notes`` says it.
    asset_durations_s: Mapping[str, tuple[Decimal | None, Decimal | None]] = field(default_factory=dict)
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


KindBy = tuple[str, Mapping[str, AssetKind]]  # (sibling field, {sibling value: asset kind})


def _declared_kinds(prop: Mapping[str, Any], path: str) -> tuple[tuple[AssetKind, ...], KindBy | None]:
    """The kinds (and the sibling choosing one) a property's annotations declare; ``((), None)``
    for a property that takes no asset."""
    kinds: tuple[Any, ...] = ()
    kind_by: KindBy | None = None
    declared = prop.get("x-asset-kind")
    if isinstance(declared, str):
        kinds = (declared,)
    elif isinstance(declared, list | tuple):
        kinds = tuple(declared)
    by = prop.get("x-asset-kind-by")
    if by is not None:
        if not (isinstance(by, Mapping) and isinstance(by.get("field"), str) and isinstance(by.get("kinds"), Mapping)):
            raise ValueError(f"{path}: x-asset-kind-by must be {{'field': <sibling>, 'kinds': {{value: kind}}}}.")
        kind_by = (by["field"], dict(by["kinds"]))
        kinds = kinds or tuple(dict.fromkeys(kind_by[1].values()))
    unknown = [k for k in kinds if k not in ASSET_KINDS]
    if unknown:
        raise ValueError(f"{path}: unknown asset kind(s) {unknown}; expected some of {ASSET_KINDS}.")
    return kinds, kind_by


def asset_slots_from_schema(
    schema: Mapping[str, Any], durations: Mapping[str, tuple[Decimal | None, Decimal | None]]
) -> tuple[AssetSlot, ...]:
    """The asset slots the schema's ``x-asset-kind``/``x-asset-kind-by`` annotations declare, in
    schema order: top-level properties (``audio``) and the items of arrays of objects
    (``media[].url``). ``durations`` gives a slot's (min, max) seconds by its path."""
    candidates: list[tuple[str, Mapping[str, Any]]] = []
    for key, prop in schema.get("properties", {}).items():
        candidates.append((key, prop))
        items = prop.get("items")
        if prop.get("type") == "array" and isinstance(items, Mapping):
            candidates.extend((f"{key}[].{sub}", sub_prop) for sub, sub_prop in items.get("properties", {}).items())
    slots = []
    for path, prop in candidates:
        kinds, kind_by = _declared_kinds(prop, path)
        if kinds:
            low, high = durations.get(path, (None, None))
            slots.append(AssetSlot(path=path, kinds=kinds, kind_by=kind_by, min_duration_s=low, max_duration_s=high))
    unknown = set(durations) - {slot.path for slot in slots}
    if unknown:
        raise ValueError(f"Durations for paths that take no asset: {sorted(unknown)}.")
    return tuple(slots)


@dataclass(frozen=True)
class ModelEntry:
    id: str  # the provider's own model path; "local/still" for the local renderer
    provider: Provider
    provider_model: str  # what the client submits to (the path after the provider's base)
    display_name: str
    description: str
    input_schema: Mapping[str, Any]
    duration: DurationRule
    pricing: PriceRule
    limits: Limits = field(default_factory=Limits)
    capabilities: Capabilities = field(default_factory=Capabilities)
    extra_checks: Sequence[ExtraCheck] = ()
    docs_url: str = ""
    sources: str = ""  # which public page each figure follows, and choices made where they disagree
    # Read from ``input_schema`` (see the module docstring), never written by hand.
    asset_slots: tuple[AssetSlot, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        slots = asset_slots_from_schema(self.input_schema, self.limits.asset_durations_s)
        object.__setattr__(self, "asset_slots", slots)

    @property
    def provider_display_name(self) -> str:
        return provider_display_name(self.provider)

    @property
    def properties(self) -> Mapping[str, Any]:
        return self.input_schema.get("properties", {})

    def defaults(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.properties.items() if "default" in v}
