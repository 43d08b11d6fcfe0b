"""WaveSpeed client: the exact requests of the model pages' examples, statuses, errors, cancel, webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest

from providers.clients import wavespeed
from providers.clients.errors import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    WebhookVerificationError,
)
from providers.clients.results import ClientConfig
from providers.clients.wavespeed import WaveSpeedClient, parse_status
from tests.providers.scripted_transport import ScriptedTransport

BASE = "https://api.wavespeed.ai"
KEY = "ws-test-key"
SECRET = "whsec_ZW11bGF0b3Itd2ViaG9vay1zZWNyZXQ="  # looks base64; WaveSpeed uses the text as is
IMAGE = "https://files.example/signed/image.png?sig=abc"
AUDIO = "https://files.example/signed/audio.mp3?sig=def"
PRED_ID = "e1b6c6b6a8f54b8b9c0f1a2b3c4d5e6f"


def envelope(
    status: str = "created",
    *,
    outputs=(),
    error: str = "",
    code: int = 200,
    message: str = "success",
    get_url: str | None = None,
) -> dict:
    return {
        "code": code,
        "message": message,
        "data": {
            "id": PRED_ID,
            "model": "wavespeed-ai/wan-2.1/multitalk",
            "outputs": list(outputs),
            "urls": {"get": get_url or f"{BASE}/api/v3/predictions/{PRED_ID}/result"},
            "has_nsfw_contents": [False] * len(outputs),
            "status": status,
            "created_at": "2023-04-01T12:34:56.789Z",
            "error": error,
            "timings": {"inference": 61234},
        },
    }




def make(*answers, max_retries: int = 3, secret: str = SECRET):
    mock = ScriptedTransport(*answers)
    sleeps: list[float] = []
    config = ClientConfig(base_url=BASE, api_key=KEY, webhook_secret=secret, max_retries=max_retries)
    client = WaveSpeedClient(config, transport=mock.transport, sleep=sleeps.append)
    return client, mock, sleeps


def ok(body, status: int = 200, headers=None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


# -- submit: the exact requests of the model pages' examples ---------------------------------------
SEED_EXAMPLES = [
    # https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.1-multitalk: example body {"seed": -1}
    # plus the required image/audio.
    ("wavespeed-ai/wan-2.1/multitalk", {"image": IMAGE, "audio": AUDIO, "prompt": "A woman sings.", "seed": -1}),
    # https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.2-speech-to-video: example body
    # {"prompt": "", "resolution": "480p", "seed": -1}.
    (
        "wavespeed-ai/wan-2.2/speech-to-video",
        {"image": IMAGE, "audio": AUDIO, "prompt": "", "resolution": "480p", "seed": -1},
    ),
    # https://wavespeed.ai/docs/docs-api/wavespeed-ai/hunyuan-avatar: example body {"resolution": "480p"}.
    ("wavespeed-ai/hunyuan-avatar", {"audio": AUDIO, "image": IMAGE, "resolution": "480p"}),
]


@pytest.mark.parametrize(("model_path", "inputs"), SEED_EXAMPLES)
def test_submit_sends_the_seed_request(model_path, inputs):
    client, mock, _ = make(ok(envelope()))
    submission = client.submit(model_path=model_path, inputs=inputs)

    (request,) = mock.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/api/v3/{model_path}"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == inputs
    assert submission.request_id == PRED_ID
    assert submission.handle == {"request_id": PRED_ID, "get_url": f"{BASE}/api/v3/predictions/{PRED_ID}/result"}


def test_submit_puts_the_webhook_in_the_query_not_the_body():
    client, mock, _ = make(ok(envelope()))
    hook = "https://parley.example/hooks/providers/wavespeed/live?x=1"
    client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={"audio": AUDIO, "image": IMAGE}, webhook_url=hook)
    request = mock.requests[0]
    assert request.url.path == "/api/v3/wavespeed-ai/hunyuan-avatar"
    assert request.url.params["webhook"] == hook
    assert "webhook" not in json.loads(request.content)
    assert "webhook_url" not in json.loads(request.content)


def test_submit_drops_none_keeps_empty_strings():
    client, mock, _ = make(ok(envelope()))
    client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={"image": IMAGE, "prompt": "", "seed": None})
    assert json.loads(mock.requests[0].content) == {"image": IMAGE, "prompt": ""}


def test_submit_falls_back_to_the_result_url_when_urls_get_is_missing_or_foreign():
    body = envelope()
    del body["data"]["urls"]
    client, _, _ = make(ok(body))
    handle = client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={}).handle
    assert handle["get_url"] == f"{BASE}/api/v3/predictions/{PRED_ID}/result"

    client, _, _ = make(ok(envelope(get_url="https://evil.example/steal")))
    handle = client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={}).handle
    assert handle["get_url"] == f"{BASE}/api/v3/predictions/{PRED_ID}/result"


def test_submit_without_an_id_is_unavailable():
    client, _, _ = make(ok({"code": 200, "message": "success", "data": {}}))
    with pytest.raises(ProviderUnavailable):
        client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={})


# -- poll -----------------------------------------------------------------------------------------
def test_poll_follows_the_answered_get_url():
    get_url = f"{BASE}/api/v3/predictions/{PRED_ID}"  # some pages' answers omit /result
    client, mock, _ = make(ok(envelope("completed", outputs=["https://cdn.wavespeed.ai/out.mp4"])))
    result = client.poll(handle={"request_id": PRED_ID, "get_url": get_url})
    (request,) = mock.requests
    assert request.method == "GET"
    assert str(request.url) == get_url
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert result.state == "succeeded"
    assert result.video_url == "https://cdn.wavespeed.ai/out.mp4"
    assert result.is_final


def test_poll_without_get_url_uses_the_seed_result_url():
    client, mock, _ = make(ok(envelope("processing")))
    assert client.poll(handle={"request_id": PRED_ID}).state == "running"
    assert str(mock.requests[0].url) == f"{BASE}/api/v3/predictions/{PRED_ID}/result"


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("created", "queued"),
        ("processing", "running"),
        ("completed", "succeeded"),
        ("failed", "failed"),
        ("cancelled", "canceled"),
        ("canceled", "canceled"),
        ("deleted", "canceled"),
        ("timeout", "failed"),
    ],
)
def test_parse_status_every_word(word, state):
    prediction = envelope(word, outputs=["https://cdn/o.mp4"] if word == "completed" else [])["data"]
    assert parse_status(prediction).state == state


def test_parse_status_failed_carries_the_error():
    result = parse_status(envelope("failed", error="face not detected")["data"])
    assert (result.state, result.error) == ("failed", "face not detected")


def test_parse_status_timeout_is_failed_with_a_code():
    result = parse_status(envelope("timeout")["data"])
    assert result.state == "failed" and result.error_code == "timeout" and result.error


def test_parse_status_completed_without_outputs_is_failed():
    result = parse_status(envelope("completed")["data"])
    assert result.state == "failed" and result.error_code == "no_output"


def test_parse_status_unknown_word_is_unavailable():
    with pytest.raises(ProviderUnavailable):
        parse_status({"id": PRED_ID, "status": "teleported"})


# -- errors ---------------------------------------------------------------------------------------
def test_401_is_an_auth_error_and_not_retried():
    client, mock, sleeps = make(ok({"code": 401, "message": "Unauthorized"}, 401))
    with pytest.raises(ProviderAuthError) as info:
        client.poll(handle={"request_id": PRED_ID})
    assert info.value.http_status == 401 and "Unauthorized" in info.value.message
    assert len(mock.requests) == 1 and sleeps == []


def test_http_200_with_envelope_code_401_is_an_auth_error():
    client, _, _ = make(ok({"code": 401, "message": "Invalid API key", "data": None}, 200))
    with pytest.raises(ProviderAuthError) as info:
        client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={})
    assert info.value.http_status == 401 and info.value.message == "Invalid API key"


def test_402_is_our_account_problem():
    client, _, _ = make(ok({"code": 402, "message": "Insufficient balance"}, 402))
    with pytest.raises(ProviderAuthError) as info:
        client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={})
    assert "Insufficient balance" in info.value.message


@pytest.mark.parametrize("http_status", [400, 200])
def test_400_is_rejected_with_the_message(http_status):
    client, mock, _ = make(ok({"code": 400, "message": "image is required", "data": None}, http_status))
    with pytest.raises(ProviderRejected) as info:
        client.submit(model_path="wavespeed-ai/wan-2.1/multitalk", inputs={"audio": AUDIO})
    assert info.value.message == "image is required"
    assert info.value.http_status == 400
    assert len(mock.requests) == 1


def test_422_is_rejected():
    client, _, _ = make(ok({"code": 422, "message": "seed: must be <= 2147483647"}, 422))
    with pytest.raises(ProviderRejected):
        client.submit(model_path="wavespeed-ai/wan-2.1/multitalk", inputs={"seed": 2**40})


def test_429_honours_retry_after_then_succeeds():
    client, mock, sleeps = make(
        ok({"code": 429, "message": "Too many requests"}, 429, headers={"Retry-After": "7"}),
        ok(envelope()),
    )
    assert client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={}).request_id == PRED_ID
    assert sleeps == [7.0]
    assert len(mock.requests) == 2


def test_envelope_429_honours_retry_after():
    client, _, sleeps = make(
        ok({"code": 429, "message": "Too many requests"}, 200, headers={"Retry-After": "3"}),
        ok(envelope("processing")),
    )
    assert client.poll(handle={"request_id": PRED_ID}).state == "running"
    assert sleeps == [3.0]


def test_429_exhausted_is_rate_limited_with_retry_after():
    limited = ok({"code": 429, "message": "Too many requests"}, 429, headers={"Retry-After": "2"})
    client, mock, sleeps = make(limited, limited, max_retries=1)
    with pytest.raises(ProviderRateLimited) as info:
        client.poll(handle={"request_id": PRED_ID})
    assert info.value.retry_after == 2.0
    assert sleeps == [2.0] and len(mock.requests) == 2


def test_5xx_is_retried_then_succeeds():
    client, mock, sleeps = make(
        ok({"code": 500, "message": "internal"}, 500),
        ok({"code": 503, "message": "busy"}, 200),  # envelope code counts too
        ok(envelope("created")),
    )
    assert client.poll(handle={"request_id": PRED_ID}).state == "queued"
    assert len(mock.requests) == 3 and len(sleeps) == 2
    assert all(0 <= s <= 8.0 for s in sleeps)


def test_5xx_exhausted_is_unavailable():
    client, mock, sleeps = make(*[ok({"code": 502, "message": "bad gateway"}, 502)] * 4, max_retries=3)
    with pytest.raises(ProviderUnavailable) as info:
        client.poll(handle={"request_id": PRED_ID})
    assert info.value.http_status == 502
    assert len(mock.requests) == 4 and len(sleeps) == 3


def test_connection_error_is_retried():
    client, mock, sleeps = make(httpx.ConnectError("refused"), ok(envelope()))
    assert client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={}).request_id == PRED_ID
    assert len(mock.requests) == 2 and len(sleeps) == 1


def test_submit_read_timeout_is_not_resent():
    client, mock, _ = make(httpx.ReadTimeout("slow"), ok(envelope()))
    with pytest.raises(ProviderUnavailable):
        client.submit(model_path="wavespeed-ai/hunyuan-avatar", inputs={})
    assert len(mock.requests) == 1


def test_malformed_json_is_unavailable():
    client, _, _ = make(httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(ProviderUnavailable):
        client.poll(handle={"request_id": PRED_ID})


# -- cancel ---------------------------------------------------------------------------------------
def deleted() -> httpx.Response:
    return ok({"code": 200, "message": "success", "data": {"id": PRED_ID, "status": "deleted"}})


def test_cancel_a_created_prediction_deletes_it():
    client, mock, _ = make(ok(envelope("created")), deleted())
    result = client.cancel(handle={"request_id": PRED_ID})
    assert result.status == "deleted"
    assert mock.requests[1].method == "DELETE"
    assert str(mock.requests[1].url) == f"{BASE}/api/v3/predictions/{PRED_ID}"
    assert mock.requests[1].headers["authorization"] == f"Bearer {KEY}"


def test_cancel_a_processing_prediction_deletes_it_too():
    client, mock, _ = make(ok(envelope("processing")), deleted())
    result = client.cancel(handle={"request_id": PRED_ID})
    assert result.status == "deleted"
    assert [r.method for r in mock.requests] == ["GET", "DELETE"]


def test_cancel_a_finished_prediction_sends_no_delete():
    client, mock, _ = make(ok(envelope("completed", outputs=["https://cdn/o.mp4"])))
    result = client.cancel(handle={"request_id": PRED_ID})
    assert result.status == "succeeded"
    assert [r.method for r in mock.requests] == ["GET"]


def test_cancel_refused_answers_the_message():
    client, _, _ = make(ok(envelope("processing")), ok({"code": 400, "message": "cannot cancel"}, 400))
    result = client.cancel(handle={"request_id": PRED_ID})
    assert result.status == "cannot cancel"


def test_cancel_when_the_status_call_404s_still_deletes():
    client, mock, _ = make(ok({"code": 404, "message": "not found"}, 404), deleted())
    result = client.cancel(handle={"request_id": PRED_ID})
    assert result.status == "deleted"
    assert [r.method for r in mock.requests] == ["GET", "DELETE"]


# -- webhooks -------------------------------------------------------------------------------------
def sign(
    body: bytes,
    *,
    webhook_id: str = "msg_1",
    timestamp: int | None = None,
    key: bytes | None = None,
    version: str = "v3",
) -> dict[str, str]:
    """Sign as WaveSpeed does (https://wavespeed.ai/docs/docs-api/verifying_webhook): HMAC-SHA256,
    key = the secret minus ``whsec_`` as text."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = SECRET.removeprefix("whsec_").encode() if key is None else key
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"{version},{digest}"}


