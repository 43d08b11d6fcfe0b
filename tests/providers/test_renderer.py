"""providers.renderer: a real H.264/AAC MP4 as long as the audio, with a picture that moves."""

from __future__ import annotations

import os
import struct
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from providers.media import MediaError, probe_video
from providers.renderer import RenderResult, render_still_video
from tests.media_fixtures import make_jpeg, make_mp3, make_png, make_wav

TOLERANCE = Decimal("0.05")


def _tracks(path: Path) -> dict[str, tuple[str, Fraction]]:
    """codec name and duration (s) of each track, by type."""
    with av.open(os.fspath(path)) as container:
        return {
            stream.type: (stream.codec_context.name, Fraction(stream.duration) * stream.time_base)
            for stream in container.streams
        }


def _top_level_boxes(path: Path) -> list[bytes]:
    boxes, offset, size = [], 0, path.stat().st_size
    with open(path, "rb") as f:
        while offset < size:
            f.seek(offset)
            box_size, box_type = struct.unpack(">I4s", f.read(8))
            boxes.append(box_type)
            offset += box_size
    return boxes


@pytest.fixture
def image(tmp_path: Path) -> Path:
    return make_jpeg(tmp_path / "face.jpg", width=320, height=240)


@pytest.mark.parametrize("seconds", [1.0, 3.3, 7.0])
def test_output_is_h264_aac_as_long_as_the_audio(tmp_path: Path, image: Path, seconds: float) -> None:
    audio = make_wav(tmp_path / "speech.wav", seconds=seconds)
    out = tmp_path / "out.mp4"

    result = render_still_video(image_path=image, audio_path=str(audio), out_path=out)

    info = probe_video(out)
    assert info.kind == "video" and info.has_audio
    assert abs(info.duration_s - Decimal(str(seconds))) <= TOLERANCE
    # round(duration * fps), halves up: 3.3 s at 25 fps is 82.5 -> 83 frames
    assert info.frames == result.frames == int((Decimal(str(seconds)) * 25).to_integral_value(ROUND_HALF_UP))
    assert info.fps == Decimal("25.000")
    tracks = _tracks(out)
    assert tracks["video"][0] == "h264"
    assert tracks["audio"][0] == "aac"
    assert abs(tracks["audio"][1] - Fraction(str(seconds))) <= Fraction(1, 20)
    assert result == RenderResult(
        path=str(out),
        duration_s=info.duration_s,
        width=320 * 480 // 240,
        height=480,
        frames=info.frames,
        fps=25,
    )


def test_mp4_is_streamable_yuv420p_at_44100_stereo(tmp_path: Path, image: Path) -> None:
    out = tmp_path / "out.mp4"
    render_still_video(image_path=image, audio_path=make_wav(tmp_path / "a.wav", seconds=1.0), out_path=out)

    boxes = _top_level_boxes(out)
    assert boxes.index(b"moov") < boxes.index(b"mdat"), "faststart: the index comes before the data"
    with av.open(os.fspath(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (audio.codec_context.sample_rate, audio.codec_context.channels) == (44100, 2)


def test_720p(tmp_path: Path, image: Path) -> None:
    out = tmp_path / "out.mp4"

    result = render_still_video(
        image_path=image,
        audio_path=make_wav(tmp_path / "a.wav", seconds=1.0),
        out_path=out,
        resolution="720p",
    )

    info = probe_video(out)
    assert (info.width, info.height) == (result.width, result.height) == (960, 720)


@pytest.mark.parametrize(("requested", "audio_seconds"), [(Decimal("4.2"), 2.0), (1.5, 3.0)])
def test_duration_override_pads_or_cuts_the_audio(
    tmp_path: Path, image: Path, requested: Decimal | float, audio_seconds: float
) -> None:
    out = tmp_path / "out.mp4"

    result = render_still_video(
        image_path=image,
        audio_path=make_wav(tmp_path / "a.wav", seconds=audio_seconds),
        out_path=out,
        duration_s=requested,
    )

    expected = Decimal(str(requested))
    assert abs(probe_video(out).duration_s - expected) <= TOLERANCE
    assert abs(result.duration_s - expected) <= TOLERANCE
    assert abs(_tracks(out)["audio"][1] - Fraction(str(requested))) <= Fraction(1, 20)


def test_without_audio_the_track_is_silent_but_present(tmp_path: Path, image: Path) -> None:
    out = tmp_path / "out.mp4"

    render_still_video(image_path=image, audio_path=None, out_path=out, duration_s=2)

    info = probe_video(out)
    assert info.has_audio
    assert abs(info.duration_s - 2) <= TOLERANCE
    with av.open(os.fspath(out)) as container:
        peak = max(
            max(abs(v) for v in memoryview(bytes(frame.planes[0])).cast("f"))
            for frame in container.decode(audio=0)
        )
    assert peak < 1e-3


def test_without_audio_a_duration_is_required(tmp_path: Path, image: Path) -> None:
    with pytest.raises(ValueError, match="duration_s is required"):
        render_still_video(image_path=image, audio_path=None, out_path=tmp_path / "out.mp4")


def test_the_picture_moves(tmp_path: Path, image: Path) -> None:
    out = tmp_path / "out.mp4"
    render_still_video(image_path=image, audio_path=make_wav(tmp_path / "a.wav", seconds=2.0), out_path=out)

    with av.open(os.fspath(out)) as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]

    def difference(a, b) -> float:
        return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean)

    assert difference(frames[0], frames[-1]) > 2.0, "first and last frames should clearly differ"
    assert difference(frames[0], frames[1]) > 0, "even consecutive frames move a little"


