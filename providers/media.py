"""Sniff and probe uploaded and delivered media.

Uploads are judged by their content, never by their name or Content-Type header: a user's ``.png``
may be a text file, and a provider's ``.mp4`` may be cut short. Every failure is a ``MediaError``
whose message a person can act on; decoder and Pillow errors never leak out of this module.

Durations are exact ``Decimal`` seconds rounded once to the millisecond (ROUND_HALF_UP), because
they are what we meter and bill.
"""

from __future__ import annotations

import os
import struct
import time
import warnings
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

import av
from PIL import Image

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

MIN_IMAGE_SIDE = 16
MAX_IMAGE_SIDE = 8192
# Video frames follow the image rule per side, and a frame holds at most 8K (8192x4320) pixels:
# decoding one frame costs about 1.5 bytes a pixel per buffered frame.
MAX_VIDEO_SIDE = MAX_IMAGE_SIDE
MAX_VIDEO_PIXELS = 8192 * 4320
# A WAV holds a handful of chunks (fmt, data, LIST, fact, bext...); walking millions of empty ones
# took a web worker most of a minute.
MAX_WAV_CHUNKS = 256

_MS = Decimal("0.001")
_HEAD_BYTES = 64
# Packets decoded (at most) to prove a stream is really decodable; the rest is only demuxed.
_DECODE_CHECK_PACKETS = 16
# How far a declared audio length may be from the demuxed one and still be preferred (encoder delay
# and padding are a few dozen milliseconds; a bitrate estimate or a cut file is further off).
_AUDIO_TOLERANCE = Fraction(1, 20)

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


# Pillow format name -> (content type, extension)
_IMAGE_TYPES = {
    "PNG": ("image/png", ".png"),
    "JPEG": ("image/jpeg", ".jpg"),
    "WEBP": ("image/webp", ".webp"),
    "BMP": ("image/bmp", ".bmp"),
}

# sniffed family -> FFmpeg demuxer forced when opening (None: let FFmpeg probe, e.g. ID3-tagged files)
_AV_DEMUXERS = {
    "wav": "wav",
    "flac": "flac",
    "ogg": "ogg",
    "mp3": "mp3",
    "id3": None,
    "aac": "aac",
    "isobmff": "mov",
    "matroska": "matroska",
}


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


def sniff_and_probe(path: str | os.PathLike[str], *, limits: ProbeLimits = UPLOAD_LIMITS) -> MediaInfo:
    """Decide from the bytes what the file is, check it is usable, and measure it."""
    family = _sniff(path)
    if family in ("png", "jpeg", "webp", "bmp"):
        return _probe_image(path)
    return _probe_av(path, family, limits)


def probe_video(path: str | os.PathLike[str], *, limits: ProbeLimits = DELIVERY_LIMITS) -> MediaInfo:
    """Probe a delivered video: it must hold a picture track with at least one decodable frame."""
    family = _sniff(path)
    if family not in ("isobmff", "matroska"):
        raise MediaError(MSG_NOT_VIDEO)
    info = _probe_av(path, family, limits)
    if info.kind != "video":
        raise MediaError(MSG_NOT_VIDEO)
    return info


# --- sniffing ---------------------------------------------------------------------------------


