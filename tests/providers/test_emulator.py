"""The provider emulator over real HTTP: raw httpx against ``start_emulator`` on an ephemeral port,
inputs served by a small stdlib HTTP server (which also receives the webhooks).

Each provider: submit -> poll -> a downloadable MP4 of the expected length; auth failures; bad
parameters; cancel; webhooks with verified signatures; every fault; the concurrency cap.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from providers.emulator import EmulatorConfig, RunningEmulator, start_emulator
from providers.media import MediaInfo, sniff_and_probe
from tests.media_fixtures import make_mp4, make_png, make_wav

KEY = "test-emulator-key"
SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldA=="
FAL_USER = "user-123"
AUDIO_S = Decimal("1.000")
DS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")

WS_MODELS = ("wavespeed-ai/wan-2.1/multitalk", "wavespeed-ai/wan-2.2/speech-to-video", "wavespeed-ai/hunyuan-avatar")
DS_SUBMIT = "/services/aigc/video-generation/video-synthesis"
TLS = ssl.create_default_context()  # shared: building one per httpx client is slow


# --- the inputs server (files + webhook receiver) -------------------------------------------------


class InputsServer:
    """Serves ``/files/<name>`` from a folder and records POSTs to ``/hooks/<name>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.gets: list[str] = []
        self.hooks: dict[str, list[dict[str, Any]]] = {}
        self.hook_statuses: dict[str, list[int]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with outer.lock:
                    outer.gets.append(self.path)
                path = outer.root / self.path.removeprefix("/files/").split("?")[0]
                if not self.path.startswith("/files/") or not path.is_file():
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                name = self.path.removeprefix("/hooks/")
                with outer.lock:
                    statuses = outer.hook_statuses.get(name) or []
                    status = statuses.pop(0) if statuses else 200
                    outer.hooks.setdefault(name, []).append(
                        {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "status": status}
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def file(self, name: str) -> str:
        return f"{self.url}/files/{name}"

    def new_hook(self, *statuses: int) -> tuple[str, str]:
        name = uuid.uuid4().hex
        with self.lock:
            self.hook_statuses[name] = list(statuses)
        return name, f"{self.url}/hooks/{name}"

    def received(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.hooks.get(name, []))

    def wait_hooks(self, name: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        return wait_until(lambda: (lambda got: got if len(got) >= count else None)(self.received(name)), timeout)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InputsServer]:
    root = tmp_path_factory.mktemp("emulator-inputs")
    make_png(root / "face.png")
    make_wav(root / "voice.wav", seconds=float(AUDIO_S))
    make_mp4(root / "clip.mp4", seconds=1.0)
    (root / "notes.txt").write_text("not an image")
    server = InputsServer(root)
    yield server
    server.server.shutdown()
    server.server.server_close()


# --- helpers ------------------------------------------------------------------------------------


def config(**overrides: Any) -> EmulatorConfig:
    values: dict[str, Any] = {
        "api_key": KEY, "webhook_secret": SECRET, "fal_user_id": FAL_USER, "queued_s": 0.05, "running_s": 0.2,
        "webhook_backoff_s": 0.05,
    }
    values.update(overrides)
    return EmulatorConfig(**values)


@contextlib.contextmanager
def running(**overrides: Any) -> Iterator[RunningEmulator]:
    emulator = start_emulator(config(**overrides))
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def em() -> Iterator[RunningEmulator]:
    with running() as emulator:
        yield emulator


class Api:
    """httpx clients speaking to the emulator as each provider's client would."""

    def __init__(self, emulator: RunningEmulator) -> None:
        self.emulator = emulator
        url = emulator.url
        self.ws = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10, verify=TLS)
        self.fal = httpx.Client(base_url=url, headers={"Authorization": f"Key {KEY}"}, timeout=10, verify=TLS)
        self.ds = httpx.Client(
            base_url=emulator.base_urls["dashscope"],
            headers={"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable"},
            timeout=10,
            verify=TLS,
        )
        self.raw = httpx.Client(base_url=url, timeout=10, verify=TLS)

    def close(self) -> None:
        for client in (self.ws, self.fal, self.ds, self.raw):
            client.close()

    # WaveSpeed
    def ws_submit(self, model: str, body: dict[str, Any], **params: str) -> httpx.Response:
        return self.ws.post(f"/api/v3/{model}", json=body, params=params)

    def ws_wait(self, get_url: str, seen: list[str] | None = None, timeout: float = 15) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            data = self.ws.get(get_url).json()["data"]
            if seen is not None and (not seen or seen[-1] != data["status"]):
                seen.append(data["status"])
            return data if data["status"] in ("completed", "failed", "cancelled") else None

        return wait_until(done, timeout)

    # fal
    def fal_wait(self, status_url: str, seen: list[str] | None = None, timeout: float = 15) -> httpx.Response:
        def done() -> httpx.Response | None:
            response = self.fal.get(status_url, params={"logs": "1"})
            word = response.json()["status"]
            if seen is not None and (not seen or seen[-1] != word):
                seen.append(word)
            return response if word == "COMPLETED" else None

        return wait_until(done, timeout)

    # DashScope
    def ds_wait(self, task_id: str, seen: list[str] | None = None, timeout: float = 60) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            answer = self.ds.get(f"/tasks/{task_id}").json()
            word = answer["output"]["task_status"]
            if seen is not None and (not seen or seen[-1] != word):
                seen.append(word)
            return answer if word in ("SUCCEEDED", "FAILED", "CANCELED") else None

        return wait_until(done, timeout)


@pytest.fixture
def api(em: RunningEmulator) -> Iterator[Api]:
    client = Api(em)
    yield client
    client.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 10, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def download(url: str, method: str = "GET") -> httpx.Response:
    return httpx.request(method, url, timeout=10, verify=TLS)


def probe_output(url: str, tmp_path: Path) -> MediaInfo:
    response = download(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    path = tmp_path / f"{uuid.uuid4().hex}.mp4"
    path.write_bytes(response.content)
    info = sniff_and_probe(path)
    assert info.kind == "video"
    return info


def ws_body(inputs: InputsServer, **extra: Any) -> dict[str, Any]:
    return {"image": inputs.file("face.png"), "audio": inputs.file("voice.wav"), **extra}


def fal_body(endpoint: str, inputs: InputsServer, **extra: Any) -> dict[str, Any]:
    image, audio = inputs.file("face.png"), inputs.file("voice.wav")
    body: dict[str, Any] = {
        "fal-ai/ai-avatar": {"image_url": image, "audio_url": audio, "prompt": "A person talking."},
        "fal-ai/ai-avatar/multi": {"image_url": image, "first_audio_url": audio, "second_audio_url": audio,
                                   "prompt": "Two people talking."},
        "fal-ai/ai-avatar/single-text": {"image_url": image, "text_input": "Hello there.", "voice": "Bill",
                                         "prompt": "A person talking."},
        "fal-ai/ai-avatar/multi-text": {"image_url": image, "first_text_input": "Hi.", "second_text_input": "Hello.",
                                        "prompt": "Two people talking."},
    }[endpoint]
    body.update(extra)
    return body


def ds_body(inputs: InputsServer, *, media: list[dict[str, Any]] | None = None, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "wan2.7-r2v",
        "input": {
            "prompt": "Image 1 says hello.",
            "media": media if media is not None else [
                {"type": "reference_image", "url": inputs.file("face.png"), "reference_voice": inputs.file("voice.wav")}
            ],
        },
    }
    if parameters:
        body["parameters"] = parameters
    return body


def verify_wavespeed(hook: dict[str, Any]) -> None:
    """The receiver's side of WaveSpeed's scheme (*public*): v3,<hex HMAC-SHA256> of id.ts.body."""
    headers = hook["headers"]
    key = SECRET.removeprefix("whsec_").encode()
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + hook["body"]
    expected = "v3," + hmac.new(key, signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["webhook-signature"], expected)
    assert abs(time.time() - int(headers["webhook-timestamp"])) < 300


def verify_fal(hook: dict[str, Any], jwks: dict[str, Any]) -> None:
    """The receiver's side of fal's scheme (*public*), against the served JWKS."""
    headers = hook["headers"]
    (jwk,) = jwks["keys"]
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4)))
    message = "\n".join([
        headers["x-fal-webhook-request-id"], headers["x-fal-webhook-user-id"], headers["x-fal-webhook-timestamp"],
        hashlib.sha256(hook["body"]).hexdigest(),
    ]).encode()
    key.verify(bytes.fromhex(headers["x-fal-webhook-signature"]), message)  # raises InvalidSignature