def test_odd_sized_image(tmp_path: Path) -> None:
    image = make_png(tmp_path / "odd.png", width=333, height=251)
    out = tmp_path / "out.mp4"

    result = render_still_video(
        image_path=image, audio_path=make_wav(tmp_path / "a.wav", seconds=1.0), out_path=out
    )

    info = probe_video(out)
    assert (info.width, info.height) == (result.width, result.height) == (636, 480)  # 480*333/251 = 636.8
    assert info.width % 2 == 0


@pytest.mark.parametrize(
    ("width", "height", "expected_width"), [(240, 320, 360), (8000, 400, 1920), (16, 4000, 2)]
)
def test_width_follows_the_aspect_ratio_and_is_clamped(
    tmp_path: Path, width: int, height: int, expected_width: int
) -> None:
    image = make_png(tmp_path / "img.png", width=width, height=height)

    result = render_still_video(
        image_path=image, audio_path=None, out_path=tmp_path / "out.mp4", duration_s=0.2
    )

    assert (result.width, result.height) == (expected_width, 480)
    assert probe_video(tmp_path / "out.mp4").width == expected_width


def test_mp3_audio(tmp_path: Path, image: Path) -> None:
    out = tmp_path / "out.mp4"

    render_still_video(image_path=image, audio_path=make_mp3(tmp_path / "a.mp3", seconds=2.0), out_path=out)

    assert abs(probe_video(out).duration_s - 2) <= TOLERANCE


def test_transparent_png(tmp_path: Path) -> None:
    path = tmp_path / "logo.png"
    Image.new("RGBA", (200, 100), (255, 0, 0, 0)).save(path)

    render_still_video(image_path=path, audio_path=None, out_path=tmp_path / "out.mp4", duration_s=0.4)

    with av.open(os.fspath(tmp_path / "out.mp4")) as container:
        first = next(container.decode(video=0)).to_image()
    assert min(first.getpixel((first.width // 2, first.height // 2))) > 200  # flattened onto white


def test_unreadable_inputs_raise_media_error_and_leave_nothing(tmp_path: Path, image: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n" * 10)
    out = tmp_path / "out.mp4"

    with pytest.raises(MediaError):
        render_still_video(image_path=image, audio_path=text, out_path=out)
    with pytest.raises(MediaError):
        render_still_video(image_path=text, audio_path=make_wav(tmp_path / "a.wav"), out_path=out)
    with pytest.raises(MediaError, match="must be a PNG, JPEG"):
        render_still_video(
            image_path=make_wav(tmp_path / "b.wav"), audio_path=None, out_path=out, duration_s=1
        )

    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.wav", "face.jpg", "notes.wav"]


@pytest.mark.parametrize(
    "bad", [{"resolution": "1080p"}, {"fps": 0}, {"duration_s": -1}, {"duration_s": "x"}]
)
def test_bad_arguments(tmp_path: Path, image: Path, bad: dict) -> None:
    arguments = {"image_path": image, "audio_path": None, "out_path": tmp_path / "out.mp4", "duration_s": 1}
    arguments.update(bad)

    with pytest.raises(ValueError):
        render_still_video(**arguments)
    assert not (tmp_path / "out.mp4").exists()
