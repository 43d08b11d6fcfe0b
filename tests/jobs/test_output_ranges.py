"""The output video answers byte ranges, so the dashboard's player (and API clients) can seek."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files import File

from accounts.models import Role
from jobs.models import Job, JobStatus
from tests.media_fixtures import make_mp4


@pytest.fixture
def done(tenant, tmp_path) -> tuple[Job, bytes]:
    video = make_mp4(tmp_path / "out.mp4", seconds=1.0)
    job = Job(tenant=tenant, model_id="local/still", provider="local", status=JobStatus.SUCCEEDED, input={},
              quote_seconds=Decimal("1"), quote_amount=Decimal("0.01"))
    with open(video, "rb") as fh:
        job.output.save("out.mp4", File(fh), save=False)
    job.save(force_insert=True)
    return job, Path(video).read_bytes()


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize(("header", "start", "end"), [("bytes=0-99", 0, 99), ("bytes=100-", 100, None),
                                                      ("bytes=-50", -50, None)])
def test_api_output_serves_ranges(api_client, done, header, start, end):
    job, data = done
    response = api_client(Role.VIEWER).get(f"/api/v1/jobs/{job.id}/output", HTTP_RANGE=header)
    assert response.status_code == 206
    expected = data[start:] if end is None else data[start:end + 1]
    assert _body(response) == expected
    first = start if start >= 0 else len(data) + start
    assert response["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"


def test_whole_file_and_unsatisfiable_range(api_client, done):
    job, data = done
    client = api_client(Role.VIEWER)
    whole = client.get(f"/api/v1/jobs/{job.id}/output")
    assert whole.status_code == 200 and _body(whole) == data and whole["Accept-Ranges"] == "bytes"
    past = client.get(f"/api/v1/jobs/{job.id}/output", HTTP_RANGE=f"bytes={len(data) + 10}-")
    assert past.status_code == 416 and past["Content-Range"] == f"bytes */{len(data)}"