# --- WaveSpeed ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "resolution", "height"), [
    (WS_MODELS[0], None, 480), (WS_MODELS[1], "720p", 720), (WS_MODELS[2], "480p", 480),
])
def test_wavespeed_happy_path(api: Api, inputs: InputsServer, tmp_path: Path, model: str, resolution: str | None,
                              height: int) -> None:
    body = ws_body(inputs, prompt="hello", seed=7, **({"resolution": resolution} if resolution else {}))
    response = api.ws_submit(model, body)
    assert response.status_code == 200
    envelope = response.json()
    assert (envelope["code"], envelope["message"]) == (200, "success")
    data = envelope["data"]
    assert data["model"] == model and data["status"] == "created"
    assert data["outputs"] == [] and data["has_nsfw_contents"] == [] and data["error"] == ""
    assert data["urls"]["get"] == f"{api.emulator.url}/api/v3/predictions/{data['id']}/result"
    assert data["timings"] == {"inference": 0}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", data["created_at"])

    seen: list[str] = ["created"]
    final = api.ws_wait(data["urls"]["get"], seen)
    assert seen == ["created", "processing", "completed"]
    assert final["has_nsfw_contents"] == [False] and final["timings"]["inference"] > 0
    info = probe_output(final["outputs"][0], tmp_path)
    assert info.duration_s == AUDIO_S  # the video is as long as the audio
    assert info.height == height
    # The other documented read path answers the same prediction.
    assert api.ws.get(f"/api/v3/predictions/{data['id']}").json()["data"]["outputs"] == final["outputs"]
    # The emulator really downloaded both inputs from the inputs server.
    assert {"/files/face.png", "/files/voice.wav"} <= set(inputs.gets)


def test_wavespeed_request_log_has_exactly_what_was_sent(api: Api, inputs: InputsServer) -> None:
    body = ws_body(inputs, prompt="p")
    api.ws_submit(WS_MODELS[0], body, webhook="http://example.invalid/hook")
    (entry,) = api.emulator.requests
    assert entry["provider"] == "wavespeed" and entry["method"] == "POST"
    assert entry["path"] == f"/api/v3/{WS_MODELS[0]}"
    assert entry["json"] == body
    assert entry["query"] == {"webhook": "http://example.invalid/hook"}
    assert entry["headers"]["authorization"] == f"Bearer {KEY}"
    assert entry["status"] == 200 and entry["fault"] is None


