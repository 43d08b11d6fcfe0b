"""fal's ai-avatar family (MultiTalk behind fal's queue; docs/providers/fal.md).

Four endpoints of one fal app, ``fal-ai/ai-avatar``: one person from audio, two people from two
audio tracks, and the two text-to-speech variants. The job input uses fal's own field names; the
``*_url`` fields hold asset ids, which the client turns into URLs fal downloads. Each entry's
``docs_url`` is its model page (https://fal.ai/models/<endpoint>/api).

The video's length is set by ``num_frames`` (not by the audio), so the quote reads the frames:
seconds = num_frames / 25. The 25 fps is *unconfirmed* (MultiTalk renders 25 fps; fal does not say).

num_frames: the model page's prose says "between 81 to 129 (inclusive)", yet the page's own
defaults (145, 181, 136, 191) lie outside that range; fal's public schema gives 41..241. We keep
41..241, the range under which every documented default is valid (see ``NUM_FRAMES_MIN``/``MAX``).

Price: *public* $0.20 per second on each endpoint; the model page: more than 81 frames bills 1.25x
the units; 720p at 2x the 480p price is *unconfirmed* (our choice, third-party write-ups say 2x);
all data (docs/providers/fal.md, "Prices").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .entry import Capabilities, DurationRule, Limits, ModelEntry, PriceRule

FPS = Decimal("25")  # *unconfirmed*: MultiTalk renders 25 fps
NUM_FRAMES_MIN = 41  # fal's public schema (the page's prose says 81, contradicted by its defaults)
NUM_FRAMES_MAX = 241  # fal's public schema (the page's prose says 129, contradicted by its defaults)
PROMPT_MAX_LENGTH = 2000  # our choice: fal gives no limit
TEXT_MAX_LENGTH = 1000  # our choice for the text-to-speech inputs: fal gives no limit
SEED_MAX = 2147483647  # our choice: fal gives no range ("If None, a random seed is chosen")

VOICES = [  # the model pages' VoiceEnum / Voice1Enum / Voice2Enum
    "Aria", "Roger", "Sarah", "Laura", "Charlie", "George", "Callum", "River", "Liam", "Charlotte",
    "Alice", "Matilda", "Will", "Jessica", "Eric", "Chris", "Brian", "Daniel", "Lily", "Bill",
]

PRICE = PriceRule(
    per_second=Decimal("0.20"),
    increment_s=Decimal("1"),
    minimum_s=Decimal("0"),
    maximum_s=None,
    resolution_field="resolution",
    resolution_multipliers={"480p": Decimal("1"), "720p": Decimal("2")},
    frames_field="num_frames",
    frames_threshold=81,
    frames_multiplier=Decimal("1.25"),
    source=(
        "$0.20 per second on each ai-avatar endpoint (*public*, https://fal.ai/models/fal-ai/ai-avatar/api "
        "and its siblings). The model page: 'If the number of frames is greater than 81, the video will be "
        "generated with 1.25x more billing units' (threshold 81, multiplier 1.25; whether it applies per "
        "request is *unconfirmed*). "
        "720p x2: *unconfirmed*, our choice (fal does not publish it; third-party write-ups say 2x). "
        "Seconds = num_frames / 25 fps (*unconfirmed*). Increment 1 s (our choice): fal states a "
        "per-second price without saying how fractions are billed, so we bill started seconds, as for "
        "WaveSpeed; the quote then always covers fal's charge."
    ),
)

LIMITS = Limits(
    max_duration_s=Decimal(NUM_FRAMES_MAX) / FPS,  # 9.64 s
    notes=(
        "The video's length is set by num_frames (41..241 frames, about 1.6..9.6 s at 25 fps), not by "
        "the audio; the longest video is 241 / 25 = 9.64 s."
    ),
)

CAPABILITIES = Capabilities(cancel=True, webhook=True, progress=True, text_to_speech=False)
TTS_CAPABILITIES = Capabilities(cancel=True, webhook=True, progress=True, text_to_speech=True)

DURATION = DurationRule(source="frames", frames_field="num_frames", fps=FPS)

COMMON_SOURCES = (
    "The request types of the four endpoints are on https://fal.ai/models/fal-ai/ai-avatar/multi-text/api "
    "('Other types'), each endpoint's own page being its docs_url. num_frames: the page's prose says "
    "81..129 inclusive, but its own defaults (145, 181, 136, 191) lie outside that range; fal's public "
    "schema gives 41..241: we keep 41..241 so every documented default is valid. fps 25 to turn frames "
    "into seconds is *unconfirmed* (MultiTalk renders 25 fps). Seed range 0..2147483647 and prompt max "
    "length 2000 are our choices (fal gives none); the page's 'If None, a random seed is chosen' is not "
    "offered (the field is an integer with a default). Cancel, webhook and queue progress follow fal's "
    "public queue protocol (https://docs.fal.ai/documentation/model-apis/inference/queue)."
)


def _image() -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "title": "Image",
        "description": (
            "The picture to animate. If it does not match the video's aspect ratio, it is resized and "
            "center-cropped."
        ),
        "x-asset-kind": "image",
    }


def _audio(title: str, description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "title": title,
        "description": description,
        "x-asset-kind": "audio",
    }


def _text(title: str, description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": TEXT_MAX_LENGTH,
        "title": title,
        "description": f"{description} Up to {TEXT_MAX_LENGTH} characters.",
    }


def _voice(title: str, description: str, default: str | None) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "type": "string",
        "enum": list(VOICES),
        "title": title,
        "description": description,
    }
    if default is not None:
        prop["default"] = default
    return prop


def _prompt() -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": PROMPT_MAX_LENGTH,
        "title": "Prompt",
        "description": (
            "The text prompt to guide video generation: describe the scene and what the people do."
        ),
    }


def _num_frames(default: int) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": NUM_FRAMES_MIN,
        "maximum": NUM_FRAMES_MAX,
        "default": default,
        "title": "Number of frames",
        "description": (
            f"Number of frames to generate, {NUM_FRAMES_MIN} to {NUM_FRAMES_MAX} (at 25 fps, about "
            f"{NUM_FRAMES_MIN / 25:.1f} to {NUM_FRAMES_MAX / 25:.1f} seconds); this sets the video's length. "
            "Above 81 frames fal bills 1.25x the units."
        ),
    }


def _resolution() -> dict[str, Any]:
    return {
        "type": "string",
        "enum": ["480p", "720p"],
        "default": "480p",
        "title": "Resolution",
        "description": "Resolution of the video to generate: 480p or 720p. 720p costs more.",
    }


def _seed(default: int) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": 0,
        "maximum": SEED_MAX,
        "default": default,
        "title": "Seed",
        "description": "Random seed for reproducibility: the same seed and inputs give the same video.",
    }


def _acceleration() -> dict[str, Any]:
    return {
        "type": "string",
        "enum": ["none", "regular", "high"],
        "default": "regular",
        "title": "Acceleration",
        "description": (
            "The acceleration level to use for generation: higher is faster, none favours quality."
        ),
    }


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


def _docs(path: str) -> str:
    return f"https://fal.ai/models/{path}/api"


# --- fal-ai/ai-avatar: one person, from audio -----------------------------------------------------

AI_AVATAR = ModelEntry(
    id="fal-ai/ai-avatar",
    provider="fal",
    provider_model="fal-ai/ai-avatar",
    display_name="AI Avatar (fal, MultiTalk)",
    description=(
        "MultiTalk on fal: a talking or singing video of one person from an image and an audio track, "
        "guided by a text prompt. 480p or 720p; 41 to 241 frames (about 1.6 to 9.6 seconds)."
    ),
    input_schema=_schema(
        {
            "image_url": _image(),
            "audio_url": _audio("Audio", "The speech or song the person says or sings."),
            "prompt": _prompt(),
            "num_frames": _num_frames(145),
            "resolution": _resolution(),
            "seed": _seed(42),
            "acceleration": _acceleration(),
        },
        ["image_url", "audio_url", "prompt"],
    ),
    duration=DURATION,
    pricing=PRICE,
    limits=LIMITS,
    capabilities=CAPABILITIES,
    docs_url=_docs("fal-ai/ai-avatar"),
    sources=(
        f"{_docs('fal-ai/ai-avatar')}, AvatarSingleAudioRequest: "
        "image_url*, audio_url*, prompt*, num_frames (default 145), "
        "resolution (480p/720p, default 480p), seed (default 42), acceleration (none/regular/high, "
        "default regular). " + COMMON_SOURCES
    ),
)

# --- fal-ai/ai-avatar/multi: two people, from two audio tracks ------------------------------------

AI_AVATAR_MULTI = ModelEntry(
    id="fal-ai/ai-avatar/multi",
    provider="fal",
    provider_model="fal-ai/ai-avatar/multi",
    display_name="AI Avatar Multi (fal, MultiTalk)",
    description=(
        "MultiTalk on fal: a conversation video of two people in one image, each driven by their own "
        "audio track, guided by a text prompt. 480p or 720p; 41 to 241 frames (about 1.6 to 9.6 seconds)."
    ),
    input_schema=_schema(
        {
            "image_url": _image(),
            "first_audio_url": _audio("Person 1 audio", "The speech of the first person in the image."),
            "second_audio_url": _audio("Person 2 audio", "The speech of the second person in the image."),
            "prompt": _prompt(),
            "num_frames": _num_frames(181),
            "resolution": _resolution(),
            "seed": _seed(81),
            "use_only_first_audio": {
                "type": "boolean",
                "title": "Use only the first audio",
                "description": "Whether to use only the first audio file (the second person stays silent).",
            },
            "acceleration": _acceleration(),
        },
        ["image_url", "first_audio_url", "second_audio_url", "prompt"],
    ),
    duration=DURATION,
    pricing=PRICE,
    limits=LIMITS,
    capabilities=CAPABILITIES,
    docs_url=_docs("fal-ai/ai-avatar/multi"),
    sources=(
        f"{_docs('fal-ai/ai-avatar/multi')}, AvatarMultiAudioPersonRequest: "
        "image_url*, first_audio_url*, second_audio_url*, "
        "prompt*, num_frames (default 181), resolution (default 480p), seed (default 81), "
        "use_only_first_audio (boolean, no default on the page, so none here), acceleration (default "
        "regular). Choice: second_audio_url is required per the model page, although fal's current public "
        "schema makes it optional beside use_only_first_audio. " + COMMON_SOURCES
    ),
)

# --- fal-ai/ai-avatar/single-text: one person, text to speech -------------------------------------

AI_AVATAR_SINGLE_TEXT = ModelEntry(
    id="fal-ai/ai-avatar/single-text",
    provider="fal",
    provider_model="fal-ai/ai-avatar/single-text",
    display_name="AI Avatar from text (fal, MultiTalk)",
    description=(
        "MultiTalk on fal with text to speech: type what the person says and pick a voice; fal speaks "
        "it and animates the image in sync. 480p or 720p; 41 to 241 frames (about 1.6 to 9.6 seconds)."
    ),
    input_schema=_schema(
        {
            "image_url": _image(),
            "text_input": _text("Text", "What the person says, spoken with the chosen voice."),
            "voice": _voice("Voice", "The voice to use for speech generation.", None),
            "prompt": _prompt(),
            "num_frames": _num_frames(136),
            "resolution": _resolution(),
            "seed": _seed(42),
            "acceleration": _acceleration(),
        },
        ["image_url", "text_input", "voice", "prompt"],
    ),
    duration=DURATION,
    pricing=PRICE,
    limits=LIMITS,
    capabilities=TTS_CAPABILITIES,
    docs_url=_docs("fal-ai/ai-avatar/single-text"),
    sources=(
        f"{_docs('fal-ai/ai-avatar/single-text')}, AvatarSingleTextRequest: "
        "image_url*, text_input*, voice* (20 voices, no default), "
        "prompt*, num_frames (default 136), resolution (default 480p), seed (default 42), acceleration "
        "(default regular). text_input max length 1000 is our choice (fal gives none). "
        + COMMON_SOURCES
    ),
)

# --- fal-ai/ai-avatar/multi-text: two people, text to speech --------------------------------------

AI_AVATAR_MULTI_TEXT = ModelEntry(
    id="fal-ai/ai-avatar/multi-text",
    provider="fal",
    provider_model="fal-ai/ai-avatar/multi-text",
    display_name="AI Avatar Multi from text (fal, MultiTalk)",
    description=(
        "MultiTalk on fal with text to speech: a conversation of two people in one image. Each "
        "person's line is converted to speech with its own voice, giving a realistic conversation "
        "scene. 480p or 720p; 41 to 241 frames (about 1.6 to 9.6 seconds)."
    ),
    input_schema=_schema(
        {
            "image_url": _image(),
            "first_text_input": _text("Person 1 text", "What the first person says."),
            "second_text_input": _text("Person 2 text", "What the second person says."),
            "voice1": _voice("Person 1 voice", "The first person's voice for speech generation.", "Sarah"),
            "voice2": _voice("Person 2 voice", "The second person's voice for speech generation.", "Roger"),
            "prompt": _prompt(),
            "num_frames": _num_frames(191),
            "resolution": _resolution(),
            "seed": _seed(81),
            "acceleration": _acceleration(),
        },
        ["image_url", "first_text_input", "second_text_input", "prompt"],
    ),
    duration=DURATION,
    pricing=PRICE,
    limits=LIMITS,
    capabilities=TTS_CAPABILITIES,
    docs_url=_docs("fal-ai/ai-avatar/multi-text"),
    sources=(
        f"{_docs('fal-ai/ai-avatar/multi-text')}, the page's own input schema: "
        "image_url*, first_text_input*, second_text_input*, "
        "voice1 (default Sarah), voice2 (default Roger), prompt*, num_frames (default 191), resolution "
        "(default 480p), seed (default 81), acceleration (default regular); the page's example request "
        "is valid here. Text max length 1000 is our choice (fal gives none). " + COMMON_SOURCES
    ),
)

ENTRIES: list[ModelEntry] = [AI_AVATAR, AI_AVATAR_MULTI, AI_AVATAR_SINGLE_TEXT, AI_AVATAR_MULTI_TEXT]
