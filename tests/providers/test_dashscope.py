"""DashScope client: the exact create request of Alibaba's API page, task statuses, errors and cancel."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest

from providers.clients import dashscope
from providers.clients.dashscope import DashScopeClient, build_payload, parse_status
from providers.clients.errors import (
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    WebhookVerificationError,
)
from providers.clients.results import ClientConfig
from tests.providers.scripted_transport import ScriptedTransport

BASE = "https://dashscope-intl.aliyuncs.com/api/v1"
KEY = "sk-test"
TASK_ID = "686391d9-7ecf-4290-a8e9-0123456789ab"
DOC = "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN"

# The example of https://help.aliyun.com/zh/model-studio/wan-video-to-video-api-reference (the prompt
# and media exactly as the page gives them).
SEED_PROMPT = (
    "视频1抱着图3,在图4的椅子上弹奏一支舒缓的乡村民谣,并说道:“今天的阳光真好。”图1手中拿着图2,"
    "路过视频1,把手中的图2放到视频1旁边的桌子上,并说道:“真好听,能不能再唱一遍”。 "
)
SEED_MEDIA = [
    {"type": "reference_image", "url": f"{DOC}/20260408/sjuytr/wan-r2v-object-girl.jpg",
     "reference_voice": f"{DOC}/20260408/gbqewz/wan-r2v-girl-voice.mp3"},
    {"type": "reference_video", "url": f"{DOC}/20260129/qigswt/wan-r2v-role2.mp4",
     "reference_voice": f"{DOC}/20260408/isllrq/wan-r2v-boy-voice.mp3"},
    {"type": "reference_image", "url": f"{DOC}/20260129/rtjeqf/wan-r2v-object3.png"},
    {"type": "reference_image", "url": f"{DOC}/20260129/qpzxps/wan-r2v-object4.png"},
    {"type": "reference_image", "url": f"{DOC}/20260129/wfjikw/wan-r2v-backgroud5.png"},
]
SEED_INPUT = {"prompt": SEED_PROMPT, "media": SEED_MEDIA, "resolution": "720P", "ratio": "16:9", "duration": 10,
              "prompt_extend": False, "watermark": True}

CREATED = {"request_id": "6dc3bf6c-be18-9268-9c27-xxxxxx",
           "output": {"task_id": TASK_ID, "task_status": "PENDING"}}
SUCCEEDED = {  # the API page's query answer
    "request_id": "f6365287-336f-9f2b-ab59-xxxxxx",
    "output": {
        "task_id": TASK_ID,
        "task_status": "SUCCEEDED",
        "video_url": "https://dashscope-a717.oss-accelerate.aliyuncs.com/xxx.mp4?Expires=xxxx",
        "orig_prompt": SEED_PROMPT,
        "submit_time": "2026-04-17 17:15:11.536",
        "scheduled_time": "2026-04-17 17:15:20.316",
        "end_time": "2026-04-17 17:29:44.277",
    },
    "usage": {"video_count": 1, "duration": 15.0, "input_video_duration": 5.0, "output_video_duration": 10.0,
              "SR": "720"},
    "status_code": 200,
    "code": "",
    "message": "",
}




def make(*answers, max_retries: int = 3):
    mock = ScriptedTransport(*answers)
    sleeps: list[float] = []
    config = ClientConfig(base_url=BASE, api_key=KEY, max_retries=max_retries)
    return DashScopeClient(config, transport=mock.transport, sleep=sleeps.append), mock, sleeps


def error(status: int, code: str, message: str, headers=None) -> httpx.Response:
    return httpx.Response(status, json={"request_id": "req-1", "code": code, "message": message}, headers=headers)


def task(word: str, **output) -> dict:
    return {"request_id": "r", "output": {"task_id": TASK_ID, "task_status": word, **output}}


# -- create -----------------------------------------------------------------------------------------
def test_submit_sends_the_seed_request():
    client, mock, _ = make(httpx.Response(200, json=CREATED))
    submission = client.submit(model_path="wan2.7-r2v", inputs=SEED_INPUT)

    (request,) = mock.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/services/aigc/video-generation/video-synthesis"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-dashscope-async"] == "enable"
    assert json.loads(request.content) == {
        "model": "wan2.7-r2v",
        "input": {"prompt": SEED_PROMPT, "media": SEED_MEDIA},
        "parameters": {"resolution": "720P", "ratio": "16:9", "duration": 10, "prompt_extend": False,
                       "watermark": True},
    }
    assert submission.request_id == TASK_ID
    assert submission.handle == {"request_id": TASK_ID}


def test_submit_ignores_a_webhook_url():
    client, mock, _ = make(httpx.Response(200, json=CREATED))
    client.submit(model_path="wan2.7-r2v", inputs={"prompt": "p", "media": []}, webhook_url="https://x/hook")
    assert mock.requests[0].url.query == b""


def test_build_payload_sends_only_present_parameters_and_seed():
    body = build_payload("wan2.7-r2v", {"prompt": "Image 1 waves.", "media": [
        {"type": "reference_image", "url": "https://a/1.png", "reference_voice": None}], "seed": 7,
        "watermark": None})
    assert body == {"model": "wan2.7-r2v",
                    "input": {"prompt": "Image 1 waves.", "media": [{"type": "reference_image", "url": "https://a/1.png"}]},
                    "parameters": {"seed": 7}}


def test_build_payload_refuses_unknown_fields():
    with pytest.raises(ValueError):
        build_payload("wan2.7-r2v", {"prompt": "p", "size": "1280*720"})
    with pytest.raises(ValueError):
        build_payload("wan2.7-r2v", {"prompt": "p", "media": [{"type": "reference_image", "url": "u", "x": 1}]})


def test_submit_without_task_id_but_with_code_is_rejected():
    client, _, _ = make(httpx.Response(200, json={"request_id": "r", "code": "InvalidParameter",
                                                  "message": "media is required"}))
    with pytest.raises(ProviderRejected) as info:
        client.submit(model_path="wan2.7-r2v", inputs={"prompt": "p"})
    assert info.value.code == "InvalidParameter"


def test_submit_without_task_id_is_unavailable():
    client, _, _ = make(httpx.Response(200, json={"request_id": "r"}))
    with pytest.raises(ProviderUnavailable):
        client.submit(model_path="wan2.7-r2v", inputs={"prompt": "p"})


# -- poll -------------------------------------------------------------------------------------------
def test_poll_succeeded():
    client, mock, _ = make(httpx.Response(200, json=SUCCEEDED))
    result = client.poll(handle={"request_id": TASK_ID})
    (request,) = mock.requests
    assert request.method == "GET"
    assert str(request.url) == f"{BASE}/tasks/{TASK_ID}"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert "x-dashscope-async" not in request.headers
    assert result.state == "succeeded"
    assert result.video_url == SUCCEEDED["output"]["video_url"]


@pytest.mark.parametrize(
    ("word", "state"),
    [("PENDING", "queued"), ("SUSPENDED", "queued"), ("RUNNING", "running"), ("SUCCEEDED", "succeeded"),
     ("FAILED", "failed"), ("CANCELED", "canceled"), ("UNKNOWN", "failed")],
)
def test_parse_status_every_word(word, state):
    extra = {"video_url": "https://oss/x.mp4"} if word == "SUCCEEDED" else {}
    assert parse_status(task(word, **extra)).state == state


def test_parse_status_failed_carries_code_and_message():
    message = "Input data may contain inappropriate content."
    result = parse_status(task("FAILED", code="DataInspectionFailed", message=message))
    assert (result.state, result.error_code) == ("failed", "DataInspectionFailed")
    assert result.error == message


def test_parse_status_unknown_is_expired():
    result = parse_status(task("UNKNOWN"))
    assert (result.state, result.error) == ("failed", "task unknown or expired")


def test_parse_status_succeeded_without_url_is_failed():
    assert parse_status(task("SUCCEEDED")).state == "failed"


@pytest.mark.parametrize("body", [task("WEIRD"), {"request_id": "r"}])
def test_parse_status_unreadable_is_unavailable(body):
    with pytest.raises(ProviderUnavailable):
        parse_status(body)


# -- errors -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["InvalidParameter", "DataInspectionFailed", "InvalidURL"])
def test_400_codes_are_rejected(code):
    client, mock, sleeps = make(error(400, code, f"{code} happened"))
    with pytest.raises(ProviderRejected) as info:
        client.submit(model_path="wan2.7-r2v", inputs={"prompt": "p"})
    assert (info.value.code, info.value.message, info.value.http_status) == (code, f"{code} happened", 400)
    assert len(mock.requests) == 1 and sleeps == []


def test_arrearage_is_our_account_problem():
    client, _, _ = make(error(400, "Arrearage", "Access denied, please make sure your account is in good standing."))
    with pytest.raises(ProviderAuthError) as info:
        client.submit(model_path="wan2.7-r2v", inputs={"prompt": "p"})
    assert info.value.code == "Arrearage" and "arrears" in info.value.message


def test_401_invalid_api_key_is_auth():
    client, mock, _ = make(error(401, "InvalidApiKey", "Invalid API-key provided."))
    with pytest.raises(ProviderAuthError) as info:
        client.poll(handle={"request_id": TASK_ID})
    assert info.value.code == "InvalidApiKey" and len(mock.requests) == 1


def test_403_access_denied_is_auth():
    client, _, _ = make(error(403, "AccessDenied", "Access denied."))
    with pytest.raises(ProviderAuthError):
        client.poll(handle={"request_id": TASK_ID})


def test_413_too_large_is_rejected():
    client, _, _ = make(error(413, "BadRequest.TooLarge", "Payload Too Large"))
    with pytest.raises(ProviderRejected):
        client.submit(model_path="wan2.7-r2v", inputs={"prompt": "p"})


def test_429_throttling_honours_retry_after():
    client, mock, sleeps = make(error(429, "Throttling.RateQuota", "Requests rate limit exceeded",
                                      headers={"Retry-After": "5"}), httpx.Response(200, json=task("RUNNING")))
    assert client.poll(handle={"request_id": TASK_ID}).state == "running"
    assert sleeps == [5.0] and len(mock.requests) == 2


def test_429_exhausted_is_rate_limited():
    throttled = error(429, "Throttling", "Requests throttling triggered.")
    client, _, _ = make(throttled, throttled, max_retries=1)
    with pytest.raises(ProviderRateLimited) as info:
        client.poll(handle={"request_id": TASK_ID})
    assert info.value.code == "Throttling"


def test_throttling_code_on_another_status_is_rate_limited():
    client, _, _ = make(error(400, "Throttling.AllocationQuota", "quota"), max_retries=0)
    with pytest.raises(ProviderRateLimited):
        client.poll(handle={"request_id": TASK_ID})


def test_5xx_retried_then_succeeds():
    client, mock, sleeps = make(error(500, "InternalError", "An internal error has occured."),
                                error(503, "ServiceUnavailable", "busy"), httpx.Response(200, json=task("PENDING")))
    assert client.poll(handle={"request_id": TASK_ID}).state == "queued"
    assert len(mock.requests) == 3 and len(sleeps) == 2


def test_5xx_exhausted_is_unavailable():
    client, mock, _ = make(*[error(500, "InternalError", "x")] * 4)
    with pytest.raises(ProviderUnavailable) as info:
        client.poll(handle={"request_id": TASK_ID})
    assert info.value.code == "InternalError" and len(mock.requests) == 4


def test_408_is_unavailable():
    client, _, _ = make(error(408, "RequestTimeOut", "timeout"), max_retries=0)
    with pytest.raises(ProviderUnavailable):
        client.poll(handle={"request_id": TASK_ID})


def test_connection_error_retried():
    client, mock, _ = make(httpx.ConnectError("refused"), httpx.Response(200, json=CREATED))
    assert client.submit(model_path="wan2.7-r2v", inputs={"prompt": "p"}).request_id == TASK_ID
    assert len(mock.requests) == 2


def test_submit_read_timeout_not_resent():
    client, mock, _ = make(httpx.ReadTimeout("slow"), httpx.Response(200, json=CREATED))
    with pytest.raises(ProviderUnavailable):
        client.submit(model_path="wan2.7-r2v", inputs={"prompt": "p"})
    assert len(mock.requests) == 1


def test_malformed_json_is_unavailable():
    client, _, _ = make(httpx.Response(200, content=b"{not json"))
    with pytest.raises(ProviderUnavailable):
        client.poll(handle={"request_id": TASK_ID})


# -- cancel -----------------------------------------------------------------------------------------
def test_cancel_pending_answers_canceled():
    client, mock, _ = make(httpx.Response(200, json={"request_id": "r"}))
    result = client.cancel(handle={"request_id": TASK_ID})
    assert result.status == "CANCELED"
    (request,) = mock.requests
    assert request.method == "POST" and str(request.url) == f"{BASE}/tasks/{TASK_ID}/cancel"


def test_cancel_refused_answers_its_code():
    client, _, _ = make(error(400, "UnsupportedOperation", "Only PENDING tasks can be canceled."))
    result = client.cancel(handle={"request_id": TASK_ID})
    assert result.status == "UnsupportedOperation"


def test_cancel_answer_with_a_code_answers_the_code():
    assert dashscope.parse_cancel({"code": "UnsupportedOperation", "message": "x"}).status == "UnsupportedOperation"


def test_cancel_auth_error_raises():
    client, _, _ = make(error(401, "InvalidApiKey", "bad"))
    with pytest.raises(ProviderAuthError):
        client.cancel(handle={"request_id": TASK_ID})


# -- no webhooks --------------------------------------------------------------------------------------
def test_webhooks_are_refused():
    client, _, _ = make()
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers={}, body=b"{}")


# -- the provider's own account of the output (usage), for reconciliation ------------------------------
def test_poll_succeeded_carries_the_reported_output_seconds():
    client, _, _ = make(httpx.Response(200, json=SUCCEEDED))
    result = client.poll(handle={"request_id": TASK_ID})
    # output_video_duration, not duration (which adds the reference video's input seconds)
    assert result.provider_seconds == Decimal("10.0")


@pytest.mark.parametrize("usage", [None, {}, {"output_video_duration": None}, {"output_video_duration": "n/a"},
                                   {"output_video_duration": True}, {"output_video_duration": -1},
                                   {"output_video_duration": "NaN"}, "10"])
def test_unreadable_usage_reports_no_seconds(usage):
    body = {**task("SUCCEEDED", video_url="https://oss/x.mp4")}
    if usage is not None:
        body["usage"] = usage
    result = parse_status(body)
    assert result.state == "succeeded" and result.provider_seconds is None


def test_unfinished_tasks_report_no_seconds():
    assert parse_status(task("RUNNING")).provider_seconds is None
