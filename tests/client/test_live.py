"""The Python client and the ``parley`` command against a live server (the test's live server, real
worker and poller processes, the provider emulator): they upload local files, follow the job to the
end, download a real MP4 (probed with PyAV), and their errors name the field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import httpx
import parley
import pytest

from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.e2e


def _probe(path: Path) -> tuple[float, int, int, bool]:
    """(duration s, width, height, has audio) of an MP4, read by PyAV."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        return (container.duration / av.time_base, video.codec_context.width, video.codec_context.height,
                bool(container.streams.audio))


def test_the_client_makes_videos_and_names_bad_fields(platform, emulator, live_server, member_client, tmp_path):
    workers = platform(PROVIDER_EMULATOR_URL=emulator.url)
    image = make_png(tmp_path / "face.png", width=400, height=300)
    audio = make_wav(tmp_path / "speech.wav", seconds=2.6)
    seen: list[tuple[str, float | None]] = []
    with parley.Client(api_key=member_client.secret, base_url=live_server.url) as client:
        # Paths are uploaded first and replaced by asset ids; wait=True returns the finished job.
        job = client.jobs.create(model="local/still", input={"image": image, "audio": parley.File(audio)},
                                 wait=True, timeout=120, on_update=lambda j: seen.append((j.status, j.progress)))
        assert job.status == "succeeded", (job.error, workers.output())
        assert isinstance(job, parley.Job) and job.output is not None and job.charge is not None
        assert str(job.charge.amount) == "0.03" and abs(job.output.duration_s - 2.6) <= 0.1
        assert seen[0][0] == "queued" and seen[-1][0] == "succeeded"
        assets = {a.id: a for a in client.assets.list()}
        assert {a.kind for a in assets.values()} == {"image", "audio"}
        assert {job.input["image"], job.input["audio"]} == set(assets)  # the job got asset ids
        out = client.jobs.download(job, tmp_path / "still.mp4")
        duration, width, height, has_audio = _probe(out)
        assert abs(duration - 2.6) <= 0.15 and height == 480 and has_audio

        # An emulated provider model, the inputs given as File markers.
        emulated = client.jobs.create(model="wavespeed-ai/wan-2.2/speech-to-video",
                                      input={"image": parley.File(image), "audio": parley.File(audio),
                                             "prompt": "A woman talks", "resolution": "480p"},
                                      wait=True, timeout=120)
        assert emulated.status == "succeeded" and emulated.emulated, (emulated.error, workers.output())
        duration, *_ = _probe(client.jobs.download(emulated.id, tmp_path / "wavespeed.mp4"))
        assert abs(duration - 2.6) <= 0.15

        # Reads: the list (newest first), one job, the catalogue, the month's usage, a quote.
        page = client.jobs.list(limit=1)
        assert [j.id for j in page] == [emulated.id] and page.next_cursor
        assert [j.id for j in client.jobs.list(limit=1, cursor=page.next_cursor)] == [job.id]
        assert [j.id for j in client.jobs.iterate(page_size=1)] == [emulated.id, job.id]
        assert client.jobs.get(job.id).status == "succeeded"
        assert "local/still" in {m.id for m in client.models.list()}
        usage = client.usage(group_by="model")
        assert {g.key: g.jobs for g in usage.groups}["local/still"] == 1
        quote = client.quotes.create(model="local/still", input={"image": job.input["image"],
                                                                 "audio": job.input["audio"]})
        assert str(quote.amount) == "0.03"

        # Errors are exceptions naming the field.
        with pytest.raises(parley.ValidationError) as bad:
            client.jobs.create(model="local/still", input={"image": job.input["audio"], "audio": audio})
        assert bad.value.status == 400 and "input.image" in bad.value.fields, bad.value.fields
        with pytest.raises(parley.ValidationError) as missing:
            client.jobs.create(model="local/still", input={"audio": audio})
        assert "input.image" in missing.value.fields
        with pytest.raises(parley.NotFoundError):
            client.jobs.get("00000000-0000-4000-8000-000000000000")
        with pytest.raises(parley.ConflictError):
            client.jobs.cancel(job)
    with pytest.raises(parley.AuthenticationError):
        parley.Client(api_key="prl_live_wrong", base_url=live_server.url).models.list()


