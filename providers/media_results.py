"""What probing a media file answers: ``MediaInfo`` for a file we accept, ``MediaError`` for one
we refuse, and the messages a person reads in it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

MSG_EMPTY = "The file is empty."
MSG_UNSUPPORTED = (
    "This file is not a supported image, audio or video file (we read its content, not its name)."
)
MSG_UNREADABLE = "The file could not be read."
MSG_AUDIO_CORRUPT = "The audio file is truncated or corrupt."
MSG_VIDEO_CORRUPT = "The video file is truncated or corrupt."
MSG_IMAGE_CORRUPT = "The image file is truncated or corrupt."
MSG_NOT_VIDEO = "This file is not a video (no picture track)."


class MediaError(ValueError):
    """A file we cannot accept; ``str(error)`` is meant for the person who uploaded it."""


@dataclass(frozen=True)
class MediaInfo:
    kind: Literal["image", "audio", "video"]
    content_type: str
    width: int | None
    height: int | None
    duration_s: Decimal | None
    frames: int | None
    fps: Decimal | None
    has_audio: bool
    has_video: bool
    extension: str
