"""Sniff and probe uploaded and delivered media: the public API (``sniff_and_probe``,
``probe_video``), the sniffing of a file's kind from its bytes, and the image probe.

Uploads are judged by their content, never by their name or Content-Type header: a user's ``.png``
may be a text file, and a provider's ``.mp4`` may be cut short. Every failure is a ``MediaError``
whose message a person can act on; decoder and Pillow errors never leak out of these modules.
Audio and video are probed in ``providers.av_probe``, within the bounds of ``providers.media_limits``.
"""

from __future__ import annotations

import os
import warnings

from PIL import Image

from .av_probe import probe_av
from .media_limits import (
    DELIVERY_LIMITS,
    HEAD_BYTES,
    MAX_IMAGE_SIDE,
    MAX_VIDEO_PIXELS,
    MAX_VIDEO_SIDE,
    MAX_WAV_CHUNKS,
    MIN_IMAGE_SIDE,
    UPLOAD_LIMITS,
    ProbeLimits,
    check_image_size,
)
from .media_results import (
    MSG_EMPTY,
    MSG_IMAGE_CORRUPT,
    MSG_NOT_VIDEO,
    MSG_UNREADABLE,
    MSG_UNSUPPORTED,
    MediaError,
    MediaInfo,
)

__all__ = [
    "MediaError",
    "MediaInfo",
    "MIN_IMAGE_SIDE",
    "MAX_IMAGE_SIDE",
    "MAX_VIDEO_PIXELS",
    "MAX_VIDEO_SIDE",
    "MAX_WAV_CHUNKS",
    "ProbeLimits",
    "probe_video",
    "sniff_and_probe",
]

# Pillow format name -> (content type, extension)
_IMAGE_TYPES = {
    "PNG": ("image/png", ".png"),
    "JPEG": ("image/jpeg", ".jpg"),
    "WEBP": ("image/webp", ".webp"),
    "BMP": ("image/bmp", ".bmp"),
}


def sniff_and_probe(path: str | os.PathLike[str], *, limits: ProbeLimits = UPLOAD_LIMITS) -> MediaInfo:
    """Decide from the bytes what the file is, check it is usable, and measure it."""
    family = _sniff(path)
    if family in ("png", "jpeg", "webp", "bmp"):
        return _probe_image(path)
    return probe_av(path, family, limits)


def probe_video(path: str | os.PathLike[str], *, limits: ProbeLimits = DELIVERY_LIMITS) -> MediaInfo:
    """Probe a delivered video: it must hold a picture track with at least one decodable frame."""
    family = _sniff(path)
    if family not in ("isobmff", "matroska"):
        raise MediaError(MSG_NOT_VIDEO)
    info = probe_av(path, family, limits)
    if info.kind != "video":
        raise MediaError(MSG_NOT_VIDEO)
    return info


# --- sniffing ---------------------------------------------------------------------------------


def _sniff(path: str | os.PathLike[str]) -> str:
    """Return the family of the file from its magic bytes, or raise MediaError."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as exc:
        raise MediaError(MSG_UNREADABLE) from exc
    if not head:
        raise MediaError(MSG_EMPTY)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:2] == b"BM" and len(head) >= 26:
        return "bmp"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "isobmff"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"
    if head[:3] == b"ID3":
        return "id3"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:  # ADTS: 12-bit sync, layer 00
            return "aac"
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # MPEG audio frame sync, layer I-III
            return "mp3"
    raise MediaError(MSG_UNSUPPORTED)

# --- images -----------------------------------------------------------------------------------


def _probe_image(path: str | os.PathLike[str]) -> MediaInfo:
    """Open with Pillow, check size limits before decoding, then decode fully to catch truncation."""
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice its limit; we refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                fmt = im.format or ""
                width, height = im.size
                if fmt not in _IMAGE_TYPES:
                    raise MediaError(
                        f"{fmt or 'This'} images are not supported; please upload a PNG, JPEG, WEBP or BMP."
                    )
                check_image_size(width, height)
                im.verify()
            with Image.open(path) as im:
                if fmt == "JPEG":
                    # Decoding at 1/8 scale still reads every byte of the entropy-coded data.
                    im.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                im.load()
        except MediaError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaError("The image has too many pixels to be processed safely.") from exc
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error...
            raise MediaError(MSG_IMAGE_CORRUPT) from exc
    content_type, extension = _IMAGE_TYPES[fmt]
    return MediaInfo(
        kind="image",
        content_type=content_type,
        width=width,
        height=height,
        duration_s=None,
        frames=None,
        fps=None,
        has_audio=False,
        has_video=False,
        extension=extension,
    )