def test_wavespeed_accepts_data_uri_inputs(api: Api, inputs: InputsServer, tmp_path: Path) -> None:
    png = (inputs.root / "face.png").read_bytes()
    body = ws_body(inputs, image="data:image/png;base64," + base64.b64encode(png).decode())
    data = api.ws_submit(WS_MODELS[0], body).json()["data"]
    final = api.ws_wait(data["urls"]["get"])
    assert final["status"] == "completed"
    assert probe_output(final["outputs"][0], tmp_path).duration_s == AUDIO_S


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Key {KEY}"}])
def test_wavespeed_auth_failure(api: Api, inputs: InputsServer, headers: dict[str, str]) -> None:
    response = api.raw.post(f"/api/v3/{WS_MODELS[0]}", json=ws_body(inputs), headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == 401 and response.json()["data"] is None
    assert api.emulator.tasks == {}


@pytest.mark.parametrize(("model", "change", "field"), [
    (WS_MODELS[0], {"image": None}, "image"),
    (WS_MODELS[2], {"audio": ""}, "audio"),
    (WS_MODELS[1], {"resolution": "1080p"}, "resolution"),
    (WS_MODELS[0], {"seed": 2147483648}, "seed"),
    (WS_MODELS[0], {"seed": "7"}, "seed"),
    (WS_MODELS[0], {"prompt": 3}, "prompt"),
])
def test_wavespeed_bad_parameter(api: Api, inputs: InputsServer, model: str, change: dict[str, Any],
                                 field: str) -> None:
    body = {k: v for k, v in {**ws_body(inputs), **change}.items() if v is not None}
    response = api.ws_submit(model, body)
    assert response.status_code == 400
    assert response.json()["code"] == 400 and field in response.json()["message"]
    assert api.emulator.tasks == {}


def test_wavespeed_unknown_model_and_prediction(api: Api, inputs: InputsServer) -> None:
    assert api.ws_submit("wavespeed-ai/no-such-model", ws_body(inputs)).status_code == 404
    missing = api.ws.get("/api/v3/predictions/nope/result")
    assert missing.status_code == 404 and missing.json()["code"] == 404


def test_wavespeed_download_failure_fails_the_task(api: Api, inputs: InputsServer) -> None:
    data = api.ws_submit(WS_MODELS[0], ws_body(inputs, image=inputs.file("missing.png"))).json()["data"]
    final = api.ws_wait(data["urls"]["get"])
    assert final["status"] == "failed" and final["outputs"] == []
    assert "image" in final["error"] and "404" in final["error"]


def test_wavespeed_input_that_is_not_an_image_fails_the_task(api: Api, inputs: InputsServer) -> None:
    data = api.ws_submit(WS_MODELS[0], ws_body(inputs, image=inputs.file("notes.txt"))).json()["data"]
    final = api.ws_wait(data["urls"]["get"])
    assert final["status"] == "failed" and final["error"].startswith("image:")


def test_wavespeed_webhook_is_signed(api: Api, inputs: InputsServer) -> None:
    name, url = inputs.new_hook()
    data = api.ws_submit(WS_MODELS[1], ws_body(inputs), webhook=url).json()["data"]
    (hook,) = inputs.wait_hooks(name)
    verify_wavespeed(hook)
    payload = json.loads(hook["body"])
    assert payload["id"] == data["id"] and payload["status"] == "completed"
    assert payload["input"] == ws_body(inputs) and len(payload["outputs"]) == 1
    assert set(payload) >= {"model", "urls", "has_nsfw_contents", "created_at", "error"}


def test_wavespeed_webhook_is_retried_after_a_failed_delivery(api: Api, inputs: InputsServer) -> None:
    name, url = inputs.new_hook(500)
    api.ws_submit(WS_MODELS[0], ws_body(inputs), webhook=url)
    first, second = inputs.wait_hooks(name, 2)
    assert (first["status"], second["status"]) == (500, 200)
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    verify_wavespeed(second)
    wait_until(lambda: api.emulator.webhooks and api.emulator.webhooks[0]["delivered"])


def test_wavespeed_cancel_queued_and_delete_completed(inputs: InputsServer) -> None:
    with running(queued_s=30) as emulator:
        api = Api(emulator)
        data = api.ws_submit(WS_MODELS[0], ws_body(inputs)).json()["data"]
        response = api.ws.delete(f"/api/v3/predictions/{data['id']}")
        assert response.status_code == 200
        assert response.json()["data"] == {"id": data["id"], "status": "deleted"}
        assert api.ws.get(data["urls"]["get"]).json()["data"]["status"] == "cancelled"
        api.close()
    with running() as emulator:
        api = Api(emulator)
        data = api.ws_submit(WS_MODELS[0], ws_body(inputs)).json()["data"]
        assert api.ws_wait(data["urls"]["get"])["status"] == "completed"
        assert api.ws.delete(f"/api/v3/predictions/{data['id']}").json()["data"]["status"] == "deleted"
        assert api.ws.get(data["urls"]["get"]).status_code == 404  # deleted for good
        api.close()


def test_wavespeed_cancel_while_processing_is_only_a_request(inputs: InputsServer) -> None:
    with running(queued_s=0, running_s=0.8) as emulator:
        api = Api(emulator)
        data = api.ws_submit(WS_MODELS[0], ws_body(inputs)).json()["data"]
        wait_until(lambda: api.ws.get(data["urls"]["get"]).json()["data"]["status"] == "processing")
        assert api.ws.delete(f"/api/v3/predictions/{data['id']}").json()["data"]["status"] == "deleted"
        assert api.ws.get(data["urls"]["get"]).json()["data"]["status"] == "processing"  # not stopped at once
        assert api.ws_wait(data["urls"]["get"])["status"] == "cancelled"
        api.close()


# --- fal ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "extra", "seconds", "height"), [
    ("fal-ai/ai-avatar", {"num_frames": 50}, Decimal("2.000"), 480),
    ("fal-ai/ai-avatar/multi", {"num_frames": 41}, Decimal("1.640"), 480),
    ("fal-ai/ai-avatar/single-text", {}, Decimal("5.440"), 480),  # the model page's default: 136 frames
    ("fal-ai/ai-avatar/multi-text", {"num_frames": 60, "resolution": "720p"}, Decimal("2.400"), 720),
])
def test_fal_happy_path(api: Api, inputs: InputsServer, tmp_path: Path, endpoint: str, extra: dict[str, Any],
                        seconds: Decimal, height: int) -> None:
    response = api.fal.post(f"/{endpoint}", json=fal_body(endpoint, inputs, **extra))
    assert response.status_code == 200
    submitted = response.json()
    request_id = submitted["request_id"]
    root = f"{api.emulator.url}/fal-ai/ai-avatar/requests/{request_id}"  # the app id only, never the subpath
    assert submitted == {"request_id": request_id, "response_url": root, "status_url": f"{root}/status",
                         "cancel_url": f"{root}/cancel", "status": "IN_QUEUE", "queue_position": 0}

    queued = api.fal.get(submitted["status_url"])
    assert queued.status_code == 202 and queued.json()["status"] == "IN_QUEUE"
    assert queued.json()["queue_position"] == 0 and "logs" not in queued.json()
    early = api.fal.get(submitted["response_url"])
    assert early.status_code == 400 and "detail" in early.json()

    seen: list[str] = ["IN_QUEUE"]
    in_progress = wait_until(lambda: (lambda r: r if r.json()["status"] != "IN_QUEUE" else None)(
        api.fal.get(submitted["status_url"], params={"logs": "1"})))
    if in_progress.json()["status"] == "IN_PROGRESS":
        assert in_progress.status_code == 202
        assert all({"timestamp", "level", "source", "message"} <= set(log) for log in in_progress.json()["logs"])
    completed = api.fal_wait(submitted["status_url"], seen)
    assert completed.status_code == 200
    assert completed.json()["metrics"]["inference_time"] > 0 and completed.json()["logs"]
    assert "error" not in completed.json()

    result = api.fal.get(submitted["response_url"])
    assert result.status_code == 200
    video = result.json()["video"]
    assert set(video) == {"url", "content_type", "file_name", "file_size"}
    assert result.json()["seed"] == fal_body_seed(endpoint)
    info = probe_output(video["url"], tmp_path)
    assert info.duration_s == seconds  # num_frames / 25
    assert info.height == height
    assert download(video["url"]).headers["content-length"] == str(video["file_size"])


