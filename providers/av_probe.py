"""Probing audio and video with PyAV within a budget: open with a forced demuxer, demux every packet
(decoding the first few) to measure the real length, and name the content type.

Durations are exact ``Decimal`` seconds rounded once to the millisecond (ROUND_HALF_UP), because
they are what we meter and bill.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import av

from .media_limits import (
    HEAD_BYTES,
    MAX_VIDEO_PIXELS,
    ProbeBudget,
    ProbeLimits,
    check_video_size,
    check_wav_not_truncated,
)
from .media_results import MSG_AUDIO_CORRUPT, MSG_UNSUPPORTED, MSG_VIDEO_CORRUPT, MediaError, MediaInfo

_MS = Decimal("0.001")
# Packets decoded (at most) to prove a stream is really decodable; the rest is only demuxed.
_DECODE_CHECK_PACKETS = 16
# How far a declared audio length may be from the demuxed one and still be preferred (encoder delay
# and padding are a few dozen milliseconds; a bitrate estimate or a cut file is further off).
_AUDIO_TOLERANCE = Fraction(1, 20)

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


def probe_av(path: str | os.PathLike[str], family: str, limits: ProbeLimits) -> MediaInfo:
    """Probe an audio or video file of the sniffed ``family`` (a key of ``_AV_DEMUXERS``) within
    ``limits``: its first audio or picture track must decode, and its length is measured."""
    budget = ProbeBudget.start(limits)
    wav_size_known = check_wav_not_truncated(path) if family == "wav" else False
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
    budget: ProbeBudget,
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
    budget: ProbeBudget,
    *,
    has_audio: bool,
) -> MediaInfo:
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise MediaError(MSG_VIDEO_CORRUPT)
    check_video_size(width, height)
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


@dataclass(frozen=True)
class _Scan:
    packets: int
    seconds: Fraction


def _scan(
    container: av.container.InputContainer,
    stream: av.stream.Stream,
    corrupt: str,
    budget: ProbeBudget,
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
            return b"webm" in f.read(HEAD_BYTES)
    except OSError:
        return False
