"""POST /api/v1/assets with files built to make the probe slow or greedy: each is refused fast with
the JSON error shape on the field ``file``, naming the limit, and nothing is stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jobs.models import Asset
from providers.media import MAX_VIDEO_PIXELS, MAX_VIDEO_SIDE, MAX_WAV_CHUNKS
from tests.media_fixtures import (
    make_adts_of_tiny_packets,
    make_mjpeg_mov,
    make_mp4,
    make_wav_of_empty_chunks,
)

# CPU seconds the whole request may take, the test client's multipart encoding included (CPU, not
# wall time: the 2-core test machine is shared). The probe alone takes 0.01 to 0.7 s on an idle one.
FAST_S = 3.0

PATHOLOGICAL: dict[str, tuple[Callable[[Path], Path], str]] = {
    "wav-of-2M-empty-chunks": (
        lambda folder: make_wav_of_empty_chunks(folder / "chunks.wav", 2_000_000),
        f"The WAV file is made of more than {MAX_WAV_CHUNKS} chunks; at most {MAX_WAV_CHUNKS} are accepted.",
    ),
    "wav-with-2M-empty-chunks-after-its-data": (
        lambda folder: make_wav_of_empty_chunks(folder / "chunks.wav", 2_000_000, after_data=True),
        f"The WAV file is made of more than {MAX_WAV_CHUNKS} chunks; at most {MAX_WAV_CHUNKS} are accepted.",
    ),
    "mov-of-12000x12000-frames": (
        lambda folder: make_mjpeg_mov(folder / "huge.mov", 12000, 12000),
        f"The video is 12000x12000 pixels; each side must be at most {MAX_VIDEO_SIDE} pixels.",
    ),
    "mov-of-8192x4400-frames": (
        lambda folder: make_mjpeg_mov(folder / "wide.mov", 8192, 4400, frames=1),
        f"The video is 8192x4400 pixels; a frame may hold at most {MAX_VIDEO_PIXELS:,} pixels (8192x4320).",
    ),
    "aac-of-1M-tiny-packets": (
        lambda folder: make_adts_of_tiny_packets(folder / "tiny.aac", 1_000_000),
        "The file holds more than 50,000 audio and video packets; please send a shorter file.",
    ),
}


def _post(client, path: Path):
    with open(path, "rb") as fh:
        start = time.process_time()
        response = client.post("/api/v1/assets", {"file": fh}, format="multipart")
    return response, time.process_time() - start


def _assert_refused(response, message: str) -> None:
    assert response.status_code == 400, response.content
    assert response.json() == {
        "error": {"code": "invalid", "message": f"file: {message}", "fields": {"file": [message]}}
    }
    assert not Asset.objects.exists()


@pytest.mark.parametrize("case", list(PATHOLOGICAL))
def test_pathological_upload_is_refused_fast_naming_the_limit(member_client, tmp_path, case):
    build, message = PATHOLOGICAL[case]
    response, seconds = _post(member_client, build(tmp_path))
    _assert_refused(response, message)
    assert seconds < FAST_S, seconds


def test_a_probe_over_its_time_budget_is_refused(member_client, tmp_path, settings):
    settings.MEDIA_PROBE_TIME_BUDGET_S = 0.001
    response, _ = _post(member_client, make_mp4(tmp_path / "clip.mp4", seconds=1.0, width=64, height=64))
    _assert_refused(
        response, "The file took too long to check (the limit is 0.001 seconds); please send a shorter or simpler file."
    )


def test_the_packet_cap_is_a_setting(member_client, tmp_path, settings):
    settings.MEDIA_PROBE_MAX_PACKETS = 20  # a one-second MP4 holds 25 frames and 22 AAC packets
    path = make_mp4(tmp_path / "clip.mp4", seconds=1.0, width=64, height=64)
    response, _ = _post(member_client, path)
    _assert_refused(response, "The file holds more than 20 audio and video packets; please send a shorter file.")

    settings.MEDIA_PROBE_MAX_PACKETS = 100
    response, _ = _post(member_client, path)
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "video"
