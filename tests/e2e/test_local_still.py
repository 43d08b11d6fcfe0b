"""End to end over the real API with a real key: upload, create, a real worker runs it, a real
MP4 comes out and is metered once. On SQLite + ORM broker locally; on PostgreSQL + Redis in CI."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import UsageRecord
from billing.pricing import price_for_tenant
from jobs.models import Job
from providers.catalogue import catalogue_get
from providers.media import probe_video
from tests.conftest import upload, wait_for
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.e2e


def test_local_still_end_to_end(platform, member_client, tenant, tmp_path):
    workers = platform()
    image = upload(member_client, make_png(tmp_path / "face.png", width=400, height=300))
    audio = upload(member_client, make_wav(tmp_path / "speech.wav", seconds=2.6))
    assert image["kind"] == "image" and (image["width"], image["height"]) == (400, 300)
    assert audio["kind"] == "audio" and abs(audio["duration_s"] - 2.6) < 0.01

    response = member_client.post(
        "/api/v1/jobs", {"model": "local/still", "input": {"image": image["id"], "audio": audio["id"]}},
        format="json",
    )
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "queued" and job["output"] is None
    assert job["quote"] == {"amount": "0.03", "currency": "usd", "seconds": 2.6}

    def finished():
        body = member_client.get(f"/api/v1/jobs/{job['id']}").json()
        return body if body["status"] in ("succeeded", "failed", "canceled") else None

    body = wait_for(finished, timeout=90, message="the job to finish", on_timeout=workers.output)
    assert body["status"] == "succeeded", (body["error"], workers.output())
    assert [e["to_status"] for e in body["events"] if e["from_status"] != e["to_status"]] == [
        "submitting", "running", "finalizing", "succeeded",
    ]
    assert body["output"]["url"].endswith(f"/api/v1/jobs/{job['id']}/output")
    assert abs(body["output"]["duration_s"] - 2.6) <= 0.1
    assert body["output"]["height"] == 480

    video = member_client.get(f"/api/v1/jobs/{job['id']}/output")
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"
    out = tmp_path / "out.mp4"
    out.write_bytes(b"".join(video.streaming_content) if video.streaming else video.content)
    info = probe_video(out)
    assert abs(info.duration_s - Decimal("2.6")) <= Decimal("0.1") and info.has_audio

    records = UsageRecord.objects.filter(job_id=job["id"])
    assert records.count() == 1
    record = records.get()
    expected = price_for_tenant(rule=catalogue_get(model_id="local/still").pricing, inputs={},
                                seconds=record.seconds, price_multiplier=tenant.price_multiplier)
    assert record.amount == expected.amount == Decimal("0.03")  # 2.6 s -> 3 started seconds x $0.01
    assert body["charge"]["amount"] == "0.03"
    assert Job.objects.get(pk=job["id"]).output_duration_s == record.seconds


def test_output_is_downloadable_only_when_succeeded(member_client, png_file, wav_file):
    image = upload(member_client, png_file)
    audio = upload(member_client, wav_file)
    job = member_client.post(
        "/api/v1/jobs", {"model": "local/still", "input": {"image": image["id"], "audio": audio["id"]}}, format="json"
    ).json()
    response = member_client.get(f"/api/v1/jobs/{job['id']}/output")
    assert response.status_code == 409 and response.json()["error"]["code"] == "job_not_finished"
