"""fal client: the exact queue requests for the ai-avatar endpoints, statuses, results, errors,
cancel outcomes and Ed25519/JWKS webhook verification."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from providers.clients import fal, fal_webhooks
from providers.clients.errors import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    WebhookVerificationError,
)
from providers.clients.fal import FalClient, FalRetryable, parse_result, parse_status
from providers.clients.fal_webhooks import JwksCache
from providers.clients.results import ClientConfig

BASE = "https://queue.fal.run"
KEY = "fal-key-id:fal-key-secret"
JWKS_URL = "https://rest.fal.ai/.well-known/jwks.json"
REQ_ID = "764cabcf-b745-4b3e-ae38-1200304cf45b"
APP = "fal-ai/ai-avatar"
ROOT = f"{BASE}/{APP}/requests/{REQ_ID}"
IMAGE = "https://v3.fal.media/files/koala/vhkIF86hmgNTBll_lF1xI_3c7476642b19435aa763fe3b49cf99c7.png"
AUDIO1 = "https://files.example/signed/a1.mp3"
AUDIO2 = "https://files.example/signed/a2.mp3"
VIDEO = "https://v3.fal.media/files/zebra/lKMkUvzCqKn-gHC0vyUPP_30b76b90c2164f9a926527497c20832b.mp4"


class Router:
    """A MockTransport that answers by (method, url without query) from queued answers, and serves
    the JWKS; records every request."""

    def __init__(self, jwks: dict | None = None):
        self.routes: dict[tuple[str, str], list] = {}
        self.requests: list[httpx.Request] = []
        self.jwks = jwks
        self.jwks_fetches = 0
        self.transport = httpx.MockTransport(self._handle)

    def add(self, method: str, url: str, *answers) -> Router:
        self.routes.setdefault((method, url), []).extend(answers)
        return self

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url.copy_with(query=None))
        if request.method == "GET" and url == JWKS_URL and self.jwks is not None:
            self.jwks_fetches += 1
            return httpx.Response(200, json=self.jwks)
        answers = self.routes.get((request.method, url))
        if not answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def make(router: Router, *, max_retries: int = 3):
    sleeps: list[float] = []
    config = ClientConfig(base_url=BASE, api_key=KEY, jwks_url=JWKS_URL, max_retries=max_retries)
    return FalClient(config, transport=router.transport, sleep=sleeps.append), sleeps


def queued_answer(model_path: str = "fal-ai/ai-avatar/multi-text") -> httpx.Response:
    # https://docs.fal.ai/model-apis/model-endpoints/queue: the URLs use the app id without the
    # endpoint's subpath.
    return httpx.Response(
        200,
        json={
            "request_id": REQ_ID,
            "response_url": ROOT,
            "status_url": f"{ROOT}/status",
            "cancel_url": f"{ROOT}/cancel",
            "status": "IN_QUEUE",
            "queue_position": 0,
        },
    )


HANDLE = {
    "request_id": REQ_ID,
    "app_id": APP,
    "status_url": f"{ROOT}/status",
    "response_url": ROOT,
    "cancel_url": f"{ROOT}/cancel",
}

# -- submit: the exact requests ---------------------------------------------------------------------
SEED_EXAMPLES = [
    # The model page's own example (https://fal.ai/models/fal-ai/ai-avatar/multi-text/api) with
    # its schema's example values.
    (
        "fal-ai/ai-avatar/multi-text",
        {
            "image_url": IMAGE,
            "first_text_input": "Do you know what are we eating?",
            "second_text_input": "I dont know I am eating this because our mother gave it to us. "
            "I think it is something called milky pie.",
            "voice1": "Sarah",
            "voice2": "Roger",
            "prompt": "Two kids talking on a lunch.",
            "num_frames": 191,
            "resolution": "480p",
            "seed": 81,
            "acceleration": "regular",
        },
    ),
    (
        "fal-ai/ai-avatar",
        {
            "image_url": IMAGE,
            "audio_url": AUDIO1,
            "prompt": "A woman talks.",
            "num_frames": 145,
            "resolution": "480p",
            "seed": 42,
            "acceleration": "regular",
        },
    ),
    (
        "fal-ai/ai-avatar/multi",
        {
            "image_url": IMAGE,
            "first_audio_url": AUDIO1,
            "second_audio_url": AUDIO2,
            "prompt": "Two people talk.",
            "num_frames": 181,
            "resolution": "720p",
            "seed": 81,
            "use_only_first_audio": False,
            "acceleration": "high",
        },
    ),
    (
        "fal-ai/ai-avatar/single-text",
        {
            "image_url": IMAGE,
            "text_input": "Hello there!",
            "voice": "Bill",
            "prompt": "A man says hello.",
            "num_frames": 136,
            "resolution": "480p",
            "seed": 42,
            "acceleration": "none",
        },
    ),
]


@pytest.mark.parametrize(("model_path", "inputs"), SEED_EXAMPLES)
def test_submit_sends_the_seed_request(model_path, inputs):
    router = Router().add("POST", f"{BASE}/{model_path}", queued_answer(model_path))
    client, _ = make(router)
    submission = client.submit(model_path=model_path, inputs=inputs)

    (request,) = router.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/{model_path}"
    assert request.headers["authorization"] == f"Key {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == inputs
    assert submission.request_id == REQ_ID
    assert submission.handle == HANDLE


def test_submit_with_webhook_uses_fal_webhook_query():
    hook = "https://parley.example/hooks/providers/fal/live"
    router = Router().add("POST", f"{BASE}/fal-ai/ai-avatar", queued_answer())
    client, _ = make(router)
    client.submit(model_path="fal-ai/ai-avatar", inputs={"image_url": IMAGE}, webhook_url=hook)
    request = router.requests[0]
    assert request.url.params["fal_webhook"] == hook
    assert "fal_webhook" not in json.loads(request.content)


def test_submit_without_queue_urls_builds_them_from_the_app_id():
    answer = httpx.Response(200, json={"request_id": REQ_ID, "status": "IN_QUEUE"})
    router = Router().add("POST", f"{BASE}/fal-ai/ai-avatar/multi-text", answer)
    client, _ = make(router)
    handle = client.submit(model_path="fal-ai/ai-avatar/multi-text", inputs={}).handle
    assert handle == HANDLE


def test_submit_ignores_queue_urls_on_another_host():
    answer = httpx.Response(
        200,
        json={
            "request_id": REQ_ID,
            "status_url": "https://evil.example/s",
            "response_url": "https://evil.example/r",
            "cancel_url": "https://evil.example/c",
        },
    )
    router = Router().add("POST", f"{BASE}/fal-ai/ai-avatar/single-text", answer)
    client, _ = make(router)
    assert client.submit(model_path="fal-ai/ai-avatar/single-text", inputs={}).handle == HANDLE


def test_submit_drops_none():
    router = Router().add("POST", f"{BASE}/fal-ai/ai-avatar", queued_answer())
    client, _ = make(router)
    client.submit(model_path="fal-ai/ai-avatar", inputs={"image_url": IMAGE, "seed": None})
    assert json.loads(router.requests[0].content) == {"image_url": IMAGE}


def test_app_id():
    assert fal.app_id("fal-ai/ai-avatar/multi-text") == "fal-ai/ai-avatar"
    assert fal.app_id("fal-ai/ai-avatar") == "fal-ai/ai-avatar"
    with pytest.raises(ValueError):
        fal.app_id("fal-ai")


# -- poll -------------------------------------------------------------------------------------------
def test_poll_in_queue():
    router = Router().add(
        "GET", f"{ROOT}/status", httpx.Response(202, json={"status": "IN_QUEUE", "queue_position": 3})
    )
    client, _ = make(router)
    result = client.poll(handle=HANDLE)
    assert (result.state, result.queue_position) == ("queued", 3)
    request = router.requests[0]
    assert request.url.params["logs"] == "1"
    assert request.headers["authorization"] == f"Key {KEY}"


def test_poll_in_progress_with_logs():
    logs = [{"timestamp": "2025-01-01T00:00:00", "level": "INFO", "source": "USER", "message": "step 3/40"}]
    router = Router().add("GET", f"{ROOT}/status", httpx.Response(202, json={"status": "IN_PROGRESS", "logs": logs}))
    client, _ = make(router)
    result = client.poll(handle=HANDLE)
    assert (result.state, result.logs) == ("running", ("step 3/40",))


def test_poll_completed_fetches_the_result():
    router = (
        Router()
        .add(
            "GET",
            f"{ROOT}/status",
            httpx.Response(200, json={"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 80.1}}),
        )
        .add(
            "GET",
            ROOT,
            httpx.Response(
                200,
                json={
                    "video": {
                        "url": VIDEO,
                        "content_type": "application/octet-stream",
                        "file_name": "30b76b90c2164f9a926527497c20832b.mp4",
                        "file_size": 352679,
                    },
                    "seed": 81,
                },
            ),
        )
    )
    client, _ = make(router)
    result = client.poll(handle=HANDLE)
    assert (result.state, result.video_url) == ("succeeded", VIDEO)
    assert [str(r.url.copy_with(query=None)) for r in router.requests] == [f"{ROOT}/status", ROOT]


def test_poll_completed_with_error_in_status_is_failed_without_fetching():
    router = Router().add(
        "GET",
        f"{ROOT}/status",
        httpx.Response(
            200, json={"status": "COMPLETED", "error": "Runner crashed", "error_type": "runner_disconnected"}
        ),
    )
    client, _ = make(router)
    result = client.poll(handle=HANDLE)
    assert (result.state, result.error, result.error_code) == ("failed", "Runner crashed", "runner_disconnected")
    assert len(router.requests) == 1


def test_status_completed_after_a_cancel_is_canceled():
    router = Router().add("GET", f"{ROOT}/status", httpx.Response(200, json={
        "status": "COMPLETED", "error": "Request was cancelled by the client", "error_type": "client_cancelled"}))
    client, _ = make(router)
    result = client.poll(handle=HANDLE)
    assert (result.state, result.error_code) == ("canceled", "client_cancelled")


def test_result_499_client_cancelled_is_canceled():
    router = (
        Router()
        .add("GET", f"{ROOT}/status", httpx.Response(200, json={"status": "COMPLETED"}))
        .add("GET", ROOT, httpx.Response(499, json={"detail": "Request was cancelled by the client",
                                                    "error_type": "client_cancelled"},
                                         headers={"X-Fal-Error-Type": "client_cancelled", "X-Fal-Retryable": "false"}))
    )
    client, _ = make(router)
    assert client.poll(handle=HANDLE).state == "canceled"


def test_validation_error_at_the_result_is_a_failed_poll():
    detail = [
        {
            "loc": ["body", "num_frames"],
            "msg": "ensure this value is less than or equal to 241",
            "type": "value_error.number.not_le",
        }
    ]
    router = (
        Router()
        .add("GET", f"{ROOT}/status", httpx.Response(200, json={"status": "COMPLETED"}))
        .add("GET", ROOT, httpx.Response(422, json={"detail": detail}))
    )
    client, sleeps = make(router)
    result = client.poll(handle=HANDLE)
    assert result.state == "failed"
    assert result.error == "num_frames: ensure this value is less than or equal to 241"
    assert sleeps == []


def test_server_error_with_detail_at_the_result_is_a_failed_poll_after_retries():
    failure = httpx.Response(500, json={"detail": "CUDA out of memory", "error_type": "internal_error"})
    router = (
        Router()
        .add("GET", f"{ROOT}/status", httpx.Response(200, json={"status": "COMPLETED"}))
        .add("GET", ROOT, failure, failure)
    )
    client, _ = make(router, max_retries=1)
    result = client.poll(handle=HANDLE)
    assert (result.state, result.error, result.error_code) == ("failed", "CUDA out of memory", "internal_error")


def test_retryable_error_at_the_result_raises():
    failure = httpx.Response(503, json={"detail": "runner gone"}, headers={"X-Fal-Retryable": "true"})
    router = (
        Router()
        .add("GET", f"{ROOT}/status", httpx.Response(200, json={"status": "COMPLETED"}))
        .add("GET", ROOT, failure, failure)
    )
    client, _ = make(router, max_retries=1)
    with pytest.raises(FalRetryable):
        client.poll(handle=HANDLE)


def test_server_error_without_detail_at_the_result_raises():
    router = (
        Router()
        .add("GET", f"{ROOT}/status", httpx.Response(200, json={"status": "COMPLETED"}))
        .add("GET", ROOT, httpx.Response(502, content=b"<html>bad gateway</html>"))
    )
    client, _ = make(router, max_retries=0)
    with pytest.raises(ProviderUnavailable):
        client.poll(handle=HANDLE)


@pytest.mark.parametrize(
    ("word", "state"), [("IN_QUEUE", "queued"), ("IN_PROGRESS", "running"), ("COMPLETED", "succeeded")]
)
def test_parse_status_every_word(word, state):
    assert parse_status({"status": word}).state == state


def test_parse_status_unknown_word_is_unavailable():
    with pytest.raises(ProviderUnavailable):
        parse_status({"status": "EXPLODED"})


def test_parse_result_without_video_is_failed():
    assert parse_result({"seed": 1}).state == "failed"


# -- errors -----------------------------------------------------------------------------------------
def post(router_answers, *, max_retries: int = 3, model_path: str = "fal-ai/ai-avatar"):
    router = Router().add("POST", f"{BASE}/{model_path}", *router_answers)
    client, sleeps = make(router, max_retries=max_retries)
    return client, router, sleeps


def test_401_is_an_auth_error():
    client, router, sleeps = post([httpx.Response(401, json={"detail": "Invalid key"})])
    with pytest.raises(ProviderAuthError):
        client.submit(model_path="fal-ai/ai-avatar", inputs={})
    assert len(router.requests) == 1 and sleeps == []


def test_402_out_of_credits_is_our_account_problem():
    client, _, _ = post([httpx.Response(402, json={"detail": "Exhausted balance"})])
    with pytest.raises(ProviderAuthError) as info:
        client.submit(model_path="fal-ai/ai-avatar", inputs={})
    assert info.value.http_status == 402 and "out of credits" in info.value.message


def test_422_is_rejected_with_fields():
    detail = [
        {"loc": ["body", "image_url"], "msg": "field required", "type": "value_error.missing"},
        {
            "loc": ["body", "num_frames"],
            "msg": "ensure this value is greater than or equal to 81",
            "type": "value_error.number.not_ge",
            "ctx": {"limit_value": 81},
        },
    ]
    client, _, _ = post([httpx.Response(422, json={"detail": detail})])
    with pytest.raises(ProviderRejected) as info:
        client.submit(model_path="fal-ai/ai-avatar", inputs={"num_frames": 10})
    assert info.value.fields == {
        "image_url": "field required",
        "num_frames": "ensure this value is greater than or equal to 81",
    }
    assert "image_url: field required" in info.value.message


def test_400_with_string_detail_and_error_type_header():
    answer = httpx.Response(
        400, json={"detail": "Image could not be downloaded"}, headers={"X-Fal-Error-Type": "file_download_error"}
    )
    client, _, _ = post([answer])
    with pytest.raises(ProviderRejected) as info:
        client.submit(model_path="fal-ai/ai-avatar", inputs={})
    assert (info.value.message, info.value.code) == ("Image could not be downloaded", "file_download_error")


def test_error_type_in_the_body_wins():
    answer = httpx.Response(400, json={"detail": "x", "error_type": "bad_input"})
    client, _, _ = post([answer])
    with pytest.raises(ProviderRejected) as info:
        client.submit(model_path="fal-ai/ai-avatar", inputs={})
    assert info.value.code == "bad_input"


def test_429_honours_retry_after():
    client, router, sleeps = post(
        [
            httpx.Response(429, json={"detail": "Too many concurrent requests"}, headers={"Retry-After": "6"}),
            queued_answer(),
        ]
    )
    assert client.submit(model_path="fal-ai/ai-avatar", inputs={}).request_id == REQ_ID
    assert sleeps == [6.0]


def test_429_exhausted_is_rate_limited():
    limited = httpx.Response(429, json={"detail": "Too many"}, headers={"Retry-After": "4"})
    client, _, _ = post([limited, limited], max_retries=1)
    with pytest.raises(ProviderRateLimited) as info:
        client.submit(model_path="fal-ai/ai-avatar", inputs={})
    assert info.value.retry_after == 4.0


def test_5xx_retried_then_succeeds():
    client, router, sleeps = post(
        [httpx.Response(500, json={"detail": "boom"}), httpx.Response(503, text="unavailable"), queued_answer()]
    )
    assert client.submit(model_path="fal-ai/ai-avatar", inputs={}).request_id == REQ_ID
    assert len(router.requests) == 3 and len(sleeps) == 2


def test_5xx_exhausted_is_unavailable():
    client, router, sleeps = post([httpx.Response(500, json={"detail": "boom"})] * 3, max_retries=2)
    with pytest.raises(ProviderUnavailable):
        client.submit(model_path="fal-ai/ai-avatar", inputs={})
    assert len(router.requests) == 3 and len(sleeps) == 2


def test_connection_error_retried():
    client, router, _ = post([httpx.ConnectError("refused"), queued_answer()])
    assert client.submit(model_path="fal-ai/ai-avatar", inputs={}).request_id == REQ_ID
    assert len(router.requests) == 2


def test_malformed_json_is_unavailable():
    client, _, _ = post([httpx.Response(200, content=b"not json")])
    with pytest.raises(ProviderUnavailable):
        client.submit(model_path="fal-ai/ai-avatar", inputs={})


@pytest.mark.parametrize("header", ["X-Fal-Retryable", "X-Fal-Needs-Retry"])
def test_retryable_header_makes_a_4xx_unavailable_and_retried(header):
    client, router, sleeps = post(
        [
            httpx.Response(400, json={"detail": "upstream hiccup"}, headers={header: "true"}),
            queued_answer(),
        ]
    )
    assert client.submit(model_path="fal-ai/ai-avatar", inputs={}).request_id == REQ_ID
    assert len(router.requests) == 2 and len(sleeps) == 1


def test_retryable_header_exhausted_raises_unavailable():
    answer = httpx.Response(400, json={"detail": "hiccup"}, headers={"X-Fal-Retryable": "true"})
    client, _, _ = post([answer], max_retries=0)
    with pytest.raises(ProviderUnavailable) as info:
        client.submit(model_path="fal-ai/ai-avatar", inputs={})
    assert isinstance(info.value, FalRetryable) and info.value.http_status == 400


def test_retryable_false_is_not_retryable():
    client, _, _ = post([httpx.Response(400, json={"detail": "bad"}, headers={"X-Fal-Retryable": "false"})])
    with pytest.raises(ProviderRejected):
        client.submit(model_path="fal-ai/ai-avatar", inputs={})


# -- cancel -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "word"),
    [
        (202, "OK"),
        (202, "CANCELLATION_REQUESTED"),
        (400, "ALREADY_COMPLETED"),
        (409, "ALREADY_COMPLETED"),
        (404, "NOT_FOUND"),
    ],
)
def test_cancel_outcomes(status, word):
    router = Router().add("PUT", f"{ROOT}/cancel", httpx.Response(status, json={"status": word}))
    client, sleeps = make(router)
    result = client.cancel(handle=HANDLE)
    assert result.status == word
    (request,) = router.requests
    assert request.method == "PUT" and request.headers["authorization"] == f"Key {KEY}"
    assert sleeps == []


def test_cancel_auth_error_raises():
    router = Router().add("PUT", f"{ROOT}/cancel", httpx.Response(401, json={"detail": "no"}))
    client, _ = make(router)
    with pytest.raises(ProviderAuthError):
        client.cancel(handle=HANDLE)


# -- webhooks -----------------------------------------------------------------------------------------
def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwk(private: Ed25519PrivateKey) -> dict:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": "k1"}


def sign(
    private: Ed25519PrivateKey,
    body: bytes,
    *,
    request_id: str = REQ_ID,
    user_id: str = "user-42",
    timestamp: int | None = None,
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    message = f"{request_id}\n{user_id}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()
    return {
        "X-Fal-Webhook-Request-Id": request_id,
        "X-Fal-Webhook-User-Id": user_id,
        "X-Fal-Webhook-Timestamp": str(timestamp),
        "X-Fal-Webhook-Signature": private.sign(message).hex(),
    }


def ok_body() -> bytes:
    return json.dumps(
        {
            "request_id": REQ_ID,
            "gateway_request_id": REQ_ID,
            "status": "OK",
            "payload": {"video": {"url": VIDEO, "content_type": "video/mp4"}, "seed": 81},
        }
    ).encode()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_signed_webhook_parses(key):
    router = Router(jwks={"keys": [jwk(Ed25519PrivateKey.generate()), jwk(key)]})  # ANY key will do
    client, _ = make(router)
    body = ok_body()
    event = client.parse_webhook(headers=sign(key, body), body=body)
    assert event.request_id == REQ_ID
    assert (event.result.state, event.result.video_url) == ("succeeded", VIDEO)
    (jwks_request,) = router.requests
    assert str(jwks_request.url) == JWKS_URL
    assert "authorization" not in jwks_request.headers  # our key never goes to the JWKS host


def test_error_webhook_is_a_failed_result(key):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    body = json.dumps(
        {
            "request_id": REQ_ID,
            "gateway_request_id": REQ_ID,
            "status": "ERROR",
            "error": "Invalid status code: 422",
            "payload": {
                "detail": [
                    {"loc": ["body", "image_url"], "msg": "Could not download the image", "type": "file_download_error"}
                ]
            },
        }
    ).encode()
    event = client.parse_webhook(headers=sign(key, body), body=body)
    assert event.result.state == "failed"
    assert event.result.error == "image_url: Could not download the image"


def test_error_webhook_without_detail_uses_error(key):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    body = json.dumps({"request_id": REQ_ID, "status": "ERROR", "error": "Request timed out", "payload": None}).encode()
    event = client.parse_webhook(headers=sign(key, body), body=body)
    assert (event.result.state, event.result.error) == ("failed", "Request timed out")


def test_cancelled_error_webhook_is_canceled(key):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    body = json.dumps({"request_id": REQ_ID, "status": "ERROR", "error": "Invalid status code: 499",
                       "payload": {"detail": "Request was cancelled by the client",
                                   "error_type": "client_cancelled"}}).encode()
    event = client.parse_webhook(headers=sign(key, body), body=body)
    assert (event.result.state, event.result.error) == ("canceled", "Request was cancelled by the client")


def test_payload_error_webhook_leaves_the_job_to_polling(key):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    body = json.dumps(
        {"request_id": REQ_ID, "status": "OK", "payload": None, "payload_error": "Response payload too large"}
    ).encode()
    event = client.parse_webhook(headers=sign(key, body), body=body)
    assert event.result.state == "running" and not event.result.is_final


def test_tampered_body_is_refused(key):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    body = ok_body()
    headers = sign(key, body)
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=headers, body=body.replace(b"zebra", b"hyena"))


def test_wrong_key_is_refused_after_one_refetch(key):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    clock = [1000.0]
    client.jwks_cache = JwksCache(clock=lambda: clock[0])
    body = ok_body()
    client.parse_webhook(headers=sign(key, body), body=body)  # primes the cache
    clock[0] += 60  # past the refetch guard
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=sign(Ed25519PrivateKey.generate(), body), body=body)
    assert router.jwks_fetches == 2  # refetched exactly once


def test_rotated_key_is_found_by_refetching(key):
    old = Ed25519PrivateKey.generate()
    router = Router(jwks={"keys": [jwk(old)]})
    client, _ = make(router)
    clock = [0.0]
    client.jwks_cache = JwksCache(clock=lambda: clock[0])
    body = ok_body()
    client.parse_webhook(headers=sign(old, body), body=body)
    router.jwks = {"keys": [jwk(key)]}  # fal rotated its key
    clock[0] += 120
    assert client.parse_webhook(headers=sign(key, body), body=body).result.state == "succeeded"
    assert router.jwks_fetches == 2


def test_keys_are_cached_and_forged_webhooks_do_not_hammer_the_jwks(key):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    body = ok_body()
    for _ in range(3):
        client.parse_webhook(headers=sign(key, body), body=body)
    for _ in range(3):
        with pytest.raises(WebhookVerificationError):
            client.parse_webhook(headers=sign(Ed25519PrivateKey.generate(), body), body=body)
    assert router.jwks_fetches == 1


def test_keys_expire_after_the_ttl(key):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    clock = [0.0]
    client.jwks_cache = JwksCache(clock=lambda: clock[0])
    body = ok_body()
    client.parse_webhook(headers=sign(key, body), body=body)
    clock[0] += fal_webhooks.JWKS_TTL_S + 1
    client.parse_webhook(headers=sign(key, body), body=body)
    assert router.jwks_fetches == 2


@pytest.mark.parametrize("offset", [-301, 301])
def test_stale_timestamp_is_refused(key, offset):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    body = ok_body()
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=sign(key, body, timestamp=int(time.time()) + offset), body=body)


@pytest.mark.parametrize(
    "missing",
    ["X-Fal-Webhook-Request-Id", "X-Fal-Webhook-User-Id", "X-Fal-Webhook-Timestamp", "X-Fal-Webhook-Signature"],
)
def test_missing_header_is_refused(key, missing):
    router = Router(jwks={"keys": [jwk(key)]})
    client, _ = make(router)
    body = ok_body()
    headers = sign(key, body)
    del headers[missing]
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=headers, body=body)


def test_non_hex_signature_is_refused(key):
    client, _ = make(Router(jwks={"keys": [jwk(key)]}))
    body = ok_body()
    headers = sign(key, body) | {"X-Fal-Webhook-Signature": "zz-not-hex"}
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=headers, body=body)


def test_body_naming_another_request_is_refused(key):
    client, _ = make(Router(jwks={"keys": [jwk(key)]}))
    body = ok_body()
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=sign(key, body, request_id="another-request"), body=body)


def test_lowercase_headers_work(key):
    client, _ = make(Router(jwks={"keys": [jwk(key)]}))
    body = ok_body()
    headers = {k.lower(): v for k, v in sign(key, body).items()}
    assert client.parse_webhook(headers=headers, body=body).request_id == REQ_ID


def test_unreachable_jwks_is_unavailable(key):
    router = Router()  # no JWKS route
    router.add("GET", JWKS_URL, httpx.ConnectError("down"))
    client, _ = make(router)
    body = ok_body()
    with pytest.raises(ProviderUnavailable):
        client.parse_webhook(headers=sign(key, body), body=body)


def test_public_keys_from_jwks_skips_other_keys(key):
    keys = fal_webhooks.public_keys_from_jwks(
        {
            "keys": [
                {"kty": "RSA", "n": "x", "e": "AQAB"},
                {"kty": "OKP", "crv": "X25519", "x": b64url(b"\x00" * 32)},
                {"kty": "OKP", "crv": "Ed25519", "x": "!!bad!!"},
                jwk(key),
            ]
        }
    )
    assert len(keys) == 1


def test_shared_jwks_cache_comes_from_config_extra(key):
    shared = JwksCache()
    config = ClientConfig(base_url=BASE, api_key=KEY, jwks_url=JWKS_URL, extra={"jwks_cache": shared})
    assert FalClient(config).jwks_cache is shared



def test_status_and_result_are_separate_operations():
    """fal's status answer carries no output; the result is its own GET on the response URL."""
    router = (
        Router()
        .add("GET", f"{ROOT}/status", httpx.Response(200, json={"status": "COMPLETED", "logs": []}))
        .add("GET", ROOT, httpx.Response(200, json={"video": {"url": VIDEO}, "seed": 1}))
    )
    client, _ = make(router)
    status = client.status(handle=HANDLE)
    assert (status.state, status.video_url) == ("succeeded", None)
    assert [str(r.url.copy_with(query=None)) for r in router.requests] == [f"{ROOT}/status"]
    result = client.result(handle=HANDLE)
    assert (result.state, result.video_url) == ("succeeded", VIDEO)
    assert [str(r.url.copy_with(query=None)) for r in router.requests] == [f"{ROOT}/status", ROOT]


def test_verify_webhook_checks_the_signature_alone(key):
    client, _ = make(Router(jwks={"keys": [jwk(key)]}))
    body = ok_body()
    assert client.verify_webhook(headers=sign(key, body), body=body) is None
    with pytest.raises(WebhookVerificationError):
        client.verify_webhook(headers=sign(key, body), body=body + b" ")


def test_parse_webhook_body_reads_a_verified_body():
    event = fal.parse_webhook_body(body=ok_body(), headers={"X-Fal-Webhook-Request-Id": REQ_ID})
    assert (event.request_id, event.delivery_id, event.result.video_url) == (REQ_ID, REQ_ID, VIDEO)


def test_cancel_answer_without_a_word_is_its_http_status():
    assert fal.parse_cancel(202, {}).status == "202"