def completed_prediction() -> dict:
    return {
        "id": PRED_ID,
        "model": "wavespeed-ai/wan-2.1/multitalk",
        "input": {"image": IMAGE, "audio": AUDIO},
        "outputs": ["https://cdn.wavespeed.ai/out.mp4"],
        "urls": {"get": f"{BASE}/api/v3/predictions/{PRED_ID}/result"},
        "has_nsfw_contents": [False],
        "status": "completed",
        "created_at": "2023-04-01T12:34:56.789Z",
        "error": "",
    }


def test_signed_webhook_parses():
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    event = client.parse_webhook(headers=sign(body), body=body)
    assert event.request_id == PRED_ID
    assert event.delivery_id == "msg_1"
    assert event.result.state == "succeeded"
    assert event.result.video_url == "https://cdn.wavespeed.ai/out.mp4"


def test_signed_webhook_in_the_envelope_parses_and_headers_are_case_insensitive():
    client, _, _ = make()
    prediction = completed_prediction() | {"status": "failed", "outputs": [], "error": "out of memory"}
    body = json.dumps({"code": 200, "message": "success", "data": prediction}).encode()
    headers = {k.title(): v for k, v in sign(body).items()}
    event = client.parse_webhook(headers=headers, body=body)
    assert (event.result.state, event.result.error) == ("failed", "out of memory")