def fal_body_seed(endpoint: str) -> int:
    return {"fal-ai/ai-avatar": 42, "fal-ai/ai-avatar/multi": 81, "fal-ai/ai-avatar/single-text": 42,
            "fal-ai/ai-avatar/multi-text": 81}[endpoint]  # the model page's defaults


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), ({"Authorization": "Key wrong"}, 401), ({"Authorization": f"Bearer {KEY}"}, 401),
])
def test_fal_auth_failure(api: Api, inputs: InputsServer, headers: dict[str, str], status: int) -> None:
    response = api.raw.post("/fal-ai/ai-avatar", json=fal_body("fal-ai/ai-avatar", inputs), headers=headers)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize(("endpoint", "change", "field", "kind"), [
    ("fal-ai/ai-avatar", {"prompt": None}, "prompt", "missing"),
    ("fal-ai/ai-avatar", {"num_frames": 242}, "num_frames", "less_than_equal"),
    ("fal-ai/ai-avatar", {"num_frames": 40}, "num_frames", "greater_than_equal"),
    ("fal-ai/ai-avatar", {"num_frames": "81"}, "num_frames", "int_type"),
    ("fal-ai/ai-avatar", {"resolution": "1080p"}, "resolution", "enum"),
    ("fal-ai/ai-avatar", {"acceleration": "max"}, "acceleration", "enum"),
    ("fal-ai/ai-avatar/multi", {"second_audio_url": None}, "second_audio_url", "missing"),
    ("fal-ai/ai-avatar/single-text", {"voice": "Bob"}, "voice", "enum"),
    ("fal-ai/ai-avatar/single-text", {"voice": None}, "voice", "missing"),
    ("fal-ai/ai-avatar/multi-text", {"voice2": "Nobody"}, "voice2", "enum"),
    ("fal-ai/ai-avatar/multi-text", {"first_text_input": 5}, "first_text_input", "string_type"),
])
def test_fal_bad_parameter(api: Api, inputs: InputsServer, endpoint: str, change: dict[str, Any], field: str,
                           kind: str) -> None:
    body = {k: v for k, v in {**fal_body(endpoint, inputs), **change}.items() if v is not None}
    response = api.fal.post(f"/{endpoint}", json=body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field] and error["type"] == kind and error["msg"]
    assert api.emulator.tasks == {}


def test_fal_validation_lists_every_error_and_honours_use_only_first_audio(api: Api, inputs: InputsServer) -> None:
    response = api.fal.post("/fal-ai/ai-avatar", json={"num_frames": 500})
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {
        ("body", "image_url"), ("body", "audio_url"), ("body", "prompt"), ("body", "num_frames")}
    body = fal_body("fal-ai/ai-avatar/multi", inputs, use_only_first_audio=True)
    del body["second_audio_url"]
    assert api.fal.post("/fal-ai/ai-avatar/multi", json=body).status_code == 200


def test_fal_subpath_urls_and_unknown_requests(api: Api, inputs: InputsServer) -> None:
    body = fal_body("fal-ai/ai-avatar/multi", inputs, num_frames=41)
    request_id = api.fal.post("/fal-ai/ai-avatar/multi", json=body).json()["request_id"]
    assert api.fal.get(f"/fal-ai/ai-avatar/multi/requests/{request_id}/status").status_code == 404
    assert api.fal.get(f"/fal-ai/ai-avatar/requests/{request_id}/status").status_code in (200, 202)
    assert api.fal.get("/fal-ai/ai-avatar/requests/nope/status").status_code == 404
    assert api.fal.post("/fal-ai/other-model", json={}).status_code == 404


