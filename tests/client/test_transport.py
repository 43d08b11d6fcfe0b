"""The client's HTTP behaviour against a tiny local HTTP server that answers as scripted: retries of
429/503 honour Retry-After and keep the POST's Idempotency-Key; errors become typed exceptions with
the field messages; local files in a job's input are refused before anything is sent."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import parley
import pytest
from parley.cli import parse_assignments
from parley.files import collect_files
from parley.transport import retry_after_seconds

JOB = {"id": "7d3c2f0e-0000-4000-8000-000000000001", "object": "job", "model": "local/still", "provider": "local",
       "emulated": False, "livemode": True, "status": "queued", "input": {}, "quote":
       {"amount": "0.03", "currency": "usd", "seconds": 2.6}, "output": None, "charge": None, "error": None,
       "progress": None, "queue_position": 1, "events": [], "created_at": "2026-11-30T01:00:00Z",
       "started_at": None, "completed_at": None}


class Scripted:
    """Answers each request with the next scripted (status, headers, body); records what it got."""

    def __init__(self, answers: list[tuple[int, dict[str, str], object]]) -> None:
        self.answers = list(answers)
        self.requests: list[dict] = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                scripted.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                          "body": body, "at": time.monotonic()})
                status, headers, payload = scripted.answers.pop(0) if scripted.answers else (500, {}, {})
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def scripted() -> Iterator[callable]:
    servers: list[Scripted] = []

    def start(*answers: tuple[int, dict[str, str], object]) -> Scripted:
        servers.append(Scripted(list(answers)))
        return servers[-1]

    yield start
    for server in servers:
        server.server.shutdown()
        server.server.server_close()


def test_a_429_is_retried_after_retry_after_with_the_same_idempotency_key(scripted, tmp_path):
    server = scripted((429, {"Retry-After": "1"}, {"error": {"code": "rate_limited", "message": "Slow down."}}),
                      (201, {}, JOB))
    with parley.Client(api_key="prl_test_x", base_url=server.url) as client:
        job = client.jobs.create(model="local/still", input={"image": "a", "audio": "b"})
    assert job.id == JOB["id"] and job.status == "queued" and str(job.quote.amount) == "0.03"
    first, second = server.requests
    assert second["at"] - first["at"] >= 1.0  # waited as told
    key = first["headers"]["Idempotency-Key"]
    assert key and second["headers"]["Idempotency-Key"] == key
    assert first["headers"]["Authorization"] == "Bearer prl_test_x"
    assert json.loads(second["body"]) == {"model": "local/still", "input": {"image": "a", "audio": "b"}}


ASSET = {"id": "a5e7c0de-0000-4000-8000-000000000002", "object": "asset", "kind": "image",
         "content_type": "image/png", "size_bytes": 9, "width": 1, "height": 1, "duration_s": None,
         "original_name": "face.png", "sha256": "", "created_at": "2026-11-30T01:00:00Z"}


def test_a_retried_upload_sends_the_whole_file_again_and_the_job_gets_its_id(scripted, tmp_path):
    server = scripted((503, {"Retry-After": "0"}, {"error": {"code": "unavailable", "message": "Busy."}}),
                      (201, {}, ASSET), (201, {}, JOB))
    face = tmp_path / "face.png"
    face.write_bytes(b"png-bytes")
    with parley.Client(api_key="k", base_url=server.url) as client:
        client.jobs.create(model="local/still", input={"image": face, "audio": "an-audio-asset-id"})
    first, second, job = server.requests
    assert first["path"] == second["path"] == "/api/v1/assets"
    assert b"png-bytes" in first["body"] and first["body"].count(b"png-bytes") == second["body"].count(b"png-bytes")
    assert b'filename="face.png"' in second["body"]
    assert first["headers"]["Idempotency-Key"] == second["headers"]["Idempotency-Key"]
    assert json.loads(job["body"])["input"] == {"image": ASSET["id"], "audio": "an-audio-asset-id"}


def test_each_call_has_its_own_idempotency_key(scripted):
    server = scripted((201, {}, JOB), (201, {}, JOB))
    with parley.Client(api_key="k", base_url=server.url) as client:
        client.jobs.create(model="local/still", input={})
        client.jobs.create(model="local/still", input={})
    keys = [r["headers"]["Idempotency-Key"] for r in server.requests]
    assert len(set(keys)) == 2


def test_503_without_retry_after_backs_off_then_gives_up_as_a_server_error(scripted):
    error = {"error": {"code": "unavailable", "message": "Try later."}}
    server = scripted(*[(503, {}, error)] * 3)
    waits: list[float] = []
    client = parley.Client(api_key="k", base_url=server.url, max_retries=2, sleep=waits.append)
    with pytest.raises(parley.ServerError) as caught:
        client.jobs.get("x")
    assert caught.value.status == 503 and caught.value.code == "unavailable"
    assert len(server.requests) == 3 and len(waits) == 2 and all(w > 0 for w in waits)
    assert "Idempotency-Key" not in server.requests[0]["headers"]  # a GET needs none


def test_a_wait_longer_than_the_cap_is_not_waited_for(scripted):
    server = scripted((429, {"Retry-After": "3600"}, {"error": {"code": "rate_limited", "message": "Later."}}))
    waits: list[float] = []
    client = parley.Client(api_key="k", base_url=server.url, sleep=waits.append)
    with pytest.raises(parley.RateLimitError) as caught:
        client.jobs.list()
    assert caught.value.retry_after == 3600 and waits == [] and len(server.requests) == 1


def test_connection_errors_are_retried_then_raised():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    client = parley.Client(api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=2, sleep=waits.append)
    with pytest.raises(parley.APIConnectionError):
        client.models.list()
    assert len(waits) == 2


@pytest.mark.parametrize(("status", "cls"), [
    (400, parley.ValidationError), (401, parley.AuthenticationError), (402, parley.PaymentRequiredError),
    (403, parley.PermissionDeniedError), (404, parley.NotFoundError), (409, parley.ConflictError),
])
def test_error_answers_become_their_exception(scripted, status, cls):
    fields = {"input.image": ["This field is required."]} if status == 400 else None
    error = {"code": "some_code", "message": "No.", **({"fields": fields} if fields else {})}
    server = scripted((status, {"X-Request-Id": "req-1"}, {"error": error}))
    with pytest.raises(cls) as caught:
        parley.Client(api_key="k", base_url=server.url).jobs.get("x")
    assert isinstance(caught.value, parley.ParleyError)
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (status, "some_code", "req-1")
    assert caught.value.fields == (fields or {})
    assert len(server.requests) == 1  # never retried


def test_a_missing_local_file_is_refused_before_any_request(scripted, tmp_path):
    server = scripted()
    present = tmp_path / "face.png"
    present.write_bytes(b"x")
    client = parley.Client(api_key="k", base_url=server.url)
    with pytest.raises(parley.ValidationError) as caught:
        client.jobs.create(model="m", input={"image": present, "audio": parley.File(tmp_path / "nope.wav"),
                                             "media": [{"reference_voice": Path(tmp_path / "gone.wav")}]})
    assert set(caught.value.fields) == {"input.audio", "input.media[0].reference_voice"}
    assert server.requests == []


def test_files_are_only_file_markers_and_paths(tmp_path):
    existing = tmp_path / "a.png"
    existing.write_bytes(b"x")
    found = collect_files({"image": parley.File(existing), "audio": existing, "prompt": str(existing)})
    assert [path for path, _ in found] == ["input.image", "input.audio"]  # a str is never a path


def test_cli_assignments():
    schema = {"properties": {"seed": {"type": "integer"}, "scale": {"type": "number"}, "hd": {"type": "boolean"}}}
    parsed = parse_assignments(["image=@face.png", "prompt=hi=there", "seed=7", "scale=1.5", "hd=true",
                                'media:=[{"type": "x"}]', "text=42"], schema)
    assert parsed["image"] == parley.File("face.png")
    assert parsed["prompt"] == "hi=there" and parsed["text"] == "42"
    assert (parsed["seed"], parsed["scale"], parsed["hd"]) == (7, 1.5, True)
    assert parsed["media"] == [{"type": "x"}]


def test_retry_after_as_an_http_date():
    from datetime import datetime

    now = datetime(2026, 11, 30, 1, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Mon, 30 Nov 2026 01:00:05 GMT", now=now) == 5
    assert retry_after_seconds("2", now=now) == 2 and retry_after_seconds("soon", now=now) is None


def test_a_base_url_without_a_scheme_fails_at_once():
    waits: list[float] = []
    with pytest.raises(parley.APIConnectionError) as caught:
        parley.Client(api_key="k", base_url="127.0.0.1:8000", sleep=waits.append).models.list()
    assert "Bad base URL" in str(caught.value) and waits == []
