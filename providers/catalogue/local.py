"""The local renderer: a still image gently animated over an audio track, made in our worker."""

from decimal import Decimal

from .entry import Capabilities, DurationRule, Limits, ModelEntry, PriceRule

LOCAL_STILL = ModelEntry(
    id="local/still",
    provider="local",
    provider_model="still",
    display_name="Local still (demo)",
    description=(
        "Renders the image with a slow zoom over the full length of the audio, as an H.264/AAC MP4. "
        "Runs on our own workers; useful to try the platform end to end."
    ),
    input_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["image", "audio"],
        "properties": {
            "image": {"type": "string", "title": "Image", "x-asset-kind": "image",
                      "description": "The picture shown in the video: a photo of the person who speaks."},
            "audio": {"type": "string", "title": "Audio", "x-asset-kind": "audio",
                      "description": "The speech or song; the video is as long as it."},
            "resolution": {
                "type": "string",
                "title": "Resolution",
                "enum": ["480p", "720p"],
                "default": "480p",
                "description": "How tall the video is: 480p or 720p.",
            },
        },
    },
    duration=DurationRule(source="audio", fields=("audio",)),
    pricing=PriceRule(
        per_second=Decimal("0.01"),
        increment_s=Decimal("1"),
        minimum_s=Decimal("1"),
        source="Demo price of the local renderer: $0.01 per started second (operator data).",
    ),
    limits=Limits(max_duration_s=Decimal("600"), min_duration_s=Decimal("0.1")),
    capabilities=Capabilities(cancel=True, webhook=False, progress=False),
)

ENTRIES = [LOCAL_STILL]