def _sniff(path: str | os.PathLike[str]) -> str:
    """Return the family of the file from its magic bytes, or raise MediaError."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
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
                _check_image_size(width, height)
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


def _check_image_size(width: int, height: int) -> None:
    if width < MIN_IMAGE_SIDE or height < MIN_IMAGE_SIDE:
        raise MediaError(
            f"The image is {width}x{height} pixels; each side must be at least {MIN_IMAGE_SIDE} pixels."
        )
    if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE:
        raise MediaError(
            f"The image is {width}x{height} pixels; each side must be at most {MAX_IMAGE_SIDE} pixels."
        )


# --- audio and video --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Budget:
    """The bounds of one probe: a wall-clock deadline and a number of packets demuxed."""

    seconds: float
    deadline: float
    max_packets: int

    @classmethod
    def start(cls, limits: ProbeLimits) -> _Budget:
        seconds = float(limits.time_budget_s)
        return cls(seconds, time.monotonic() + seconds, limits.max_packets)

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise MediaError(
                f"The file took too long to check (the limit is {self.seconds:g} seconds); "
                "please send a shorter or simpler file."
            )


def _probe_av(path: str | os.PathLike[str], family: str, limits: ProbeLimits) -> MediaInfo:
    budget = _Budget.start(limits)
    wav_size_known = _check_wav_not_truncated(path) if family == "wav" else False
    try:
        # skip_frame: FFmpeg's stream analysis decodes a few frames of some codecs (7 of H.264) to
        # learn their parameters; that would allocate a 12000x12000 frame before we see its size.
        # The timeout interrupts FFmpeg's reads (a demuxer walking millions of tiny chunks).
        container = av.open(
            os.fspath(path),
            format=_AV_DEMUXERS[family],
            metadata_errors="ignore",
            options={"skip_frame": "all"},
            timeout=(budget.seconds, budget.seconds),
        )
    except Exception as exc:  # av.FFmpegError, OSError, UnicodeDecodeError...
        budget.check()
        raise MediaError(_corrupt_message(family)) from exc
    try:
        with container:
            budget.check()
            videos = [s for s in container.streams.video if not _is_cover_art(s)]
            audios = list(container.streams.audio)
            if family == "id3" and container.format.name not in ("mp3", "aac"):
                raise MediaError(MSG_UNSUPPORTED)
            if videos:
                if family not in ("isobmff", "matroska"):
                    raise MediaError(MSG_UNSUPPORTED)
                return _probe_video_stream(path, container, videos[0], family, budget, has_audio=bool(audios))
            if audios:
                return _probe_audio_stream(path, container, audios[0], family, budget, wav_size_known)
            raise MediaError("The file holds neither sound nor pictures.")
    except MediaError:
        raise
    except Exception as exc:  # av.ExitError when the timeout interrupted FFmpeg, decoder errors...
        budget.check()
        raise MediaError(_corrupt_message(family)) from exc


def _corrupt_message(family: str) -> str:
    if family in ("isobmff", "matroska"):
        return "The audio or video file is truncated or corrupt."
    return MSG_AUDIO_CORRUPT


def _is_cover_art(stream: av.stream.Stream) -> bool:
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _declared_seconds(stream: av.stream.Stream) -> Fraction | None:
    if stream.duration and stream.duration > 0 and stream.time_base:
        return Fraction(stream.duration) * stream.time_base
    return None


def _probe_audio_stream(
    path: str | os.PathLike[str],
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    family: str,
    budget: _Budget,
    wav_size_known: bool,
) -> MediaInfo:
    declared = _declared_seconds(stream)
    if family == "wav" and wav_size_known and declared and stream.codec_context.name.startswith("pcm_"):
        # The header was checked against the file size, so its length is the truth: decode a little only.
        _scan(container, stream, MSG_AUDIO_CORRUPT, budget, full=False)
        seconds = declared
    else:
        # Other containers often estimate (MP3/ADTS from the bitrate) or trust a header that a cut
        # file contradicts (FLAC, M4A): demux every packet, which is cheap, and decode the first ones.
        scan = _scan(container, stream, MSG_AUDIO_CORRUPT, budget, full=True)
        if stream.frames and scan.packets < stream.frames:
            raise MediaError(MSG_AUDIO_CORRUPT)
        seconds = scan.seconds
        # A declared length that agrees with what we read is more precise (it knows the encoder's
        # delay and padding); one that does not was an estimate or describes a longer file.
        if declared is not None and abs(declared - seconds) <= _AUDIO_TOLERANCE:
            seconds = declared
    duration = _seconds(seconds)
    if duration <= 0:
        raise MediaError("The audio file contains no sound (its duration is zero).")
    content_type, extension = _audio_type(path, container, stream, family)
    return MediaInfo(
        kind="audio",
        content_type=content_type,
        width=None,
        height=None,
        duration_s=duration,
        frames=None,
        fps=None,
        has_audio=True,
        has_video=False,
        extension=extension,
    )


def _probe_video_stream(
    path: str | os.PathLike[str],
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    family: str,
    budget: _Budget,
    *,
    has_audio: bool,
) -> MediaInfo:
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise MediaError(MSG_VIDEO_CORRUPT)
    _check_video_size(width, height)
    # The declared size is checked; a bitstream that later switches to a larger one fails to
    # decode instead of allocating it.
    stream.codec_context.options = {**stream.codec_context.options, "max_pixels": str(MAX_VIDEO_PIXELS)}
    scan = _scan(container, stream, MSG_VIDEO_CORRUPT, budget, full=True)
    if stream.frames and scan.packets < stream.frames:
        raise MediaError(MSG_VIDEO_CORRUPT)
    rate = stream.average_rate or stream.guessed_rate
    frame_s = 1 / Fraction(rate) if rate else Fraction(1, 10)
    seconds = scan.seconds
    if rate and seconds < Fraction(scan.packets) / Fraction(rate) - frame_s / 2:
        # Some muxers leave the last packet's duration at 0: count it as one frame.
        seconds = Fraction(scan.packets) / Fraction(rate)
    declared = _declared_seconds(stream)
    if declared is not None and abs(declared - seconds) <= frame_s:
        # The track's own length (sum of sample durations in MP4) is exact; keep it when the
        # packets we really read agree with it to within a frame.
        seconds = declared
    duration = _seconds(seconds)
    if duration <= 0:
        raise MediaError(MSG_VIDEO_CORRUPT)
    fps = _seconds(Fraction(rate)) if rate else _seconds(Fraction(scan.packets) / seconds)
    if family == "matroska":
        webm = _matroska_is_webm(path)
        content_type, extension = ("video/webm", ".webm") if webm else ("video/x-matroska", ".mkv")
    elif _mp4_brand(container) == "qt":
        content_type, extension = "video/quicktime", ".mov"
    else:
        content_type, extension = "video/mp4", ".mp4"
    return MediaInfo(
        kind="video",
        content_type=content_type,
        width=width,
        height=height,
        duration_s=duration,
        frames=scan.packets,
        fps=fps,
        has_audio=has_audio,
        has_video=True,
        extension=extension,
    )


def _check_video_size(width: int, height: int) -> None:
    if width > MAX_VIDEO_SIDE or height > MAX_VIDEO_SIDE:
        raise MediaError(
            f"The video is {width}x{height} pixels; each side must be at most {MAX_VIDEO_SIDE} pixels."
        )
    if width * height > MAX_VIDEO_PIXELS:
        raise MediaError(
            f"The video is {width}x{height} pixels; a frame may hold at most {MAX_VIDEO_PIXELS:,} pixels "
            "(8192x4320)."
        )


@dataclass(frozen=True)
class _Scan:
    packets: int
    seconds: Fraction


def _scan(
    container: av.container.InputContainer,
    stream: av.stream.Stream,
    corrupt: str,
    budget: _Budget,
    *,
    full: bool,
) -> _Scan:
    """Demux the stream (all of it when ``full``), decoding the first packets to prove it decodes.

    The length comes from the packets' own timestamps, so an MP3 without a Xing header or a file
    cut short reports what is really there. Without timestamps every packet is decoded instead.
    Every stream's packets count against the budget (the demuxer reads them all anyway).
    """
    time_base = stream.time_base
    packets = decoded_frames = decoded_samples = 0
    first: int | None = None
    end: int | None = None
    timestamps_ok = time_base is not None
    read = 0
    for packet in container.demux():
        read += 1
        if read > budget.max_packets:
            raise MediaError(
                f"The file holds more than {budget.max_packets:,} audio and video packets; "
                "please send a shorter file."
            )
        budget.check()
        if packet.size == 0 or packet.stream_index != stream.index:
            continue  # the demuxer's end-of-stream marker, or another track
        packets += 1
        if packet.pts is None:
            timestamps_ok = False
        else:
            first = packet.pts if first is None else min(first, packet.pts)
            packet_end = packet.pts + (packet.duration or 0)
            end = packet_end if end is None else max(end, packet_end)
        if not timestamps_ok or packets <= _DECODE_CHECK_PACKETS or decoded_frames == 0:
            for frame in packet.decode():
                decoded_frames += 1
                decoded_samples += getattr(frame, "samples", 0)
        if not full and decoded_frames:
            break
    if decoded_frames == 0 or (not timestamps_ok and full):
        for frame in stream.codec_context.decode(None):  # flush the decoder's delayed frames
            decoded_frames += 1
            decoded_samples += getattr(frame, "samples", 0)
    if decoded_frames == 0:
        raise MediaError(corrupt)
    if not full:
        return _Scan(packets=packets, seconds=Fraction(0))
    if timestamps_ok and first is not None and end is not None:
        start = stream.start_time if stream.start_time is not None else first
        return _Scan(packets=packets, seconds=max(Fraction(0), Fraction(end - start) * time_base))
    # No usable timestamps: everything was decoded above.
    if stream.type == "audio" and stream.codec_context.sample_rate:
        return _Scan(packets=packets, seconds=Fraction(decoded_samples, stream.codec_context.sample_rate))
    rate = stream.average_rate or stream.guessed_rate
    if rate:
        return _Scan(packets=packets, seconds=Fraction(decoded_frames) / Fraction(rate))
    raise MediaError(corrupt)


def _seconds(value: Fraction) -> Decimal:
    """Exact Fraction -> Decimal, rounded once to the millisecond, half up."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(_MS, rounding=ROUND_HALF_UP)


def _audio_type(
    path: str | os.PathLike[str],
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    family: str,
) -> tuple[str, str]:
    if family == "wav":
        return "audio/wav", ".wav"
    if family == "flac":
        return "audio/flac", ".flac"
    if family == "ogg":
        return ("audio/ogg", ".opus") if stream.codec_context.name == "opus" else ("audio/ogg", ".ogg")
    if family == "isobmff":
        return "audio/mp4", ".m4a"
    if family == "matroska":
        return ("audio/webm", ".webm") if _matroska_is_webm(path) else ("audio/x-matroska", ".mka")
    if container.format.name == "aac":
        return "audio/aac", ".aac"
    return "audio/mpeg", ".mp3"


def _mp4_brand(container: av.container.InputContainer) -> str:
    return str(container.metadata.get("major_brand", "")).strip().lower()


def _matroska_is_webm(path: str | os.PathLike[str]) -> bool:
    """Matroska and WebM share a demuxer; the EBML header's DocType tells them apart."""
    try:
        with open(path, "rb") as f:
            return b"webm" in f.read(_HEAD_BYTES)
    except OSError:
        return False


def _check_wav_not_truncated(path: str | os.PathLike[str]) -> bool:
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
