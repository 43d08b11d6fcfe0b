"""Small, real media files for tests, made on the fly (no binary fixtures in the repository).

Shared by the whole suite: keep these names and signatures stable. Every generator writes the file
and returns its path.
"""

from __future__ import annotations

import io
import math
import os
import struct
import wave
from array import array
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image, ImageDraw

__all__ = [
    "MP3_ENCODER",
    "make_adts_of_tiny_packets",
    "make_jpeg",
    "make_mjpeg_mov",
    "make_mp3",
    "make_mp4",
    "make_png",
    "make_truncated_wav",
    "make_wav",
    "make_wav_of_empty_chunks",
    "sine_frames",
]


def _find_mp3_encoder() -> str | None:
    for name in ("mp3", "libmp3lame"):
        try:
            av.codec.Codec(name, "w")
        except Exception:
            continue
        return name
    return None


MP3_ENCODER = _find_mp3_encoder()


def make_png(
    path: str | os.PathLike[str],
    width: int = 320,
    height: int = 240,
    color: tuple[int, int, int] = (200, 120, 80),
) -> Path:
    """A PNG filled with ``color`` (corners included) and a darker disc in the middle, so a moving
    crop of it visibly changes."""
    image = _picture(width, height, color)
    image.save(path, format="PNG")
    return Path(path)


