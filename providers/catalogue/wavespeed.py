"""WaveSpeed's audio-driven talking-video models (docs/providers/wavespeed.md).

The job input uses WaveSpeed's own field names; ``image`` and ``audio`` hold asset ids, which the
client turns into URLs WaveSpeed downloads. Every figure below says where it comes from (each
entry's ``docs_url`` is its model page); prices and limits are data here, never constants in the
client or the billing code.

Price (docs/providers/wavespeed.md, "Prices"): the model pages say "$0.15 per 5 seconds" at 480p.
We read it, like WaveSpeed's own pricing expression ``max(5, min(ceil(audio_s), max_s)) / 5 x
base_price``, as $0.03 per started second of driving audio, at least 5 s, at most the model's
maximum length, and 720p at twice the 480p rate where the model offers 720p (*public*, sibling
audio-driven models; a newer speech-to-video page gives 720p at $0.30 per 5 s, i.e. the same x2).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .entry import Capabilities, DurationRule, Limits, ModelEntry, PriceRule

SEED_MAX = 2147483647  # the model pages: "-1 ~ 2147483647"
PROMPT_MAX_LENGTH = 2000  # our choice: the model pages give no limit on the prompt
PER_SECOND_480P = Decimal("0.03")  # "$0.15 per 5 seconds" (the model pages) = $0.03 per second
MINIMUM_S = Decimal("5")  # *public*: billed at least 5 s (one page; a newer one says 3 s)
RESOLUTION_MULTIPLIERS = {"480p": Decimal("1"), "720p": Decimal("2")}  # *public*: 720p x2

# WaveSpeed accepts a cancel as a request (a task already processing may still run and be billed
# in part); it has webhooks; its status has no progress figure.
CAPABILITIES = Capabilities(cancel=True, webhook=True, progress=False, text_to_speech=False)


def _image() -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "title": "Image",
        "description": (
            "The portrait to animate: a still image of the person (or people) who will speak or sing."
        ),
        "x-asset-kind": "image",
    }


def _audio(longest: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "title": "Audio",
        "description": (
            "The speech or song that drives the lips and motion. The video is as long as this audio, "
            f"up to {longest}."
        ),
        "x-asset-kind": "audio",
    }


def _prompt(description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "maxLength": PROMPT_MAX_LENGTH,
        "title": "Prompt",
        "description": description,
    }


def _resolution() -> dict[str, Any]:
    return {
        "type": "string",
        "enum": ["480p", "720p"],
        "default": "480p",
        "title": "Resolution",
        "description": "The resolution of the output video. 720p costs twice as much as 480p.",
    }


def _seed(default: int | None) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "type": "integer",
        "minimum": -1,
        "maximum": SEED_MAX,
        "title": "Seed",
        "description": (
            "The random seed to use for the generation: the same seed and inputs give the same video. "
            "-1 means a random seed will be used."
        ),
    }
    if default is not None:
        prop["default"] = default
    return prop


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _price(*, max_s: int, with_resolution: bool, source: str) -> PriceRule:
    return PriceRule(
        per_second=PER_SECOND_480P,
        increment_s=Decimal("1"),
        minimum_s=MINIMUM_S,
        maximum_s=Decimal(max_s),
        resolution_field="resolution" if with_resolution else None,
        resolution_multipliers=dict(RESOLUTION_MULTIPLIERS) if with_resolution else {},
        source=source,
    )


_DURATION = DurationRule(source="audio", fields=("audio",))

# --- wan-2.1/multitalk ----------------------------------------------------------------------------

MULTITALK_DOCS = "https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.1-multitalk"
MULTITALK_MAX_S = 600  # its page: "a maximum generation length of 10 minutes"

MULTITALK = ModelEntry(
    id="wavespeed-ai/wan-2.1/multitalk",
    provider="wavespeed",
    provider_model="wavespeed-ai/wan-2.1/multitalk",
    display_name="Wan 2.1 MultiTalk (WaveSpeed)",
    description=(
        "MultiTalk makes a talking or singing video from a single image and an audio track, with "
        "lip movements in sync with the audio, natural expressions and body language, and a text "
        "prompt to steer the scene, pose and behaviour. Videos up to 10 minutes."
    ),
    input_schema=_schema(
        {
            "image": _image(),
            "audio": _audio("10 minutes"),
            "prompt": _prompt(
                "The positive prompt for the generation: describe the scene, pose and behaviour you want "
                "(optional)."
            ),
            "seed": _seed(-1),
        },
        ["image", "audio"],
    ),
    duration=_DURATION,
    pricing=_price(
        max_s=MULTITALK_MAX_S,
        with_resolution=False,
        source=(
            f"{MULTITALK_DOCS}: '$0.15 per 5 seconds', maximum 10 minutes; read as $0.03 per started "
            "second of audio, minimum 5 s (*public*), maximum 600 s. The page offers no resolution "
            "parameter (its output resolution is not stated), so no resolution multiplier."
        ),
    ),
    limits=Limits(
        max_duration_s=Decimal(MULTITALK_MAX_S),
        notes="The video is as long as the driving audio, up to 10 minutes.",
    ),
    capabilities=CAPABILITIES,
    docs_url=MULTITALK_DOCS,
    sources=(
        f"{MULTITALK_DOCS}: fields image* and audio* (URLs; asset ids here), prompt, seed (default -1, "
        "range -1..2147483647, -1 = random); price '$0.15 per 5 seconds'; maximum 10 minutes. The page's "
        "example request is only {\"seed\": -1}, without the required image and audio: we follow the "
        "parameter table and require both. Prompt max length 2000 is our choice (the page gives none). "
        "Minimum billed 5 s and the per-second reading: sibling models' pricing (*public*; one newer page "
        "says 3 s). Cancel is a request, not a guarantee: https://wavespeed.ai/docs/delete-task."
    ),
)

# --- wan-2.2/speech-to-video ----------------------------------------------------------------------

S2V_DOCS = "https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.2-speech-to-video"
S2V_MAX_S = 120  # its page: "a maximum generation length of 120 seconds"

SPEECH_TO_VIDEO = ModelEntry(
    id="wavespeed-ai/wan-2.2/speech-to-video",
    provider="wavespeed",
    provider_model="wavespeed-ai/wan-2.2/speech-to-video",
    display_name="Wan 2.2 Speech-to-Video (WaveSpeed)",
    description=(
        "Wan 2.2 S2V turns a still image and an audio track into a video with realistic facial "
        "expressions, body movements and camera work, lip-synced to the audio; a text prompt steers "
        "the scene, pose and behaviour. 480p or 720p; videos up to 120 seconds."
    ),
    input_schema=_schema(
        {
            "image": _image(),
            "audio": _audio("120 seconds"),
            "prompt": _prompt(
                "The prompt for generating the output: describe the scene, pose and behaviour you want "
                "(optional)."
            ),
            "resolution": _resolution(),
            "seed": _seed(-1),
        },
        ["image", "audio"],
    ),
    duration=_DURATION,
    pricing=_price(
        max_s=S2V_MAX_S,
        with_resolution=True,
        source=(
            f"{S2V_DOCS}: '$0.15 per 5 seconds (480p)', maximum 120 seconds; read as $0.03 per started "
            "second of audio, minimum 5 s (*public*), maximum 120 s; 720p x2 (*public*: a newer "
            "speech-to-video page gives 720p at $0.30 per 5 s)."
        ),
    ),
    limits=Limits(
        max_duration_s=Decimal(S2V_MAX_S),
        notes=(
            "The video is as long as the driving audio, up to 120 s (its model page; a newer WaveSpeed "
            "page says 10 minutes: we follow the model page)."
        ),
    ),
    capabilities=CAPABILITIES,
    docs_url=S2V_DOCS,
    sources=(
        f"{S2V_DOCS}: fields image*, audio*, prompt, resolution (480p default, 720p), seed (default -1, "
        "range -1..2147483647); example request {prompt: '', resolution: '480p', seed: -1} (an empty "
        "prompt is valid); price '$0.15 per 5 seconds (480p)'; maximum 120 s. A newer WaveSpeed page "
        "gives a 10-minute maximum and 720p at $0.30 per 5 s: we keep the model page's 120 s until told "
        "otherwise; the 720p figure agrees with our x2. Prompt max length 2000 is our choice. Minimum "
        "billed 5 s: sibling models' pricing (*public*)."
    ),
)

# --- hunyuan-avatar -------------------------------------------------------------------------------

HUNYUAN_DOCS = "https://wavespeed.ai/docs/docs-api/wavespeed-ai/hunyuan-avatar"
HUNYUAN_MAX_S = 120  # its page: "a maximum generation length of 120 seconds"

HUNYUAN_AVATAR = ModelEntry(
    id="wavespeed-ai/hunyuan-avatar",
    provider="wavespeed",
    provider_model="wavespeed-ai/hunyuan-avatar",
    display_name="Hunyuan Avatar (WaveSpeed)",
    description=(
        "Hunyuan Avatar animates a portrait from an audio track: high-fidelity, emotion-aware talking "
        "or singing videos that keep the character consistent, including multi-character dialogue "
        "from a single image. 480p or 720p; videos up to 120 seconds."
    ),
    input_schema=_schema(
        {
            "audio": _audio("120 seconds"),
            "image": _image(),
            "prompt": _prompt(
                "The positive prompt for the generation: describe the scene, emotion and behaviour you "
                "want (optional)."
            ),
            "resolution": _resolution(),
            # Its page gives the range but no default ("-"): left out, WaveSpeed picks.
            "seed": _seed(None),
        },
        ["audio", "image"],
    ),
    duration=_DURATION,
    pricing=_price(
        max_s=HUNYUAN_MAX_S,
        with_resolution=True,
        source=(
            f"{HUNYUAN_DOCS}: '$0.15 per 5 seconds video generation (480p/720p)', maximum 120 seconds; "
            "read as $0.03 per started second of audio, minimum 5 s (*public*), maximum 120 s. 720p x2 is "
            "our default for WaveSpeed models offering 720p: the page's '(480p/720p)' may mean one price "
            "for both; operator data, reconcile with WaveSpeed's pricing endpoint."
        ),
    ),
    limits=Limits(
        max_duration_s=Decimal(HUNYUAN_MAX_S),
        notes="The video is as long as the driving audio, up to 120 s.",
    ),
    capabilities=CAPABILITIES,
    docs_url=HUNYUAN_DOCS,
    sources=(
        f"{HUNYUAN_DOCS}: fields audio*, image*, prompt, resolution (480p default, 720p), seed (range "
        "-1..2147483647, no default on the page, so none here); example request {resolution: '480p'} "
        "(without the required audio and image: we follow the parameter table); price '$0.15 per 5 "
        "seconds (480p/720p)'; maximum 120 s. Choice: the page's price names both resolutions, our "
        "default for WaveSpeed models doubles 720p where offered: we keep x2 as data. Prompt max length "
        "2000 is our choice."
    ),
)

ENTRIES: list[ModelEntry] = [MULTITALK, SPEECH_TO_VIDEO, HUNYUAN_AVATAR]
