"""Alibaba DashScope (Model Studio), Wan 2.7 reference-to-video (docs/providers/dashscope.md).

The job input is FLAT: ``prompt`` and ``media`` (DashScope's ``input``) beside the ``parameters``
fields ``resolution``, ``ratio``, ``duration``, ``prompt_extend`` and ``watermark``; the client
nests them into the wire body. ``media[].url`` and ``media[].reference_voice`` hold asset ids.

Alibaba's API reference (``API_REFERENCE``, in Chinese) gives the request shape, the example
request (5 media: 4 reference images, one of them with a reference voice, and 1 reference video
with a reference voice; 720P, 16:9, 10 s, prompt_extend false, watermark true), the way the prompt
names the media (图n / 视频n, in English "Image n" / "Video n", images and videos counted
separately in media order), and the billing usage (``duration`` 15 = ``input_video_duration`` 5 +
``output_video_duration`` 10). The page folds its parameter table, so the enums, ranges and media
limits below come from third-party pages and are *unconfirmed*; Alibaba's wan2.7 reference-video
guide (``GUIDE``) gives 720P/1080P, 2..15 s and 30 fps as well. docs/providers/dashscope.md says
where the documents disagree and what we chose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .entry import AssetKind, Capabilities, DurationRule, Limits, ModelEntry, PriceRule

API_REFERENCE = "https://help.aliyun.com/zh/model-studio/wan-video-to-video-api-reference"
API_REFERENCE_EN = (
    "https://docs.platform.qianwenai.com/api-reference/video-generation/wan27-reference-to-video/create-task"
)
GUIDE = "https://help.aliyun.com/en/model-studio/video-to-video-guide"

# --- data (*unconfirmed*, from third-party pages, unless said otherwise) ------------------------------

RESOLUTIONS = ["720P", "1080P"]  # default 1080P
RATIOS = ["16:9", "9:16", "1:1", "4:3", "3:4"]  # default 16:9
DURATION_MIN_S = 2
DURATION_MAX_S = 15
DURATION_MAX_WITH_VIDEO_S = 10  # when any reference video is given
MAX_MEDIA = 5  # reference images and videos together
MAX_IMAGES = 5
MAX_VIDEOS = 5
REFERENCE_VIDEO_MIN_S = Decimal("1")
REFERENCE_VIDEO_MAX_S = Decimal("30")
REFERENCE_VOICE_MIN_S = Decimal("1")
REFERENCE_VOICE_MAX_S = Decimal("10")
# Several resellers' wan2.7-r2v pages give 5000 characters (one gives 1500; Alibaba's wan2.6 pages
# gave 1500, and DashScope truncates over-long prompts): *unconfirmed*.
PROMPT_MAX_LENGTH = 5000
# *unconfirmed*: resellers disagree, $0.066..$0.14 per second. Operator data.
PER_SECOND = Decimal("0.10")

MEDIA_KINDS: dict[str, AssetKind] = {"reference_image": "image", "reference_video": "video"}


# --- checks JSON Schema cannot express ------------------------------------------------------------


def _media(input: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    media = input.get("media")
    if not isinstance(media, list):
        return []
    return [item for item in media if isinstance(item, Mapping)]


def _seconds(value: Decimal) -> str:
    return format(Decimal(value).quantize(Decimal("0.1")), "f")


def check_media_counts(input: Mapping[str, Any], assets_by_path: Mapping[str, Any]) -> dict[str, str]:
    """At most 5 reference images and videos together (and at most 5 of each)."""
    media = _media(input)
    images = sum(1 for item in media if item.get("type") == "reference_image")
    videos = sum(1 for item in media if item.get("type") == "reference_video")
    if len(media) > MAX_MEDIA:
        return {"media": f"At most {MAX_MEDIA} reference images and videos together; got {len(media)}."}
    if images > MAX_IMAGES:
        return {"media": f"At most {MAX_IMAGES} reference images; got {images}."}
    if videos > MAX_VIDEOS:
        return {"media": f"At most {MAX_VIDEOS} reference videos; got {videos}."}
    return {}


def check_duration_with_reference_video(
    input: Mapping[str, Any], assets_by_path: Mapping[str, Any]
) -> dict[str, str]:
    """The output may be 2..15 s, but only 2..10 s when a reference video is given."""
    has_video = any(item.get("type") == "reference_video" for item in _media(input))
    duration = input.get("duration")
    if has_video and isinstance(duration, int) and duration > DURATION_MAX_WITH_VIDEO_S:
        return {
            "duration": (
                f"With a reference video the duration must be {DURATION_MIN_S} to "
                f"{DURATION_MAX_WITH_VIDEO_S} seconds; got {duration}."
            )
        }
    return {}


def check_reference_video_lengths(
    input: Mapping[str, Any], assets_by_path: Mapping[str, Any]
) -> dict[str, str]:
    """Each reference video must be 1..30 s long."""
    errors: dict[str, str] = {}
    number = 0
    for index, item in enumerate(_media(input)):
        if item.get("type") != "reference_video":
            continue
        number += 1
        path = f"media[{index}].url"
        asset = assets_by_path.get(path)
        seconds = getattr(asset, "duration_s", None)
        if seconds is None:
            continue
        if not REFERENCE_VIDEO_MIN_S <= seconds <= REFERENCE_VIDEO_MAX_S:
            errors[path] = (
                f"Reference video {number} is {_seconds(seconds)} s long; a reference video must be "
                f"{REFERENCE_VIDEO_MIN_S} to {REFERENCE_VIDEO_MAX_S} seconds."
            )
    return errors


def check_reference_voice_lengths(
    input: Mapping[str, Any], assets_by_path: Mapping[str, Any]
) -> dict[str, str]:
    """Each reference voice must be 1..10 s long."""
    errors: dict[str, str] = {}
    for index, item in enumerate(_media(input)):
        if not item.get("reference_voice"):
            continue
        path = f"media[{index}].reference_voice"
        seconds = getattr(assets_by_path.get(path), "duration_s", None)
        if seconds is None:
            continue
        if not REFERENCE_VOICE_MIN_S <= seconds <= REFERENCE_VOICE_MAX_S:
            errors[path] = (
                f"The reference voice of media item {index + 1} is {_seconds(seconds)} s long; a reference "
                f"voice must be {REFERENCE_VOICE_MIN_S} to {REFERENCE_VOICE_MAX_S} seconds."
            )
    return errors


# 图n / 视频n (Chinese) and "Image n" / "Video n" (English, as Alibaba writes them: capitalised, so
# that ordinary words like "a video 2 people watch" are not read as references).
_IMAGE_REF = re.compile(r"图\s*(\d+)|\bImage\s?(\d+)\b")
_VIDEO_REF = re.compile(r"视频\s*(\d+)|\bVideo\s?(\d+)\b")


def _highest(pattern: re.Pattern[str], text: str) -> int:
    numbers = [int(a or b) for a, b in pattern.findall(text)]
    return max(numbers, default=0)


def check_prompt_references(input: Mapping[str, Any], assets_by_path: Mapping[str, Any]) -> dict[str, str]:
    """The prompt names media by kind and order (Image 1 = the first reference image, Video 1 = the
    first reference video); a name beyond the media given points at nothing."""
    prompt = input.get("prompt")
    if not isinstance(prompt, str):
        return {}
    media = _media(input)
    images = sum(1 for item in media if item.get("type") == "reference_image")
    videos = sum(1 for item in media if item.get("type") == "reference_video")
    problems = []
    highest_image = _highest(_IMAGE_REF, prompt)
    if highest_image > images:
        problems.append(
            f"Image {highest_image} (图{highest_image}), but {images} reference image(s) are given"
        )
    highest_video = _highest(_VIDEO_REF, prompt)
    if highest_video > videos:
        problems.append(
            f"Video {highest_video} (视频{highest_video}), but {videos} reference video(s) are given"
        )
    if not problems:
        return {}
    return {
        "prompt": (
            "The prompt refers to "
            + "; and to ".join(problems)
            + ". Images and videos are numbered separately, in the order of media."
        )
    }


EXTRA_CHECKS = (
    check_media_counts,
    check_duration_with_reference_video,
    check_reference_video_lengths,
    check_reference_voice_lengths,
    check_prompt_references,
)


# --- the entry ------------------------------------------------------------------------------------

INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["prompt", "media"],
    "properties": {
        "prompt": {
            "type": "string",
            "minLength": 1,
            "maxLength": PROMPT_MAX_LENGTH,
            "title": "Prompt",
            "description": (
                "What happens in the video, in Chinese or English. Name the reference media by kind and "
                "order: 'Image 1', 'Image 2' for the reference images and 'Video 1', 'Video 2' for the "
                "reference videos, each counted separately in the order of the media list (in Chinese "
                "图1, 视频1). For several shots, describe them in the prompt. Up to "
                f"{PROMPT_MAX_LENGTH} characters."
            ),
        },
        "media": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_MEDIA,
            "title": "Reference media",
            "description": (
                f"1 to {MAX_MEDIA} reference images and videos together: the people, objects or "
                "background to bring into the video (one grid image of several panels also works). "
                "Images: JPEG, PNG, BMP or WEBP, 240 to 8000 pixels a side, up to 20 MB. Videos: MP4 or "
                "MOV, 1 to 30 seconds, up to 100 MB; a reference video limits the duration to 10 seconds "
                "and its length is billed with the output."
            ),
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["type", "url"],
                "properties": {
                    "type": {
                        "type": "string",
                        "enum": list(MEDIA_KINDS),
                        "title": "Kind",
                        "description": "Whether this row is a reference image or a reference video (the API's values: "
                                       "reference_image, reference_video).",
                    },
                    "url": {
                        "type": "string",
                        "minLength": 1,
                        "title": "Image or video",
                        "description": "The reference image or video (its kind must match Kind).",
                        "x-asset-kind-by": {"field": "type", "kinds": dict(MEDIA_KINDS)},
                    },
                    "reference_voice": {
                        "type": "string",
                        "minLength": 1,
                        "title": "Reference voice",
                        "description": (
                            "Optional: a voice sample (WAV or MP3, 1 to 10 seconds) for this subject; "
                            "it speaks with this voice in the video."
                        ),
                        "x-asset-kind": "audio",
                    },
                },
            },
        },
        "resolution": {
            "type": "string",
            "enum": list(RESOLUTIONS),
            "default": "1080P",
            "title": "Resolution",
            "description": "The resolution tier of the output video: 720P or 1080P.",
        },
        "ratio": {
            "type": "string",
            "enum": list(RATIOS),
            "default": "16:9",
            "title": "Aspect ratio",
            "description": "The aspect ratio of the output video.",
        },
        "duration": {
            "type": "integer",
            "minimum": DURATION_MIN_S,
            "maximum": DURATION_MAX_S,
            "default": 5,
            "title": "Duration (seconds)",
            "description": (
                f"Length of the video, {DURATION_MIN_S} to {DURATION_MAX_S} seconds "
                f"({DURATION_MIN_S} to {DURATION_MAX_WITH_VIDEO_S} when a reference video is given)."
            ),
        },
        "prompt_extend": {
            "type": "boolean",
            "default": True,
            "title": "Extend the prompt",
            "description": "Let the model rewrite the prompt with richer detail before generating.",
        },
        "watermark": {
            "type": "boolean",
            "default": False,
            "title": "Watermark",
            "description": "Add an 'AI generated' watermark to the video.",
        },
    },
}

WAN27_R2V = ModelEntry(
    id="dashscope/wan2.7-r2v",
    provider="dashscope",
    provider_model="wan2.7-r2v",
    display_name="Wan 2.7 Reference-to-Video (DashScope)",
    description=(
        "Alibaba's Wan 2.7 reference-to-video: casts the people or objects of up to 5 reference images "
        "and videos into a new scene you describe, as one performer or several interacting, optionally "
        "with a reference voice for each subject. Sound on by default; 720P or 1080P, 2 to 15 seconds, "
        "30 fps."
    ),
    input_schema=INPUT_SCHEMA,
    duration=DurationRule(source="parameter", parameter_field="duration"),
    pricing=PriceRule(
        per_second=PER_SECOND,
        increment_s=Decimal("1"),
        minimum_s=Decimal("0"),
        bills_input_video=True,
        source=(
            "$0.10 per second: *unconfirmed*, our pick inside the resellers' range ($0.066..$0.14 per "
            f"second); {API_REFERENCE} points to Alibaba's price page without a figure; the operator "
            "sets it. bills_input_video: that page's usage shows duration 15 = "
            "input_video_duration 5 + output_video_duration 10, and third-party docs agree that "
            "reference video is billed with the output. No resolution multipliers: Alibaba gives no "
            "per-resolution prices (Alibaba priced wan2.6 1080P above 720P; set multipliers here when "
            "known). Increment 1 s: the output duration is whole seconds; input video rounds up."
        ),
    ),
    limits=Limits(
        max_duration_s=Decimal(DURATION_MAX_S),
        min_duration_s=Decimal(DURATION_MIN_S),
        max_media=MAX_MEDIA,
        max_images=MAX_IMAGES,
        max_videos=MAX_VIDEOS,
        # per input, on the video items of media[].url only (an image has no duration)
        asset_durations_s={
            "media[].url": (REFERENCE_VIDEO_MIN_S, REFERENCE_VIDEO_MAX_S),
            "media[].reference_voice": (REFERENCE_VOICE_MIN_S, REFERENCE_VOICE_MAX_S),
        },
        notes=(
            "Output 2..15 s (2..10 s with a reference video), 30 fps H.264. Up to 5 reference images and "
            "videos together; reference videos 1..30 s (MP4/MOV, up to 100 MB); reference voices "
            "1..10 s (WAV/MP3); images JPEG/PNG/BMP/WEBP, 240..8000 px, up to 20 MB. The slot limits "
            "(reference video 30 s, voice 10 s) apply to those inputs, not the 15 s output limit."
        ),
    ),
    capabilities=Capabilities(cancel=True, webhook=False, progress=False, text_to_speech=False),
    extra_checks=EXTRA_CHECKS,
    docs_url=API_REFERENCE,
    sources=(
        f"{API_REFERENCE} (万相2.7-参考生视频API参考; in English: {API_REFERENCE_EN}): request shape "
        "model/input{prompt, media[{type "
        "reference_image|reference_video, url, reference_voice?}]}/parameters{resolution, ratio, "
        "duration, prompt_extend, watermark}; the example request (validates here after defaults); "
        "prompt naming 图n/视频n ('Image n'/'Video n'), counted per kind in media order; usage billing "
        "input + output video seconds. The page folds its parameter table, so these follow "
        "third-party pages (*unconfirmed*): resolution 720P|1080P default 1080P; ratio 16:9, 9:16, 1:1, 4:3, "
        "3:4 default 16:9; duration 2..15 default 5, 2..10 with a reference video; prompt_extend default "
        "true; watermark default false; at most 5 images and videos together; reference videos 1..30 s; "
        f"reference voices 1..10 s. Alibaba's wan2.7 guide ({GUIDE}) confirms 720P/1080P, 2..15 s, "
        "30 fps. Choices: seed is left out (Alibaba's page does not document it; third-party pages give "
        "0..2147483647, *unconfirmed*); negative_prompt and a first_frame media type, seen on third-party "
        "pages, are left out (not on Alibaba's page); prompt max length 5000 follows several reseller pages (one says "
        "1500), *unconfirmed*; one reseller allows only 16:9 and 9:16 for reference generation: we keep "
        "the five ratios. Cancel works on PENDING tasks only (*public*, the dashscope SDK, "
        "https://pypi.org/project/dashscope/); "
        "no webhooks; status without progress."
    ),
)

ENTRIES: list[ModelEntry] = [WAN27_R2V]