def test_fal_queue_positions_and_cancel_while_queued(inputs: InputsServer) -> None:
    with running(queued_s=30) as emulator:
        api = Api(emulator)
        body = fal_body("fal-ai/ai-avatar", inputs)
        ids = [api.fal.post("/fal-ai/ai-avatar", json=body).json()["request_id"] for _ in range(3)]
        positions = [api.fal.get(f"/fal-ai/ai-avatar/requests/{i}/status").json()["queue_position"] for i in ids]
        assert positions == [0, 1, 2]
        cancel = api.fal.put(f"/fal-ai/ai-avatar/requests/{ids[0]}/cancel")
        assert (cancel.status_code, cancel.json()) == (202, {"status": "OK"})
        assert api.fal.get(f"/fal-ai/ai-avatar/requests/{ids[2]}/status").json()["queue_position"] == 1
        status = api.fal.get(f"/fal-ai/ai-avatar/requests/{ids[0]}/status")
        assert status.json()["status"] == "COMPLETED" and status.json()["error_type"] == "client_cancelled"
        assert api.fal.get(f"/fal-ai/ai-avatar/requests/{ids[0]}").status_code == 499
        missing = api.fal.put("/fal-ai/ai-avatar/requests/nope/cancel")
        assert (missing.status_code, missing.json()) == (404, {"status": "NOT_FOUND"})
        api.close()


