"""How much work and size probing one media file may take: image and frame sizes, WAV chunks, and
each probe's time and packet budget (``ProbeLimits``, enforced by ``ProbeBudget``).

Every bound turns a file that would tie up a worker into a ``MediaError`` a person can act on.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass

from .media_results import MSG_AUDIO_CORRUPT, MediaError

MIN_IMAGE_SIDE = 16
MAX_IMAGE_SIDE = 8192
# Video frames follow the image rule per side, and a frame holds at most 8K (8192x4320) pixels:
# decoding one frame costs about 1.5 bytes a pixel per buffered frame.
MAX_VIDEO_SIDE = MAX_IMAGE_SIDE
MAX_VIDEO_PIXELS = 8192 * 4320
# A WAV holds a handful of chunks (fmt, data, LIST, fact, bext...); walking millions of empty ones
# took a web worker most of a minute.
MAX_WAV_CHUNKS = 256
# Bytes read from the start of a file to tell its kind.
HEAD_BYTES = 64


@dataclass(frozen=True)
class ProbeLimits:
    """How much work probing one audio or video file may take; past either bound it is refused.

    Each demuxed packet costs FFmpeg and PyAV 3 to 30 microseconds. The web process passes its
    settings (``MEDIA_PROBE_*``); this module reads none, as provider clients load it.
    """

    time_budget_s: float = 10.0
    max_packets: int = 50_000  # any model's 10 minutes of sound is under 30,000 packets


UPLOAD_LIMITS = ProbeLimits()
# A provider's delivery, probed by a worker, may be 10 minutes of 60 fps video with its sound.
DELIVERY_LIMITS = ProbeLimits(max_packets=200_000)


@dataclass(frozen=True)
class ProbeBudget:
    """The bounds of one probe: a wall-clock deadline and a number of packets demuxed."""

    seconds: float
    deadline: float
    max_packets: int

    @classmethod
    def start(cls, limits: ProbeLimits) -> ProbeBudget:
        seconds = float(limits.time_budget_s)
        return cls(seconds, time.monotonic() + seconds, limits.max_packets)

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise MediaError(
                f"The file took too long to check (the limit is {self.seconds:g} seconds); "
                "please send a shorter or simpler file."
            )


def check_image_size(width: int, height: int) -> None:
    if width < MIN_IMAGE_SIDE or height < MIN_IMAGE_SIDE:
        raise MediaError(
            f"The image is {width}x{height} pixels; each side must be at least {MIN_IMAGE_SIDE} pixels."
        )
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        raise MediaError(
            f"The image is {width}x{height} pixels; each side must be at most {MAX_IMAGE_SIDE} pixels."
        )


def check_video_size(width: int, height: int) -> None:
    if width > MAX_VIDEO_SIDE or height > MAX_VIDEO_SIDE:
        raise MediaError(
            f"The video is {width}x{height} pixels; each side must be at most {MAX_VIDEO_SIDE} pixels."
        )
    if width * height > MAX_VIDEO_PIXELS:
        raise MediaError(
            f"The video is {width}x{height} pixels; a frame may hold at most {MAX_VIDEO_PIXELS:,} pixels "
            "(8192x4320)."
        )


def check_wav_not_truncated(path: str | os.PathLike[str]) -> bool:
    """Refuse a WAV whose header declares more sound than the file holds, or that has too many chunks.

    FFmpeg trusts the header and would report the declared length; the user needs to know their
    upload is cut. A size of 0 or 0xFFFFFFFF means "unknown" (streamed WAV) and is measured instead.
    Every chunk is walked (FFmpeg walks those after the data too), at most ``MAX_WAV_CHUNKS`` of them.
    Returns whether the header's size can be trusted.
    """
    trusted: bool | None = None  # None until the data chunk is found
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            header = f.read(12)
            if len(header) < 12:
                raise MediaError(MSG_AUDIO_CORRUPT)
            rf64 = header[:4] == b"RF64"  # 64-bit sizes live in a ds64 chunk; FFmpeg reads them and we demux
            data_size64: int | None = None
            offset, chunks = 12, 0
            while offset + 8 <= size:
                chunks += 1
                if chunks > MAX_WAV_CHUNKS:
                    raise MediaError(
                        f"The WAV file is made of more than {MAX_WAV_CHUNKS} chunks; "
                        f"at most {MAX_WAV_CHUNKS} are accepted."
                    )
                f.seek(offset)
                chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
                if rf64 and chunk_id == b"ds64" and chunk_size >= 16:
                    data_size64 = struct.unpack("<8xQ", f.read(16))[0]
                if chunk_id == b"data" and trusted is None:
                    if rf64:
                        trusted = False
                        if chunk_size == 0xFFFFFFFF and data_size64 is not None:
                            chunk_size = data_size64
                    elif chunk_size in (0, 0xFFFFFFFF):
                        return False  # sound to the end of the file: FFmpeg walks no further
                    elif offset + 8 + chunk_size > size:
                        raise MediaError(MSG_AUDIO_CORRUPT)
                    else:
                        trusted = True
                offset += 8 + chunk_size + (chunk_size & 1)
    except (OSError, struct.error) as exc:
        raise MediaError(MSG_AUDIO_CORRUPT) from exc
    if trusted is None and not rf64:
        raise MediaError(MSG_AUDIO_CORRUPT)  # no data chunk at all
    return bool(trusted)
