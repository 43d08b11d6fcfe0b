"""providers.media: the kind comes from the content, durations are real, bad files are MediaError."""

from __future__ import annotations

import os
import random
import struct
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from providers.media import MAX_WAV_CHUNKS, MediaError, MediaInfo, probe_video, sniff_and_probe
from tests.media_fixtures import (
    make_adts_of_tiny_packets,
    make_jpeg,
    make_mjpeg_mov,
    make_mp3,
    make_mp4,
    make_png,
    make_truncated_wav,
    make_wav,
    make_wav_of_empty_chunks,
    sine_frames,
)

TOLERANCE = Decimal("0.05")


def _encode_audio(path: Path, container_format: str, codec: str, seconds: float, rate: int = 44100) -> Path:
    with av.open(os.fspath(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        for frame in sine_frames(seconds, rate):
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _cut(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


# --- images -----------------------------------------------------------------------------------


def test_png_is_probed_from_its_content(tmp_path: Path) -> None:
    info = sniff_and_probe(make_png(tmp_path / "face.png", width=320, height=240))

    assert info == MediaInfo(
        kind="image",
        content_type="image/png",
        width=320,
        height=240,
        duration_s=None,
        frames=None,
        fps=None,
        has_audio=False,
        has_video=False,
        extension=".png",
    )


def test_jpeg_is_probed(tmp_path: Path) -> None:
    info = sniff_and_probe(make_jpeg(tmp_path / "face.jpg", width=640, height=360))

    assert (info.kind, info.content_type, info.extension) == ("image", "image/jpeg", ".jpg")
    assert (info.width, info.height) == (640, 360)


@pytest.mark.parametrize(
    ("pillow_format", "content_type", "extension"),
    [("WEBP", "image/webp", ".webp"), ("BMP", "image/bmp", ".bmp")],
)
def test_webp_and_bmp_are_images(
    tmp_path: Path, pillow_format: str, content_type: str, extension: str
) -> None:
    path = tmp_path / "face.bin"
    Image.new("RGB", (100, 50), (10, 20, 30)).save(path, format=pillow_format)

    info = sniff_and_probe(path)

    assert (info.kind, info.content_type, info.extension, info.width, info.height) == (
        "image",
        content_type,
        extension,
        100,
        50,
    )


def test_the_name_is_ignored(tmp_path: Path) -> None:
    png_named_wav = make_png(tmp_path / "speech.wav")
    wav_named_png = make_wav(tmp_path / "face.png", seconds=1.0)

    assert sniff_and_probe(png_named_wav).content_type == "image/png"
    assert sniff_and_probe(wav_named_png).content_type == "audio/wav"


@pytest.mark.parametrize(("width", "height"), [(15, 100), (100, 15), (8193, 16), (16, 8193)])
def test_image_sides_out_of_bounds_are_refused(tmp_path: Path, width: int, height: int) -> None:
    path = make_png(tmp_path / "odd.png", width=width, height=height)

    with pytest.raises(
        MediaError, match=rf"{width}x{height} pixels; each side must be at (least 16|most 8192)"
    ):
        sniff_and_probe(path)


def test_image_sides_at_the_bounds_are_accepted(tmp_path: Path) -> None:
    assert sniff_and_probe(make_png(tmp_path / "small.png", width=16, height=16)).width == 16
    assert sniff_and_probe(make_png(tmp_path / "tall.png", width=16, height=8192)).height == 8192


def test_decompression_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_png(tmp_path / "big.png", width=400, height=300)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # 120k pixels is above the limit

    with pytest.raises(MediaError, match="too many pixels"):
        sniff_and_probe(path)


def test_gif_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "anim.png"
    Image.new("P", (64, 64)).save(path, format="GIF")

    with pytest.raises(MediaError, match="not a supported"):
        sniff_and_probe(path)


@pytest.mark.parametrize("maker", [make_png, make_jpeg])
def test_truncated_image_is_refused(tmp_path: Path, maker) -> None:
    path = _cut(maker(tmp_path / "cut.img", width=640, height=480), keep=0.5)

    with pytest.raises(MediaError, match="truncated or corrupt"):
        sniff_and_probe(path)


# --- audio ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [0.5, 2.0, 3.3])
def test_wav_duration_is_exact(tmp_path: Path, seconds: float) -> None:
    info = sniff_and_probe(make_wav(tmp_path / "a.wav", seconds=seconds, rate=16000))

    assert (info.kind, info.content_type, info.extension) == ("audio", "audio/wav", ".wav")
    assert info.duration_s == Decimal(str(seconds)).quantize(Decimal("0.001"))
    assert (info.has_audio, info.has_video, info.width, info.frames) == (True, False, None, None)


def test_duration_is_rounded_half_up_to_the_millisecond(tmp_path: Path) -> None:
    # 8001 samples at 16 kHz = 0.5000625 s -> 0.500; 8008 samples = 0.5005 s exactly -> 0.501 (half up)
    assert sniff_and_probe(make_wav(tmp_path / "a.wav", seconds=8001 / 16000)).duration_s == Decimal("0.500")
    assert sniff_and_probe(make_wav(tmp_path / "b.wav", seconds=8008 / 16000)).duration_s == Decimal("0.501")


def test_mp3_is_probed(tmp_path: Path) -> None:
    info = sniff_and_probe(make_mp3(tmp_path / "a.mp3", seconds=2.0))

    assert (info.kind, info.content_type, info.extension) == ("audio", "audio/mpeg", ".mp3")
    assert abs(info.duration_s - Decimal("2.0")) <= TOLERANCE


def test_mp3_without_a_xing_header_is_measured_not_estimated(tmp_path: Path) -> None:
    # VBR without the Xing/Info frame: FFmpeg can only guess the length from the first bitrate.
    path = tmp_path / "vbr.mp3"
    with av.open(os.fspath(path), "w", format="mp3", container_options={"write_xing": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=44100, layout="mono", options={"q": "4"})
        for frame in sine_frames(1.0, 44100):
            out.mux(stream.encode(frame))
        silent = av.AudioFrame(format="s16", layout="mono", samples=44100 * 3)
        silent.sample_rate, silent.pts = 44100, 44100
        memoryview(silent.planes[0])[:] = bytes(44100 * 3 * 2)
        out.mux(stream.encode(silent))
        out.mux(stream.encode(None))

    info = sniff_and_probe(path)

    assert abs(info.duration_s - Decimal("4.0")) <= TOLERANCE


@pytest.mark.parametrize(
    ("container_format", "codec", "rate", "content_type", "extension"),
    [
        ("flac", "flac", 44100, "audio/flac", ".flac"),
        ("ogg", "libopus", 48000, "audio/ogg", ".opus"),
        ("ipod", "aac", 44100, "audio/mp4", ".m4a"),
        ("adts", "aac", 44100, "audio/aac", ".aac"),
    ],
)
def test_other_audio_formats(
    tmp_path: Path, container_format: str, codec: str, rate: int, content_type: str, extension: str
) -> None:
    path = _encode_audio(tmp_path / "a.bin", container_format, codec, seconds=2.5, rate=rate)

    info = sniff_and_probe(path)

    assert (info.kind, info.content_type, info.extension) == ("audio", content_type, extension)
    assert abs(info.duration_s - Decimal("2.5")) <= TOLERANCE


def test_truncated_wav_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"^The audio file is truncated or corrupt\.$"):
        sniff_and_probe(make_truncated_wav(tmp_path / "cut.wav", seconds=2.0))


def test_wav_of_unknown_size_is_measured(tmp_path: Path) -> None:
    # A streamed WAV (size fields 0xFFFFFFFF) is legal: its length is what the file holds.
    path = make_wav(tmp_path / "stream.wav", seconds=1.5)
    data = bytearray(path.read_bytes())
    data[4:8] = data[40:44] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(data))

    assert sniff_and_probe(path).duration_s == Decimal("1.500")


def test_wav_with_a_trailing_chunk_is_not_truncated(tmp_path: Path) -> None:
    path = make_wav(tmp_path / "list.wav", seconds=1.0)
    path.write_bytes(path.read_bytes() + b"LIST" + struct.pack("<I", 4) + b"INFO")

    assert sniff_and_probe(path).duration_s == Decimal("1.000")


def test_truncated_mp3_reports_what_is_there_or_is_refused(tmp_path: Path) -> None:
    path = _cut(make_mp3(tmp_path / "cut.mp3", seconds=4.0), keep=0.5)

    try:
        info = sniff_and_probe(path)
    except MediaError as error:
        assert "truncated or corrupt" in str(error)
    else:
        assert abs(info.duration_s - Decimal("2.0")) <= Decimal("0.1")


def test_mp3_with_cover_art_is_audio(tmp_path: Path) -> None:
    plain = make_mp3(tmp_path / "plain.mp3", seconds=1.0)
    path = tmp_path / "cover.mp3"
    with av.open(os.fspath(plain)) as source, av.open(os.fspath(path), "w", format="mp3") as out:
        audio_in = source.streams.audio[0]
        audio_out = out.add_stream_from_template(audio_in)
        cover = out.add_stream("png")
        cover.width, cover.height, cover.pix_fmt = 32, 32, "rgb24"
        cover.disposition = av.stream.Disposition.attached_pic
        for packet in source.demux(audio_in):
            if packet.dts is not None:
                packet.stream = audio_out
                out.mux(packet)
        out.mux(cover.encode(av.VideoFrame.from_image(Image.new("RGB", (32, 32), (1, 2, 3)))))
        out.mux(cover.encode(None))

    info = sniff_and_probe(path)

    assert (info.kind, info.has_video) == ("audio", False)
    with pytest.raises(MediaError, match="not a video"):
        probe_video(path)


# --- video ------------------------------------------------------------------------------------


def test_mp4_is_probed(tmp_path: Path) -> None:
    info = sniff_and_probe(make_mp4(tmp_path / "clip.mp4", seconds=2.0, width=320, height=240))

    assert info == MediaInfo(
        kind="video",
        content_type="video/mp4",
        width=320,
        height=240,
        duration_s=Decimal("2.000"),
        frames=50,
        fps=Decimal("25.000"),
        has_audio=True,
        has_video=True,
        extension=".mp4",
    )
    assert probe_video(tmp_path / "clip.mp4") == info


@pytest.mark.parametrize(
    ("container_format", "codec", "content_type", "extension"),
    [
        ("mov", "libx264", "video/quicktime", ".mov"),
        ("matroska", "libx264", "video/x-matroska", ".mkv"),
        ("webm", "libvpx-vp9", "video/webm", ".webm"),
    ],
)
def test_other_video_containers(
    tmp_path: Path, container_format: str, codec: str, content_type: str, extension: str
) -> None:
    try:
        av.codec.Codec(codec, "w")
    except Exception:
        pytest.skip(f"no {codec} encoder in this PyAV build")
    path = tmp_path / "clip.bin"
    with av.open(os.fspath(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for index in range(45):
            frame = av.VideoFrame.from_image(Image.new("RGB", (160, 96), (index * 5, 80, 40)))
            frame.pts, frame.time_base = index, Fraction(1, 30)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))

    info = probe_video(path)

    assert (info.kind, info.content_type, info.extension) == ("video", content_type, extension)
    assert (info.width, info.height, info.frames, info.has_audio) == (160, 96, 45, False)
    assert info.duration_s == Decimal("1.500")
    assert info.fps == Decimal("30.000")


def test_truncated_mp4_is_refused(tmp_path: Path) -> None:
    path = _cut(make_mp4(tmp_path / "cut.mp4", seconds=2.0), keep=0.5)

    with pytest.raises(MediaError, match="truncated or corrupt"):
        sniff_and_probe(path)
    with pytest.raises(MediaError, match="truncated or corrupt"):
        probe_video(path)


def test_probe_video_refuses_audio_and_images(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not a video"):
        probe_video(make_wav(tmp_path / "a.wav"))
    with pytest.raises(MediaError, match="not a video"):
        probe_video(make_png(tmp_path / "a.png"))


# --- garbage ----------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")

    with pytest.raises(MediaError, match=r"^The file is empty\.$"):
        sniff_and_probe(path)
    with pytest.raises(MediaError, match=r"^The file is empty\.$"):
        probe_video(path)


def test_text_named_png(tmp_path: Path) -> None:
    path = tmp_path / "face.png"
    path.write_text("hello, this is not a picture\n" * 20)

    with pytest.raises(MediaError, match=r"not a supported image, audio or video file \(we read its content"):
        sniff_and_probe(path)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(random.Random(1234).randbytes(64 * 1024))

    with pytest.raises(MediaError):
        sniff_and_probe(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="could not be read"):
        sniff_and_probe(tmp_path / "nope.wav")


def test_media_error_is_a_value_error() -> None:
    assert issubclass(MediaError, ValueError)


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("seeds")
    paths = [
        make_png(folder / "a.png", width=32, height=32),
        make_jpeg(folder / "a.jpg", width=32, height=32),
        make_wav(folder / "a.wav", seconds=0.3),
        make_mp4(folder / "a.mp4", seconds=0.4, width=32, height=32),
        _encode_audio(folder / "a.flac", "flac", "flac", seconds=0.3),
        _encode_audio(folder / "a.ogg", "ogg", "libopus", seconds=0.3, rate=48000),
    ]
    return [path.read_bytes() for path in paths]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_files_give_media_info_or_media_error_only(
    tmp_path: Path, seed_files: list[bytes], data: st.DataObject
) -> None:
    """Whatever bytes arrive, the caller sees a MediaInfo or a MediaError, never an FFmpeg/Pillow error."""
    blob = bytearray(data.draw(st.sampled_from(seed_files)))
    action = data.draw(st.sampled_from(["cut", "flip", "splice"]))
    if action == "cut":
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    elif action == "flip":
        for position in data.draw(st.lists(st.integers(0, len(blob) - 1), min_size=1, max_size=20)):
            blob[position] ^= 0xFF
    else:
        start = data.draw(st.integers(0, 64))
        blob = blob[:start] + data.draw(st.binary(max_size=2000))
    path = tmp_path / "upload"
    path.write_bytes(bytes(blob))

    for probe in (sniff_and_probe, probe_video):
        try:
            info = probe(path)
        except MediaError as error:
            assert str(error)
        else:
            assert info.kind in ("image", "audio", "video")
            assert info.duration_s is None or info.duration_s > 0


# --- bounded probes: pathological files are refused fast, before the work or memory they ask for -


# CPU seconds a refusal may take (CPU, not wall time: the 2-core test machine is shared, and the
# suite runs on both cores). Each took 1 to 75 s, or 290 MB, before the bounds; on an idle machine
# they now take 0.01 to 0.7 s of wall time (bench/upload_probes.py measures them).
FAST_S = 2.0
# Peak memory a probe may add to the process (the bounded ones add under 10 MB).
MEMORY_MB = 64

_PROBE_IN_A_FRESH_PROCESS = """
import json, sys, time
from django.conf import settings
settings.INSTALLED_APPS
from providers.media import MediaError, sniff_and_probe

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

# Reset the peak first: ru_maxrss (and VmHWM) start from the parent's, which survive fork and exec.
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
before = peak_kb()
start = time.monotonic()
try:
    outcome = repr(sniff_and_probe(sys.argv[1]))
except MediaError as error:
    outcome = "MediaError: " + str(error)
seconds = time.monotonic() - start
print(json.dumps({"outcome": outcome, "seconds": seconds, "grew_mb": (peak_kb() - before) / 1024}))
"""


def _probe_elsewhere(path: Path) -> dict:
    """Probe in a fresh interpreter, whose peak RSS before and after the probe tells what it cost."""
    import json
    import subprocess
    import sys

    from django.conf import settings as django_settings

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE_IN_A_FRESH_PROCESS, os.fspath(path)],
        cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _refused_fast(path: Path, match: str) -> None:
    start = time.process_time()
    with pytest.raises(MediaError, match=match):
        sniff_and_probe(path)
    assert time.process_time() - start < FAST_S


@pytest.mark.parametrize("after_data", [False, True], ids=["before-data", "after-data"])
def test_wav_of_millions_of_empty_chunks_is_refused_fast(tmp_path: Path, after_data: bool) -> None:
    """48 MB of 8-byte chunks: our walk (before the data) and FFmpeg's (after it) took 20 to 45 s."""
    path = make_wav_of_empty_chunks(tmp_path / "chunks.wav", 6_000_000, after_data=after_data)
    _refused_fast(path, f"more than {MAX_WAV_CHUNKS} chunks; at most {MAX_WAV_CHUNKS} are accepted")


@pytest.mark.parametrize("after_data", [False, True], ids=["before-data", "after-data"])
def test_wav_with_a_few_chunks_more_is_accepted(tmp_path: Path, after_data: bool) -> None:
    path = make_wav_of_empty_chunks(tmp_path / "chunks.wav", MAX_WAV_CHUNKS - 3, after_data=after_data)
    assert sniff_and_probe(path).duration_s == Decimal("1.000")
    make_wav_of_empty_chunks(path, MAX_WAV_CHUNKS - 1, after_data=after_data)  # fmt + data + these
    with pytest.raises(MediaError, match=f"more than {MAX_WAV_CHUNKS} chunks"):
        sniff_and_probe(path)


@pytest.mark.parametrize(
    ("size", "declared", "match"),
    [
        ((12000, 12000), None, "The video is 12000x12000 pixels; each side must be at most 8192 pixels"),
        ((12000, 12000), (320, 240), "The video is 12000x12000 pixels; each side must be at most 8192"),
        ((8192, 4400), None, r"The video is 8192x4400 pixels; a frame may hold at most 35,389,440 pixels"),
    ],
    ids=["12000-square", "12000-declared-as-320x240", "8192x4400"],
)
def test_video_with_huge_frames_is_refused_before_decoding(
    tmp_path: Path, size: tuple[int, int], declared: tuple[int, int] | None, match: str
) -> None:
    """A 1.7 MB MOV of 12000x12000 frames was accepted and took a worker from 240 MB to 1,090 MB."""
    path = make_mjpeg_mov(tmp_path / "huge.mov", *size, declared=declared)
    _refused_fast(path, match)
    with pytest.raises(MediaError, match=match):
        probe_video(path)  # deliveries from providers obey the same rule


def test_video_at_the_size_bounds_is_accepted(tmp_path: Path) -> None:
    info = sniff_and_probe(make_mjpeg_mov(tmp_path / "tall.mov", 16, 8192, frames=1))
    assert (info.kind, info.width, info.height) == ("video", 16, 8192)


def test_audio_of_too_many_packets_is_refused_fast(tmp_path: Path) -> None:
    """2,000,000 packets of 11 bytes (22 MB of AAC, 71 hours) took 51 s to demux, and were accepted."""
    path = make_adts_of_tiny_packets(tmp_path / "tiny.aac", 2_000_000)
    _refused_fast(path, "The file holds more than 50,000 audio and video packets")


def test_bounded_probes_do_not_grow_the_process(tmp_path: Path) -> None:
    """Each refusal happens before the decoder allocates frames: the process's peak memory stays put."""
    files = [
        make_wav_of_empty_chunks(tmp_path / "chunks.wav", 1_000_000, after_data=True),
        make_mjpeg_mov(tmp_path / "huge.mov", 12000, 12000),
        make_mjpeg_mov(tmp_path / "lying.mov", 12000, 12000, declared=(320, 240)),
        make_adts_of_tiny_packets(tmp_path / "tiny.aac", 60_000),
    ]
    for path in files:
        measured = _probe_elsewhere(path)
        assert measured["outcome"].startswith("MediaError: "), (path.name, measured)
        assert measured["grew_mb"] < MEMORY_MB, (path.name, measured)