def make_jpeg(path: str | os.PathLike[str], width: int = 320, height: int = 240) -> Path:
    """A JPEG with a gradient and a few shapes (a little detail for the encoder to chew on)."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(40, 90, 200))
    draw.rectangle((width // 10, height // 10, width // 5, height // 5), fill=(230, 60, 40))
    image.save(path, format="JPEG", quality=90)
    return Path(path)


def make_wav(
    path: str | os.PathLike[str], seconds: float = 2.0, rate: int = 16000, freq: float = 440.0
) -> Path:
    """A 16-bit mono sine; its duration is exactly ``round(seconds * rate) / rate``."""
    count = round(seconds * rate)
    samples = array("h", (int(12000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(count)))
    if samples.itemsize != 2:  # pragma: no cover - array('h') is 16-bit on every platform we run
        raise RuntimeError("array('h') is not 16-bit")
    with wave.open(os.fspath(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())  # WAV is little-endian, like every host we run on
    return Path(path)


def make_truncated_wav(path: str | os.PathLike[str], seconds: float = 2.0) -> Path:
    """A WAV whose header declares ``seconds`` of sound but whose file holds only half of it."""
    make_wav(path, seconds=seconds)
    size = os.path.getsize(path)
    header = 44
    with open(path, "r+b") as f:
        f.truncate(header + (size - header) // 2)
        f.seek(40)
        declared = struct.unpack("<I", f.read(4))[0]
    assert declared == size - header  # the header still claims the full length
    return Path(path)


def make_mp4(path: str | os.PathLike[str], seconds: float = 2.0, width: int = 320, height: int = 240) -> Path:
    """An H.264 + AAC MP4 (faststart) at 25 fps: a moving square over a gradient and a 440 Hz tone.

    ``width`` and ``height`` must be even (H.264 4:2:0).
    """
    fps = 25
    frames = max(1, round(seconds * fps))
    background = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    side = max(2, min(width, height) // 4)
    with av.open(os.fspath(path), "w", format="mp4", container_options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "30"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=44100, layout="mono")
        for index in range(frames):
            image = background.copy()
            x = (width - side) * index // max(1, frames - 1)
            ImageDraw.Draw(image).rectangle(
                (x, height // 3, x + side, height // 3 + side), fill=(250, 40, 40)
            )
            frame = av.VideoFrame.from_image(image)
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for frame in sine_frames(frames / fps, 44100):
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return Path(path)


def make_mp3(path: str | os.PathLike[str], seconds: float = 2.0) -> Path:
    """A 44.1 kHz mono MP3 sine; skips the calling test when this PyAV build cannot encode MP3."""
    if MP3_ENCODER is None:
        pytest.skip("this PyAV build has no MP3 encoder")
    with av.open(os.fspath(path), "w", format="mp3") as out:
        sound = out.add_stream(MP3_ENCODER, rate=44100, layout="mono")
        for frame in sine_frames(seconds, 44100):
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return Path(path)


# --- pathological files: small or quick to build, costly to probe naively --------------------


def make_wav_of_empty_chunks(path: str | os.PathLike[str], chunks: int, *, after_data: bool = False) -> Path:
    """A valid one-second WAV padded with ``chunks`` empty ``JUNK`` chunks (8 bytes each) before its
    data chunk, or after it (where FFmpeg walks them too)."""
    rate = 16000
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    sound = b"\0\0" * rate
    data = b"data" + struct.pack("<I", len(sound)) + sound
    junk = b"JUNK\0\0\0\0" * chunks
    body = b"WAVE" + fmt + (data + junk if after_data else junk + data)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
    return Path(path)


def make_mjpeg_mov(
    path: str | os.PathLike[str],
    width: int,
    height: int,
    *,
    declared: tuple[int, int] | None = None,
    frames: int = 2,
) -> Path:
    """A QuickTime file of flat grey Motion-JPEG frames of ``width`` x ``height``: a 12000x12000 one
    is about 1.7 MB a frame, and built in half a second (Pillow encodes one JPEG, muxed as is).

    ``declared`` puts another size in the container's header than the frames hold.
    """
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, format="JPEG", quality=5)
    jpeg = buffer.getvalue()
    with av.open(os.fspath(path), "w", format="mov") as out:
        stream = out.add_stream("mjpeg", rate=25)
        stream.width, stream.height = declared or (width, height)
        stream.pix_fmt = "yuvj420p"
        for index in range(frames):
            packet = av.Packet(jpeg)
            packet.stream = stream
            packet.pts = packet.dts = index
            packet.duration = 1
            packet.time_base = Fraction(1, 25)
            packet.is_keyframe = True
            out.mux(packet)
    return Path(path)


def make_adts_of_tiny_packets(path: str | os.PathLike[str], packets: int) -> Path:
    """A raw AAC (ADTS) file of ``packets`` silent frames of 11 bytes each (128 ms each at 8 kHz):
    encoded once, the last frame repeated; 2,000,000 packets make 22 MB."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="adts") as out:
        sound = out.add_stream("aac", rate=8000, layout="mono")
        sound.bit_rate = 8000
        for frame in sine_frames(0.5, 8000, freq=0.0):
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    encoded = buffer.getvalue()
    frames, offset = [], 0
    while offset < len(encoded):  # ADTS frame length: 13 bits from the header's 4th byte on
        length = ((encoded[offset + 3] & 3) << 11) | (encoded[offset + 4] << 3) | (encoded[offset + 5] >> 5)
        frames.append(encoded[offset : offset + length])
        offset += length
    with open(path, "wb") as f:
        f.write(b"".join(frames[:-1]) + frames[-1] * max(0, packets - len(frames) + 1))
    return Path(path)


def _picture(width: int, height: int, color: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (width, height), color)
    darker = tuple(c // 3 for c in color)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=darker)
    draw.line(
        (width // 4, height // 2, 3 * width // 4, height // 2),
        fill=(255, 255, 255),
        width=max(1, height // 40),
    )
    return image


def sine_frames(seconds: float, rate: int, freq: float = 440.0, block: int = 1024) -> Iterator[av.AudioFrame]:
    """Mono s16 frames of a sine, ``round(seconds * rate)`` samples in all; the encoder resamples."""
    total = round(seconds * rate)
    for start in range(0, total, block):
        count = min(block, total - start)
        data = array(
            "h", (int(12000 * math.sin(2 * math.pi * freq * (start + i) / rate)) for i in range(count))
        )
        frame = av.AudioFrame(format="s16", layout="mono", samples=count)
        frame.sample_rate = rate
        frame.pts, frame.time_base = start, Fraction(1, rate)
        memoryview(frame.planes[0])[: count * 2] = data.tobytes()
        yield frame