def test_one_of_several_signatures_is_enough():
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    headers = sign(body)
    headers["webhook-signature"] = "v3,deadbeef " + headers["webhook-signature"]
    assert client.parse_webhook(headers=headers, body=body).request_id == PRED_ID


def test_tampered_body_is_refused():
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    headers = sign(body)
    tampered = body.replace(b"out.mp4", b"evil.mp4")
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=headers, body=tampered)


def test_wrong_key_is_refused():
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=sign(body, key=b"another-secret"), body=body)


def test_standard_webhooks_base64_key_is_not_what_wavespeed_uses():
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    b64_key = base64.b64decode(SECRET.removeprefix("whsec_"))
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=sign(body, key=b64_key), body=body)


def test_key_including_the_whsec_prefix_is_refused():
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=sign(body, key=SECRET.encode()), body=body)


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_timestamp_outside_300_s_is_refused(offset):
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=sign(body, timestamp=int(time.time()) + offset), body=body)


def test_timestamp_inside_the_window_is_accepted():
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    assert client.parse_webhook(headers=sign(body, timestamp=int(time.time()) - 250), body=body)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(missing):
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    headers = sign(body)
    del headers[missing]
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=headers, body=body)


def test_other_signature_version_is_refused():
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=sign(body, version="v1"), body=body)


def test_no_configured_secret_refuses_everything():
    client, _, _ = make(secret="")
    body = json.dumps(completed_prediction()).encode()
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers=sign(body), body=body)


def test_sign_webhook_matches_the_published_scheme():
    body = b'{"id":"x"}'
    expected = hmac.new(b"abc", b"id1.1700000000." + body, hashlib.sha256).hexdigest()
    assert wavespeed.sign_webhook(secret="whsec_abc", webhook_id="id1", timestamp=1700000000, body=body) == (
        f"v3,{expected}"
    )



def test_verify_webhook_checks_the_signature_alone():
    client, _, _ = make()
    body = json.dumps(completed_prediction()).encode()
    assert client.verify_webhook(headers=sign(body), body=body) is None
    with pytest.raises(WebhookVerificationError):
        client.verify_webhook(headers=sign(body), body=body + b" ")


def test_parse_webhook_body_reads_a_verified_body():
    body = json.dumps({"code": 200, "data": completed_prediction()}).encode()
    event = wavespeed.parse_webhook_body(body=body, headers={"Webhook-Id": "msg_9"})
    assert (event.request_id, event.delivery_id, event.result.state) == (PRED_ID, "msg_9", "succeeded")
