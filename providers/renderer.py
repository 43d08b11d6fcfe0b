"""The local renderer: a still image, gently animated, over an audio track, as an H.264/AAC MP4.

It is the "model" of test mode and of the local catalogue entry, so it must produce what a real
provider delivers: a streamable MP4 (moov first) whose length is the audio's, with a picture that
visibly moves. It streams: one decoded audio frame and one picture frame are alive at a time.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

import av
from av.video.reformatter import ColorPrimaries, ColorRange, ColorTrc
from PIL import Image, ImageOps

from providers.media import MediaError, sniff_and_probe

__all__ = ["RenderResult", "render_still_video"]

_HEIGHTS = {"480p": 480, "720p": 720}
_MAX_WIDTH = 1920
_SAMPLE_RATE = 44100
_AUDIO_FRAME = 1024  # AAC frame size
_AUDIO_BIT_RATE = 128_000
# Ken Burns: the view zooms from 1.00 to 1.08 over the clip; PAD leaves room for a slow pan at 1.00.
_ZOOM = 0.08
_PAD = 1.03
_PAN = 0.8  # share of the free margin the pan may use
_PAN_PERIOD_X_S = 9.0
_PAN_PERIOD_Y_S = 13.0
_MS = Decimal("0.001")
_AVCOL_SPC_BT709 = 1  # FFmpeg's AVColorSpace value; PyAV has no enum for it


@dataclass(frozen=True)
class RenderResult:
    path: str
    duration_s: Decimal
    width: int
    height: int
    frames: int
    fps: int


def render_still_video(
    *,
    image_path: str | os.PathLike[str],
    audio_path: str | os.PathLike[str] | None,
    out_path: str | os.PathLike[str],
    duration_s: Decimal | float | None = None,
    resolution: Literal["480p", "720p"] = "480p",
    fps: int = 25,
) -> RenderResult:
    """Render ``image_path`` over ``audio_path`` into an MP4 at ``out_path``.

    The length is the audio's, or ``duration_s`` when given (the audio is then cut or padded with
    silence; without audio the track is silent, so every output has sound). The file appears at
    ``out_path`` only once complete.
    """
    height = _HEIGHTS.get(resolution)
    if height is None:
        raise ValueError(f"resolution must be one of {sorted(_HEIGHTS)}, not {resolution!r}")
    if not isinstance(fps, int) or not 1 <= fps <= 120:
        raise ValueError(f"fps must be an integer between 1 and 120, not {fps!r}")

    requested = _requested_duration(duration_s)
    image_info = sniff_and_probe(image_path)
    if image_info.kind != "image":
        raise MediaError("The picture must be a PNG, JPEG, WEBP or BMP image.")
    audio_info = sniff_and_probe(audio_path) if audio_path is not None else None
    if audio_info is not None and not audio_info.has_audio:
        raise MediaError("The audio file has no sound track.")

    if requested is not None:
        duration = requested
    elif audio_info is not None and audio_info.duration_s is not None:
        duration = audio_info.duration_s
    else:
        raise ValueError("duration_s is required when there is no audio")
    frames = max(1, int((duration * fps).to_integral_value(rounding=ROUND_HALF_UP)))
    samples = int((duration * _SAMPLE_RATE).to_integral_value(rounding=ROUND_HALF_UP))

    picture = _load_picture(image_path)
    width = _width_for(height, picture.width, picture.height)
    motion = _KenBurns(picture, width, height, frames, fps)
    del picture

    out_path = os.fspath(out_path)
    # Written beside the target and renamed when complete: a reader never sees half a video.
    tmp_path = f"{out_path}.{secrets.token_hex(6)}.part"
    audio = _audio_frames(audio_path, samples)
    try:
        _encode(tmp_path, motion, audio, width, height, frames, fps)
        os.replace(tmp_path, out_path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.unlink(tmp_path)
        raise
    finally:
        audio.close()

    return RenderResult(
        path=out_path,
        duration_s=(Decimal(frames) / Decimal(fps)).quantize(_MS, rounding=ROUND_HALF_UP),
        width=width,
        height=height,
        frames=frames,
        fps=fps,
    )


def _requested_duration(requested: Decimal | float | None) -> Decimal | None:
    if requested is None:
        return None
    try:
        value = requested if isinstance(requested, Decimal) else Decimal(str(requested))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"duration_s must be a number of seconds, not {requested!r}") from exc
    if not value.is_finite() or value <= 0:
        raise ValueError(f"duration_s must be positive, not {requested!r}")
    return value


def _width_for(height: int, image_width: int, image_height: int) -> int:
    """Keep the image's aspect ratio at the given height; H.264 4:2:0 wants an even width."""
    half_width = Fraction(height * image_width, 2 * image_height)
    width = 2 * math.floor(half_width + Fraction(1, 2))  # nearest even number, halves up
    return min(max(width, 2), _MAX_WIDTH)