def test_fal_cancel_in_progress_and_completed(inputs: InputsServer) -> None:
    with running(queued_s=0, running_s=0.8) as emulator:
        api = Api(emulator)
        submitted = api.fal.post("/fal-ai/ai-avatar", json=fal_body("fal-ai/ai-avatar", inputs, num_frames=41)).json()
        wait_until(lambda: api.fal.get(submitted["status_url"]).json()["status"] == "IN_PROGRESS")
        cancel = api.fal.put(submitted["cancel_url"])
        assert (cancel.status_code, cancel.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
        assert api.fal_wait(submitted["status_url"]).json()["error_type"] == "client_cancelled"

        other = api.fal.post("/fal-ai/ai-avatar", json=fal_body("fal-ai/ai-avatar", inputs, num_frames=41)).json()
        api.fal_wait(other["status_url"])
        done = api.fal.put(other["cancel_url"])
        assert (done.status_code, done.json()) == (400, {"status": "ALREADY_COMPLETED"})
        api.close()


def test_fal_webhook_ok_verifies_against_the_served_jwks(api: Api, inputs: InputsServer) -> None:
    name, url = inputs.new_hook()
    body = fal_body("fal-ai/ai-avatar/single-text", inputs, num_frames=41)
    request_id = api.fal.post("/fal-ai/ai-avatar/single-text", json=body, params={"fal_webhook": url}).json()[
        "request_id"]
    (hook,) = inputs.wait_hooks(name)
    jwks = api.raw.get("/.well-known/jwks.json").json()
    verify_fal(hook, jwks)
    assert hook["headers"]["x-fal-webhook-request-id"] == request_id
    assert hook["headers"]["x-fal-webhook-user-id"] == FAL_USER
    payload = json.loads(hook["body"])
    assert payload["request_id"] == payload["gateway_request_id"] == request_id
    assert payload["status"] == "OK" and payload["payload"]["video"]["url"]


def test_fal_download_failure_comes_through_the_queue_and_webhook(api: Api, inputs: InputsServer) -> None:
    name, url = inputs.new_hook()
    body = fal_body("fal-ai/ai-avatar", inputs, audio_url=inputs.file("missing.wav"))
    submitted = api.fal.post("/fal-ai/ai-avatar", json=body, params={"fal_webhook": url}).json()
    status = api.fal_wait(submitted["status_url"]).json()
    assert status["error_type"] == "file_download_error" and status["error"]
    result = api.fal.get(submitted["response_url"])
    assert result.status_code == 422 and result.headers["x-fal-retryable"] == "false"
    (error,) = result.json()["detail"]
    assert error["loc"] == ["body", "audio_url"] and error["type"] == "file_download_error"
    (hook,) = inputs.wait_hooks(name)
    verify_fal(hook, api.emulator.jwks())
    payload = json.loads(hook["body"])
    assert payload["status"] == "ERROR" and payload["error"] == "Invalid status code: 422"
    assert payload["payload"]["detail"][0]["type"] == "file_download_error"


# --- DashScope ---------------------------------------------------------------------------------------


def test_dashscope_happy_path(api: Api, inputs: InputsServer, tmp_path: Path) -> None:
    media = [
        {"type": "reference_image", "url": inputs.file("face.png"), "reference_voice": inputs.file("voice.wav")},
        {"type": "reference_video", "url": inputs.file("clip.mp4")},
    ]
    body = ds_body(inputs, media=media, resolution="720P", ratio="9:16", duration=3, prompt_extend=False,
                   watermark=True, seed=12)
    response = api.ds.post(DS_SUBMIT, json=body)
    assert response.status_code == 200
    created = response.json()
    task_id = created["output"]["task_id"]
    assert created["output"] == {"task_id": task_id, "task_status": "PENDING"} and created["request_id"]

    seen: list[str] = ["PENDING"]
    final = api.ds_wait(task_id, seen)
    assert seen == ["PENDING", "RUNNING", "SUCCEEDED"]
    output = final["output"]
    for name in ("submit_time", "scheduled_time", "end_time"):
        assert DS_TIME.match(output[name]), output[name]
    assert output["orig_prompt"] == body["input"]["prompt"]
    assert final["usage"] == {"duration": 4, "input_video_duration": 1, "output_video_duration": 3, "SR": 720,
                              "ratio": "9:16", "video_count": 1}
    info = probe_output(output["video_url"], tmp_path)
    assert info.duration_s == Decimal("3.000") and info.height == 720


def test_dashscope_defaults_and_a_video_only_reference(api: Api, inputs: InputsServer, tmp_path: Path) -> None:
    body = ds_body(inputs, media=[{"type": "reference_video", "url": inputs.file("clip.mp4")}])
    task_id = api.ds.post(DS_SUBMIT, json=body).json()["output"]["task_id"]
    # The default is a real 5 s 720p render: on a loaded 2-core machine it can take longer than 15 s.
    final = api.ds_wait(task_id, timeout=90)
    assert final["output"]["task_status"] == "SUCCEEDED"
    # Defaults (*unconfirmed*): 5 s, 1080P (rendered at 720p by the emulator), 16:9.
    assert final["usage"]["output_video_duration"] == 5 and final["usage"]["SR"] == 1080
    assert final["usage"]["ratio"] == "16:9"
    info = probe_output(final["output"]["video_url"], tmp_path)
    assert info.duration_s == Decimal("5.000") and info.height == 720


def test_dashscope_requires_the_async_header(api: Api, inputs: InputsServer) -> None:
    response = api.raw.post(f"/api/v1{DS_SUBMIT}", json=ds_body(inputs), headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 403
    assert response.json()["code"] == "AccessDenied"
    assert response.json()["message"] == "current user api does not support synchronous calls"
    assert response.json()["request_id"]
    assert api.emulator.tasks == {}


@pytest.mark.parametrize("headers", [{"X-DashScope-Async": "enable"},
                                     {"Authorization": "Bearer wrong", "X-DashScope-Async": "enable"}])
def test_dashscope_auth_failure(api: Api, inputs: InputsServer, headers: dict[str, str]) -> None:
    response = api.raw.post(f"/api/v1{DS_SUBMIT}", json=ds_body(inputs), headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "InvalidApiKey"
    assert api.raw.get("/api/v1/tasks/x", headers=headers).status_code == 401


@pytest.mark.parametrize(("change", "field"), [
    ({"model": "wan2.6-r2v"}, "model"),
    ({"input": {"media": []}}, "input.prompt"),
    ({"input": {"prompt": "x", "media": []}}, "input.media"),
    ({"input": {"prompt": "x", "media": [{"type": "reference_image", "url": "http://x/a.png"}] * 6}}, "input.media"),
    ({"input": {"prompt": "x", "media": [{"type": "reference_audio", "url": "http://x/a.wav"}]}},
     "input.media[0].type"),
    ({"input": {"prompt": "x", "media": [{"type": "reference_image"}]}}, "input.media[0].url"),
    ({"parameters": {"resolution": "480P"}}, "parameters.resolution"),
    ({"parameters": {"ratio": "2:1"}}, "parameters.ratio"),
    ({"parameters": {"duration": 16}}, "parameters.duration"),
    ({"parameters": {"duration": 1}}, "parameters.duration"),
    ({"parameters": {"duration": 11}, "input": {"prompt": "x", "media": [
        {"type": "reference_video", "url": "http://x/v.mp4"}]}}, "parameters.duration"),
    ({"parameters": {"prompt_extend": "yes"}}, "parameters.prompt_extend"),
    ({"parameters": {"watermark": 1}}, "parameters.watermark"),
])
def test_dashscope_bad_parameter(api: Api, inputs: InputsServer, change: dict[str, Any], field: str) -> None:
    response = api.ds.post(DS_SUBMIT, json={**ds_body(inputs), **change})
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "InvalidParameter" and field in answer["message"] and answer["request_id"]
    assert api.emulator.tasks == {}


def test_dashscope_unknown_task_reads_unknown(api: Api) -> None:
    answer = api.ds.get("/tasks/no-such-task").json()
    assert answer["output"] == {"task_id": "no-such-task", "task_status": "UNKNOWN"}


def test_dashscope_cancel_pending_only(inputs: InputsServer) -> None:
    with running(queued_s=30) as emulator:
        api = Api(emulator)
        task_id = api.ds.post(DS_SUBMIT, json=ds_body(inputs)).json()["output"]["task_id"]
        response = api.ds.post(f"/tasks/{task_id}/cancel")
        assert response.status_code == 200 and set(response.json()) == {"request_id"}
        assert api.ds.get(f"/tasks/{task_id}").json()["output"]["task_status"] == "CANCELED"
        again = api.ds.post(f"/tasks/{task_id}/cancel")
        assert again.status_code == 400 and again.json()["code"] == "UnsupportedOperation"
        api.close()
    with running(queued_s=0, running_s=0.8) as emulator:
        api = Api(emulator)
        task_id = api.ds.post(DS_SUBMIT, json=ds_body(inputs, duration=2)).json()["output"]["task_id"]
        wait_until(lambda: api.ds.get(f"/tasks/{task_id}").json()["output"]["task_status"] == "RUNNING")
        running_cancel = api.ds.post(f"/tasks/{task_id}/cancel")
        assert running_cancel.status_code == 400 and running_cancel.json()["code"] == "UnsupportedOperation"
        assert api.ds_wait(task_id)["output"]["task_status"] == "SUCCEEDED"
        api.close()


def test_dashscope_download_failure(api: Api, inputs: InputsServer) -> None:
    media = [{"type": "reference_image", "url": inputs.file("missing.png")}]
    task_id = api.ds.post(DS_SUBMIT, json=ds_body(inputs, media=media, duration=2)).json()["output"]["task_id"]
    final = api.ds_wait(task_id)
    output = final["output"]
    assert output["task_status"] == "FAILED" and output["code"] == "InvalidURL" and output["message"]
    assert "video_url" not in output and "usage" not in final


# --- faults ----------------------------------------------------------------------------------------


# One call per provider that creates nothing: what it answers when no fault applies.
PROBES: dict[str, tuple[str, str, int]] = {
    "wavespeed": ("ws", "/api/v3/predictions/none/result", 404),
    "fal": ("fal", "/fal-ai/ai-avatar/requests/none/status", 404),
    "dashscope": ("ds", "/tasks/none", 200),
}


def probe(api: Api, provider: str) -> httpx.Response:
    client, path, _normal = PROBES[provider]
    return getattr(api, client).get(path)


@pytest.mark.parametrize("provider", list(PROBES))
def test_rate_limit_fault(api: Api, provider: str) -> None:
    api.emulator.set_faults(provider, rate_limit=2, retry_after_s=3)
    for _ in range(2):
        response = probe(api, provider)
        assert response.status_code == 429 and response.headers["retry-after"] == "3"
        body = response.json()
        if provider == "wavespeed":
            assert body["code"] == 429 and body["data"] is None
        elif provider == "fal":
            assert isinstance(body["detail"], str)
        else:
            assert body["code"] == "Throttling.RateQuota" and body["request_id"]
    assert probe(api, provider).status_code == PROBES[provider][2]
    other = next(p for p in PROBES if p != provider)
    api.emulator.set_faults(provider, rate_limit=1)
    assert probe(api, other).status_code == PROBES[other][2]  # scoped to one provider
    assert [e["fault"] for e in api.emulator.requests] == ["rate_limit", "rate_limit", None, None]


@pytest.mark.parametrize("provider", list(PROBES))
def test_server_error_fault(api: Api, provider: str) -> None:
    api.emulator.set_faults(provider, server_error=1)
    response = probe(api, provider)
    body = response.json()
    if provider == "wavespeed":
        assert response.status_code == 500 and body["code"] == 500
    elif provider == "fal":
        assert response.status_code == 503 and response.headers["x-fal-error-type"] == body["error_type"]
        assert isinstance(body["detail"], str)
    else:
        assert response.status_code == 500 and body["code"] == "InternalError"
    assert probe(api, provider).status_code == PROBES[provider][2]
    api.emulator.set_faults(provider, server_error=1, server_error_status=502)
    assert probe(api, provider).status_code == 502


@pytest.mark.parametrize("provider", list(PROBES))
def test_malformed_json_fault(api: Api, provider: str) -> None:
    api.emulator.set_faults(provider, malformed_json=1)
    response = probe(api, provider)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert probe(api, provider).status_code == PROBES[provider][2]


def test_timeout_fault_processes_the_call_but_answers_too_late(api: Api, inputs: InputsServer) -> None:
    api.emulator.set_faults("wavespeed", timeout=1, hang_s=1.5)
    with pytest.raises(httpx.ReadTimeout):
        api.ws.post(f"/api/v3/{WS_MODELS[0]}", json=ws_body(inputs), timeout=httpx.Timeout(5, read=0.3))
    (task,) = api.emulator.tasks.values()  # the submit went through: the client just never heard
    assert task["provider"] == "wavespeed"
    started = time.monotonic()
    assert probe(api, "wavespeed").status_code == 404
    assert time.monotonic() - started < 0.5


def test_latency_fault_for_all_providers(api: Api) -> None:
    api.emulator.set_faults("all", latency_s=0.3)
    for provider in PROBES:
        started = time.monotonic()
        assert probe(api, provider).status_code == PROBES[provider][2]
        assert time.monotonic() - started >= 0.3
    api.emulator.clear_faults()
    started = time.monotonic()
    probe(api, "fal")
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize("provider", list(PROBES))
def test_fail_task_fault(api: Api, inputs: InputsServer, provider: str) -> None:
    api.emulator.set_faults(provider, fail_task=1)
    if provider == "wavespeed":
        data = api.ws_submit(WS_MODELS[0], ws_body(inputs)).json()["data"]
        final = api.ws_wait(data["urls"]["get"])
        assert final["status"] == "failed" and final["error"] and final["outputs"] == []
        again = api.ws_wait(api.ws_submit(WS_MODELS[0], ws_body(inputs)).json()["data"]["urls"]["get"])
        assert again["status"] == "completed"  # only the next N tasks fail
    elif provider == "fal":
        submitted = api.fal.post("/fal-ai/ai-avatar", json=fal_body("fal-ai/ai-avatar", inputs, num_frames=41)).json()
        assert api.fal_wait(submitted["status_url"]).json()["error"]
        result = api.fal.get(submitted["response_url"])
        assert result.status_code == 422 and result.json()["detail"][0]["type"] == "face_detection_error"
    else:
        task_id = api.ds.post(DS_SUBMIT, json=ds_body(inputs, duration=2)).json()["output"]["task_id"]
        output = api.ds_wait(task_id)["output"]
        assert output["task_status"] == "FAILED" and output["code"] == "InternalError.Algo" and output["message"]


@pytest.mark.parametrize("provider", ["wavespeed", "dashscope"])
def test_expired_output_fault(api: Api, inputs: InputsServer, provider: str) -> None:
    api.emulator.set_faults(provider, expired_output=True)
    if provider == "wavespeed":
        url = api.ws_wait(api.ws_submit(WS_MODELS[0], ws_body(inputs)).json()["data"]["urls"]["get"])["outputs"][0]
    else:
        task_id = api.ds.post(DS_SUBMIT, json=ds_body(inputs, duration=2)).json()["output"]["task_id"]
        url = api.ds_wait(task_id)["output"]["video_url"]
    response = download(url)
    assert response.status_code == 403
    if provider == "dashscope":
        assert b"<Code>AccessDenied</Code>" in response.content  # OSS's XML error
    api.emulator.clear_faults()
    assert download(url).status_code == 403  # minted already expired


def test_output_urls_expire_and_cannot_be_forged(inputs: InputsServer, tmp_path: Path) -> None:
    with running(output_ttl_s=1.0) as emulator:
        api = Api(emulator)
        url = api.ws_wait(api.ws_submit(WS_MODELS[0], ws_body(inputs)).json()["data"]["urls"]["get"])["outputs"][0]
        assert probe_output(url, tmp_path).duration_s == AUDIO_S
        assert download(url, "HEAD").status_code == 200
        forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
        assert download(forged).status_code == 403
        (task,) = emulator.tasks.values()
        time.sleep(max(0.0, task["output"]["expires_at"] - time.time()) + 0.05)
        assert download(url).status_code == 403
        api.close()


def test_duplicate_webhook_fault(api: Api, inputs: InputsServer) -> None:
    api.emulator.set_faults("wavespeed", duplicate_webhook=True)
    name, url = inputs.new_hook()
    api.ws_submit(WS_MODELS[0], ws_body(inputs), webhook=url)
    first, second = inputs.wait_hooks(name, 2)
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert first["body"] == second["body"]
    verify_wavespeed(first)
    verify_wavespeed(second)


def test_faults_and_debug_endpoints_over_http(api: Api, inputs: InputsServer) -> None:
    answer = api.raw.post("/_emulator/faults", json={"provider": "fal", "rate_limit": 1, "retry_after_s": 2})
    assert answer.status_code == 200 and answer.json()["faults"]["fal"]["rate_limit"] == 1
    assert api.raw.get("/_emulator/faults").json()["faults"]["fal"]["retry_after_s"] == 2
    assert probe(api, "fal").status_code == 429
    api.raw.post("/_emulator/faults", json={"server_error": 1})  # scope "all"
    api.raw.delete("/_emulator/faults", params={"provider": "fal"})
    assert probe(api, "dashscope").status_code == 500  # the "all" scope still applies
    api.raw.delete("/_emulator/faults")
    assert api.raw.get("/_emulator/faults").json()["faults"] == {}

    bad = api.raw.post("/_emulator/faults", json={"provider": "fal", "explode": 1})
    assert bad.status_code == 400 and "explode" in bad.json()["error"]
    assert api.raw.post("/_emulator/faults", json={"provider": "acme", "rate_limit": 1}).status_code == 400
    assert api.raw.post("/_emulator/faults", json={"rate_limit": -1}).status_code == 400

    api.ws_submit(WS_MODELS[0], ws_body(inputs))
    logged = api.raw.get("/_emulator/requests").json()["requests"]
    assert logged[-1]["headers"]["authorization"] == "Bearer ***"  # redacted over HTTP
    (task,) = api.raw.get("/_emulator/tasks").json()["tasks"]
    assert task["provider"] == "wavespeed" and task["provider_status"] in ("created", "processing", "completed")
    assert api.raw.get("/_emulator/health").json()["ok"] is True
    assert api.raw.post("/_emulator/reset").status_code == 200
    assert api.raw.get("/_emulator/tasks").json()["tasks"] == []
    assert api.emulator.requests == []


# --- the concurrency cap ------------------------------------------------------------------------------


def test_concurrency_cap_keeps_the_third_task_queued(inputs: InputsServer) -> None:
    with running(concurrency=2, queued_s=0.05, running_s=0.8) as emulator:
        api = Api(emulator)
        urls = [api.ws_submit(WS_MODELS[0], ws_body(inputs)).json()["data"]["urls"]["get"] for _ in range(3)]

        def statuses() -> list[str]:
            return [api.ws.get(u).json()["data"]["status"] for u in urls]

        wait_until(lambda: statuses()[:2] == ["processing", "processing"])
        assert statuses()[2] == "created"
        # Another provider's account has its own cap.
        fal = api.fal.post("/fal-ai/ai-avatar", json=fal_body("fal-ai/ai-avatar", inputs, num_frames=41)).json()
        wait_until(lambda: api.fal.get(fal["status_url"]).json()["status"] != "IN_QUEUE")
        assert statuses()[2] == "created"
        wait_until(lambda: statuses()[2] != "created")
        assert "completed" in statuses()[:2]  # it ran only once a slot was freed
        for url in urls:
            assert api.ws_wait(url)["status"] == "completed"
        api.close()


def test_jwks_is_stable_for_a_secret(em: RunningEmulator) -> None:
    with running() as other:
        assert other.jwks() == em.jwks()  # the key is derived from the secret: restarts keep it
    with running(webhook_secret="whsec_b3RoZXI=") as third:
        assert third.jwks() != em.jwks()


# --- thousands of tasks, cheaply ------------------------------------------------------------------------


def test_many_running_tasks_hold_no_thread_each(inputs: InputsServer) -> None:
    """200 tasks running at once on two render threads: a task's running time is a heap entry, not a
    sleeping thread; identical inputs are rendered once (``reuse_renders``)."""
    with running(concurrency=1000, queued_s=0.0, running_s=2.0, running_spread=0.25, render_workers=2,
                 reuse_renders=True) as emulator:
        api = Api(emulator)
        before = threading.active_count()
        urls = [api.ws_submit(WS_MODELS[0], ws_body(inputs)).json()["data"]["urls"]["get"] for _ in range(200)]
        started = time.monotonic()
        wait_until(lambda: all(t["state"] != "queued" for t in emulator.tasks.values()), 10)
        assert threading.active_count() <= before + 4  # the two render threads (and the scheduler's work)
        for url in urls:
            assert api.ws_wait(url, timeout=30)["status"] == "completed"
        elapsed = time.monotonic() - started
        runs = [t["finished_at"] - t["started_at"] for t in emulator.tasks.values()]
        assert elapsed < 10, elapsed  # they ran side by side, not two at a time (200 x 2 s / 2 = 200 s)
        assert min(runs) >= 1.45 and max(runs) <= 4.0 and max(runs) - min(runs) > 0.3  # 2 s +- 25 %
        outputs = {t["output"]["file_name"]: t["output"]["size"] for t in emulator.tasks.values()}
        assert len(outputs) == 200 and len(set(outputs.values())) == 1  # one render, served for each
        api.close()
