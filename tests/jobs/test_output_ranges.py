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


HUGE = "9" * 4301  # one digit past Python's int-from-string limit (4300 digits)


@pytest.fixture
def output_get(api_client, dashboard_login, tenant, done):
    """output_get(surface, range header) -> the response of the API's or the dashboard's output URL."""
    job, _ = done
    clients = {"api": (api_client(Role.VIEWER), f"/api/v1/jobs/{job.id}/output"),
               "dashboard": (dashboard_login(tenant, Role.VIEWER), f"/jobs/{job.id}/output")}

    def get(surface: str, header: str):  # noqa: ANN202
        client, url = clients[surface]
        return client.get(url, HTTP_RANGE=header)

    return get


@pytest.mark.parametrize("surface", ["api", "dashboard"])
def test_huge_numbers_in_a_range_are_answered_by_rfc_9110_not_a_500(output_get, done, surface):
    """A first position past any file is unsatisfiable (416); a last position or a suffix past the
    end stands for the end of the file (RFC 9110, 14.1.2), however many digits it has."""
    _, data = done
    size = len(data)
    past = output_get(surface, f"bytes={HUGE}-")
    assert past.status_code == 416 and past["Content-Range"] == f"bytes */{size}"
    past_both = output_get(surface, f"bytes={HUGE}-{HUGE}")
    assert past_both.status_code == 416 and past_both["Content-Range"] == f"bytes */{size}"
    for header in (f"bytes=0-{HUGE}", f"bytes=-{HUGE}"):
        whole = output_get(surface, header)
        assert whole.status_code == 206, header
        assert _body(whole) == data and whole["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    padded = output_get(surface, f"bytes={'0' * 5000}1-{'0' * 5000}2")
    assert padded.status_code == 206 and _body(padded) == data[1:3]


@pytest.mark.parametrize("header", ["bytes=5-2", "bytes=--1", "bytes=1-2,4-5", "items=0-1", "bytes=\u0661-\u0662",
                                    "bytes=0x10-", "bytes=", "bytes=-"])
def test_a_range_the_server_cannot_use_is_ignored_or_416_never_a_500(output_get, done, header):
    """RFC 9110 lets a server ignore a Range it does not support or cannot parse (the whole file,
    200); a syntactically valid one that no byte satisfies is a 416."""
    _, data = done
    for surface in ("api", "dashboard"):
        response = output_get(surface, header)
        assert response.status_code in (200, 416), (surface, header, response.status_code)
        if response.status_code == 200:
            assert _body(response) == data
        else:
            assert response["Content-Range"] == f"bytes */{len(data)}"