def _load_picture(image_path: str | os.PathLike[str]) -> Image.Image:
    """Decode the image upright (EXIF orientation) as RGB, flattening transparency onto white."""
    try:
        with Image.open(image_path) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                return flat
            return im.convert("RGB")
    except MediaError:
        raise
    except Exception as exc:  # Pillow's OSError, SyntaxError, ValueError...
        raise MediaError("The image file is truncated or corrupt.") from exc


class _KenBurns:
    """A slow zoom (1.00 -> 1.08, eased) with a subtle pan, cut from an image scaled once.

    The image is cover-fitted once to (1.08 * 1.03) times the output size; each frame is then a
    single Pillow resize of a sub-pixel box of it, always a downscale, so it stays sharp and cheap.
    """

    def __init__(self, picture: Image.Image, width: int, height: int, frames: int, fps: int) -> None:
        scale = (1 + _ZOOM) * _PAD
        pw, ph = math.ceil(width * scale), math.ceil(height * scale)
        # Crop the source to the output's aspect ratio (centred), then scale once.
        src_w, src_h = picture.size
        if src_w * ph > src_h * pw:
            crop_w, crop_h = src_h * pw / ph, float(src_h)
        else:
            crop_w, crop_h = float(src_w), src_w * ph / pw
        box = ((src_w - crop_w) / 2, (src_h - crop_h) / 2, (src_w + crop_w) / 2, (src_h + crop_h) / 2)
        self.base = picture.resize((pw, ph), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
        self.width, self.height, self.frames, self.fps = width, height, frames, fps

    def frame(self, index: int) -> Image.Image:
        pw, ph = self.base.size
        u = index / (self.frames - 1) if self.frames > 1 else 0.0
        zoom = 1 + _ZOOM * u * u * (3 - 2 * u)  # smoothstep: starts and ends gently
        view_w, view_h = pw / (_PAD * zoom), ph / (_PAD * zoom)
        t = index / self.fps
        cx = pw / 2 + _PAN * (pw - view_w) / 2 * math.sin(2 * math.pi * t / _PAN_PERIOD_X_S)
        cy = ph / 2 + _PAN * (ph - view_h) / 2 * math.sin(2 * math.pi * t / _PAN_PERIOD_Y_S)
        box = (cx - view_w / 2, cy - view_h / 2, cx + view_w / 2, cy + view_h / 2)
        return self.base.resize((self.width, self.height), Image.Resampling.BILINEAR, box=box)


def _audio_frames(audio_path: str | os.PathLike[str] | None, total: int) -> Iterator[av.AudioFrame]:
    """Exactly ``total`` samples of 44.1 kHz stereo fltp, in AAC-sized frames: the input, cut or
    padded with silence. Timestamps count samples."""
    written = 0
    if audio_path is not None:
        try:
            with av.open(os.fspath(audio_path), metadata_errors="ignore") as container:
                stream = container.streams.audio[0]
                for frame in _resampled(_decoded_then_flush(container, stream)):
                    if written + frame.samples > total:
                        frame = _head(frame, total - written)
                    if frame.samples:
                        frame.pts = written
                        frame.time_base = Fraction(1, _SAMPLE_RATE)
                        written += frame.samples
                        yield frame
                    if written >= total:
                        return
        except av.FFmpegError as exc:
            raise MediaError("The audio file is truncated or corrupt.") from exc
    while written < total:
        frame = _silence(min(_AUDIO_FRAME, total - written))
        frame.pts = written
        written += frame.samples
        yield frame


def _resampled(decoded: Iterator[av.AudioFrame | None]) -> Iterator[av.AudioFrame]:
    """44.1 kHz stereo fltp in AAC-sized frames. A stream may change rate or channels midway
    (concatenated MP3s do): the resampler is then flushed and rebuilt for the new shape."""
    resampler: av.AudioResampler | None = None
    shape: tuple[str, str, int] | None = None
    for frame in decoded:
        if frame is not None:
            frame_shape = (frame.format.name, frame.layout.name, frame.sample_rate)
            if resampler is not None and frame_shape != shape:
                yield from resampler.resample(None)
                resampler = None
            if resampler is None:
                resampler = av.AudioResampler(
                    format="fltp", layout="stereo", rate=_SAMPLE_RATE, frame_size=_AUDIO_FRAME
                )
                shape = frame_shape
        if resampler is not None:
            yield from resampler.resample(frame)


def _decoded_then_flush(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> Iterator[av.AudioFrame | None]:
    """Decoded frames, skipping a damaged packet rather than failing the whole render (as players
    do), then ``None`` to flush the resampler's last partial frame."""
    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.InvalidDataError:
            continue
    yield None


def _head(frame: av.AudioFrame, samples: int) -> av.AudioFrame:
    """The first ``samples`` samples of a planar float frame."""
    cut = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
    cut.sample_rate = _SAMPLE_RATE
    size = samples * 4
    for src, dst in zip(frame.planes, cut.planes, strict=True):
        memoryview(dst)[:size] = memoryview(src)[:size]
    return cut


def _silence(samples: int) -> av.AudioFrame:
    frame = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
    frame.sample_rate = _SAMPLE_RATE
    frame.time_base = Fraction(1, _SAMPLE_RATE)
    zeros = bytes(samples * 4)
    for plane in frame.planes:
        memoryview(plane)[: len(zeros)] = zeros
    return frame


def _encode(
    path: str,
    motion: _KenBurns,
    audio: Iterator[av.AudioFrame],
    width: int,
    height: int,
    frames: int,
    fps: int,
) -> None:
    """Encode picture and sound interleaved (audio up to each picture's end) into a faststart MP4."""
    with av.open(path, "w", format="mp4", container_options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "28"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, fps)
        # Tag what the RGB -> YUV conversion below produces, so players do not guess BT.601 vs 709.
        video.codec_context.colorspace = _AVCOL_SPC_BT709
        video.codec_context.color_primaries = ColorPrimaries.BT709
        video.codec_context.color_trc = ColorTrc.BT709
        video.codec_context.color_range = ColorRange.MPEG
        sound = out.add_stream("aac", rate=_SAMPLE_RATE, layout="stereo")
        sound.codec_context.bit_rate = _AUDIO_BIT_RATE

        audio_written = 0
        for index in range(frames):
            picture = av.VideoFrame.from_image(motion.frame(index))
            picture = picture.reformat(format="yuv420p", dst_colorspace="ITU709")
            picture.pts = index
            picture.time_base = Fraction(1, fps)
            out.mux(video.encode(picture))
            # Audio up to the end of this picture keeps the two tracks interleaved in the file.
            until = (index + 1) * _SAMPLE_RATE // fps
            while audio_written < until:
                frame = next(audio, None)
                if frame is None:
                    break
                audio_written += frame.samples
                out.mux(sound.encode(frame))
        for frame in audio:
            out.mux(sound.encode(frame))
        out.mux(video.encode(None))
        out.mux(sound.encode(None))