def _parley(*args: str, key: str, url: str, cwd: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("parley")  # the console script `pip install -e client/` made
    command = [str(script)] if script.exists() else [sys.executable, "-m", "parley"]
    env = {**os.environ, "PARLEY_API_KEY": key, "PARLEY_BASE_URL": url}
    return subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def test_the_cli_runs_a_model_to_an_mp4(platform, emulator, live_server, member_client, tmp_path):
    workers = platform(PROVIDER_EMULATOR_URL=emulator.url)
    make_png(tmp_path / "photo.png", width=480, height=360)
    make_wav(tmp_path / "voice.wav", seconds=3.2)
    key, url = member_client.secret, live_server.url

    done = _parley("run", "wavespeed-ai/wan-2.1/multitalk", "image=@photo.png", "audio=@voice.wav",
                   "prompt=A man talks", "seed=7", "--out", "video.mp4", key=key, url=url, cwd=tmp_path)
    assert done.returncode == 0, (done.stderr, workers.output())
    duration, width, height, _ = _probe(tmp_path / "video.mp4")
    assert abs(duration - 3.2) <= 0.15 and width > 0 and height > 0
    # the progress bar followed the job on stderr: queued, running, downloading
    for stage in ("queued", "running", "downloading", "succeeded"):
        assert stage in done.stderr, done.stderr
    job_id = done.stdout.split()[0]

    listed = _parley("jobs", "list", "--json", key=key, url=url, cwd=tmp_path)
    assert listed.returncode == 0 and [j["id"] for j in json.loads(listed.stdout)["results"]] == [job_id]
    got = _parley("jobs", "get", job_id, key=key, url=url, cwd=tmp_path)
    body = json.loads(got.stdout)
    assert body["status"] == "succeeded" and body["input"]["seed"] == 7  # "seed=7" sent as the schema's integer
    models = _parley("models", key=key, url=url, cwd=tmp_path)
    assert models.returncode == 0 and "wavespeed-ai/wan-2.1/multitalk" in models.stdout
    usage = _parley("usage", "--group-by", "model", key=key, url=url, cwd=tmp_path)
    assert usage.returncode == 0 and "wavespeed-ai/wan-2.1/multitalk" in usage.stdout, usage.stdout

    # A bad input: non-zero exit, and the field's message on stderr.
    bad = _parley("run", "local/still", "audio=@voice.wav", "--out", "x.mp4", key=key, url=url, cwd=tmp_path)
    assert bad.returncode == 1 and "input.image" in bad.stderr, bad.stderr
    assert not (tmp_path / "x.mp4").exists()
    typo = _parley("run", "local/still", "image=@nope.png", "audio=@voice.wav", key=key, url=url, cwd=tmp_path)
    assert typo.returncode == 1 and "input.image" in typo.stderr and "nope.png" in typo.stderr
    unknown = _parley("jobs", "get", "00000000-0000-4000-8000-000000000000", key=key, url=url, cwd=tmp_path)
    assert unknown.returncode == 1 and "404" in unknown.stderr

    # A job the provider fails: exit 3 with the job's error, and no file.
    httpx.post(f"{emulator.url}/_emulator/faults", json={"provider": "wavespeed", "fail_task": 1}).raise_for_status()
    failed = _parley("run", "wavespeed-ai/wan-2.1/multitalk", "image=@photo.png", "audio=@voice.wav",
                     "--out", "failed.mp4", key=key, url=url, cwd=tmp_path)
    assert failed.returncode == 3, (failed.stdout, failed.stderr, workers.output())
    assert "failed" in failed.stdout and "failed" in failed.stderr.splitlines()[-1]
    assert not (tmp_path / "failed.mp4").exists()

    # Waiting longer than --timeout: exit 4, the job id given to follow it later.
    slow = _parley("run", "local/still", "image=@photo.png", "audio=@voice.wav", "--timeout", "0.2",
                   key=key, url=url, cwd=tmp_path)
    assert slow.returncode == 4 and "parley jobs get" in slow.stderr, slow.stderr
