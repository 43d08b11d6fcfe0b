"""The shared machinery of providers.clients.base: retries, backoff, error mapping, helpers."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from providers.clients import base
from providers.clients.base import (
    CancelResult,
    ClientConfig,
    PollResult,
    ProviderAuthError,
    ProviderClient,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    WebhookVerificationError,
)
from tests.providers.scripted_transport import ScriptedTransport

URL = "https://provider.example/thing"


class Dummy(ProviderClient):
    provider = "dummy"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer k"}




def make(*answers, cls=Dummy, **config):
    mock = ScriptedTransport(*answers)
    sleeps: list[float] = []
    client = cls(ClientConfig(base_url="https://provider.example", api_key="k", **config),
                 transport=mock.transport, sleep=sleeps.append)
    return client, mock, sleeps


def test_auth_headers_and_timeouts_are_applied():
    client, mock, _ = make(httpx.Response(200, json={}), connect_timeout=2.0, read_timeout=9.0)
    client._request("GET", URL)
    request = mock.requests[0]
    assert request.headers["authorization"] == "Bearer k"
    assert request.extensions["timeout"] == {"connect": 2.0, "read": 9.0, "write": 9.0, "pool": 9.0}


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, ProviderRejected), (404, ProviderRejected), (422, ProviderRejected), (401, ProviderAuthError),
     (403, ProviderAuthError), (408, ProviderUnavailable), (429, ProviderRateLimited), (500, ProviderUnavailable),
     (503, ProviderUnavailable)],
)
def test_status_mapping(status, error):
    client, _, _ = make(*[httpx.Response(status, text="nope")] * 5, max_retries=0)
    with pytest.raises(error) as info:
        client._request("GET", URL)
    assert info.value.http_status == status and info.value.provider == "dummy"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_final_errors_are_not_retried(status):
    client, mock, sleeps = make(httpx.Response(status, text="no"), httpx.Response(200, json={}))
    with pytest.raises(ProviderError):
        client._request("GET", URL)
    assert len(mock.requests) == 1 and sleeps == []


def test_5xx_retried_with_jittered_backoff_then_succeeds():
    client, mock, sleeps = make(httpx.Response(500), httpx.Response(502), httpx.Response(200, json={"ok": 1}),
                                backoff_base=0.5, backoff_cap=8.0)
    assert client._request("GET", URL).json() == {"ok": 1}
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_retries_stop_at_max_retries():
    client, mock, sleeps = make(*[httpx.Response(503)] * 3, max_retries=2)
    with pytest.raises(ProviderUnavailable):
        client._request("GET", URL)
    assert len(mock.requests) == 3 and len(sleeps) == 2


def test_backoff_is_capped():
    client, _, _ = make(backoff_base=1.0, backoff_cap=4.0)
    error = ProviderUnavailable("x")
    assert all(0 <= client._backoff(10, error) <= 4.0 for _ in range(50))


def test_retry_after_seconds_is_honoured():
    client, _, sleeps = make(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={}))
    client._request("GET", URL)
    assert sleeps == [7.0]


def test_long_retry_after_is_left_to_the_job_layer():
    """A Retry-After longer than the in-process backoff cap is not slept on: the error is raised
    at once with its retry_after, and the job layer schedules the retry as DB state."""
    client, mock, sleeps = make(httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200, json={}),
                                backoff_cap=8.0)
    with pytest.raises(ProviderRateLimited) as info:
        client._request("GET", URL)
    assert info.value.retry_after == 3600.0
    assert sleeps == []


def test_short_retry_after_is_honoured_in_process():
    client, _, sleeps = make(httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200, json={}),
                             backoff_cap=8.0)
    client._request("GET", URL)
    assert sleeps == [3.0]


def test_rate_limited_carries_retry_after():
    client, _, _ = make(httpx.Response(429, headers={"Retry-After": "12"}), max_retries=0)
    with pytest.raises(ProviderRateLimited) as info:
        client._request("GET", URL)
    assert info.value.retry_after == 12.0
    assert isinstance(info.value, ProviderUnavailable)


def test_parse_retry_after_forms():
    assert base.parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert base.parse_retry_after({"retry-after": "-3"}) == 0.0
    assert base.parse_retry_after({}) is None
    assert base.parse_retry_after({"retry-after": "soon"}) is None
    future = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= base.parse_retry_after({"retry-after": future}) <= 61


def test_connection_error_is_retried():
    client, mock, sleeps = make(httpx.ConnectError("refused"), httpx.Response(200, json={}))
    client._request("POST", URL, idempotent=False)
    assert len(mock.requests) == 2 and len(sleeps) == 1


def test_connection_error_exhausted_is_unavailable():
    client, _, _ = make(*[httpx.ConnectError("refused")] * 2, max_retries=1)
    with pytest.raises(ProviderUnavailable):
        client._request("GET", URL)


def test_read_timeout_retried_when_idempotent():
    client, mock, _ = make(httpx.ReadTimeout("slow"), httpx.Response(200, json={}))
    client._request("GET", URL)
    assert len(mock.requests) == 2


def test_read_timeout_not_resent_when_not_idempotent():
    client, mock, sleeps = make(httpx.ReadTimeout("slow"), httpx.Response(200, json={}))
    with pytest.raises(ProviderUnavailable):
        client._request("POST", URL, idempotent=False)
    assert len(mock.requests) == 1 and sleeps == []


def test_connect_timeout_resent_even_when_not_idempotent():
    client, mock, _ = make(httpx.ConnectTimeout("slow"), httpx.Response(200, json={}))
    client._request("POST", URL, idempotent=False)
    assert len(mock.requests) == 2


def test_json_of_malformed_answer_is_unavailable():
    client, _, _ = make(httpx.Response(200, content=b"\xff\xfe not json"))
    response = client._request("GET", URL)
    with pytest.raises(ProviderUnavailable):
        client._json(response)


class InBody(Dummy):
    """A provider that answers 200 with the real status in the body (as WaveSpeed does)."""

    def answer_error(self, response):
        code = response.json().get("code", 200)
        if code != 200:
            return ProviderUnavailable("in-body failure", provider=self.provider, http_status=code)
        return None


def test_answer_error_hook_is_retried_like_an_http_error():
    client, mock, sleeps = make(httpx.Response(200, json={"code": 500}), httpx.Response(200, json={"code": 200}),
                                cls=InBody)
    assert client._request("GET", URL).json() == {"code": 200}
    assert len(mock.requests) == 2 and len(sleeps) == 1


def test_default_cancel_and_webhook_refuse():
    client, _, _ = make()
    with pytest.raises(ProviderRejected):
        client.cancel(handle={})
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers={}, body=b"")


def test_error_str_names_provider_status_and_code():
    error = ProviderRejected("bad input", provider="fal", http_status=422, code="validation")
    assert str(error) == "[fal 422 validation] bad input"
    assert str(ProviderError("plain")) == "plain"


def test_poll_result_is_final():
    assert [PollResult(state=s).is_final for s in ("queued", "running", "succeeded", "failed", "canceled")] == [
        False, False, True, True, True]


def test_cancel_result_defaults():
    assert CancelResult(accepted=True, final=False).status == ""


def test_same_origin():
    assert base.same_origin("https://api.wavespeed.ai/api/v3/x", "https://api.wavespeed.ai")
    assert base.same_origin("http://127.0.0.1:8700/a", "http://127.0.0.1:8700")
    assert not base.same_origin("http://127.0.0.1:8701/a", "http://127.0.0.1:8700")
    assert not base.same_origin("http://api.wavespeed.ai/x", "https://api.wavespeed.ai")
    assert not base.same_origin("https://evil.example/x", "https://api.wavespeed.ai")
    assert not base.same_origin("/relative", "https://api.wavespeed.ai")


def test_with_query_merges():
    assert base.with_query("https://x/a?foo=1", {"logs": "1"}) == "https://x/a?foo=1&logs=1"
    assert base.with_query("https://x/a", {"hook": "https://h/p?q=1"}) == "https://x/a?hook=https%3A%2F%2Fh%2Fp%3Fq%3D1"


def test_lower_headers():
    assert base.lower_headers({"X-Fal-Webhook-Request-Id": "1"}) == {"x-fal-webhook-request-id": "1"}
