"""The shared machinery of providers.clients.base: retries, backoff, error mapping (the payment
rule included), the webhook entry point and its timestamp window, helpers."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from providers.clients import base
from providers.clients.base import ProviderClient
from providers.clients.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    WebhookVerificationError,
)
from providers.clients.results import CancelResult, ClientConfig, PollResult, WebhookEvent
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
    assert CancelResult().status == ""


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


# -- the payment rule -----------------------------------------------------------------------------
def test_402_is_our_account_problem_for_every_provider():
    client, mock, sleeps = make(httpx.Response(402, text="Insufficient balance"), httpx.Response(200, json={}))
    with pytest.raises(ProviderAuthError) as info:
        client._request("GET", URL)
    assert (info.value.http_status, info.value.provider) == (402, "dummy")
    assert info.value.message == "The dummy account cannot pay for this: Insufficient balance"
    assert len(mock.requests) == 1 and sleeps == []


class Arrears(Dummy):
    """A provider that says "cannot pay" with a code on another status, in its own words."""

    unpaid_codes = ("Arrearage",)
    unpaid_message = "The dummy account is in arrears"

    def read_error(self, body, headers):
        return (body.get("message", ""), body.get("code"), {}) if isinstance(body, dict) else ("", None, {})


def test_unpaid_code_on_a_400_is_our_account_problem_in_the_providers_words():
    client, _, _ = make(httpx.Response(400, json={"code": "Arrearage", "message": "overdue"}), cls=Arrears)
    with pytest.raises(ProviderAuthError) as info:
        client._request("GET", URL)
    assert (info.value.code, info.value.http_status) == ("Arrearage", 400)
    assert info.value.message == "The dummy account is in arrears: overdue"


def test_other_codes_keep_the_status_table():
    client, _, _ = make(httpx.Response(400, json={"code": "InvalidParameter", "message": "bad"}), cls=Arrears)
    with pytest.raises(ProviderRejected) as info:
        client._request("GET", URL)
    assert (info.value.code, info.value.message) == ("InvalidParameter", "bad")


class RetryableHeader(Dummy):
    def error_kind(self, *, status, code, headers):
        return ProviderUnavailable if headers.get("x-retry") == "yes" else None


def test_error_kind_comes_before_the_payment_rule_and_the_table():
    client, mock, sleeps = make(httpx.Response(402, headers={"X-Retry": "yes"}), httpx.Response(200, json={}),
                                cls=RetryableHeader)
    client._request("GET", URL)
    assert len(mock.requests) == 2 and len(sleeps) == 1


def test_error_body_is_the_json_or_the_start_of_the_text():
    client, _, _ = make(httpx.Response(400, json={"a": 1}), max_retries=0)
    with pytest.raises(ProviderRejected) as info:
        client._request("GET", URL)
    assert info.value.body == {"a": 1}
    assert base.response_body(httpx.Response(500, text="x" * 3000)) == "x" * 2000


# -- the webhook entry point and its timestamp window ---------------------------------------------
class Hooks(Dummy):
    """Records what the webhook entry point calls, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def verify_webhook(self, *, headers, body):
        self.calls.append("verify")
        if headers.get("sig") != "good":
            raise WebhookVerificationError("bad signature")

    def parse_webhook_body(self, *, body, headers):
        self.calls.append("parse")
        return WebhookEvent(request_id=body.decode(), result=PollResult(state="running"))


def test_parse_webhook_verifies_then_parses():
    client, _, _ = make(cls=Hooks)
    assert client.parse_webhook(headers={"sig": "good"}, body=b"r1").request_id == "r1"
    assert client.calls == ["verify", "parse"]


def test_parse_webhook_reads_no_body_that_fails_verification():
    client, _, _ = make(cls=Hooks)
    with pytest.raises(WebhookVerificationError):
        client.parse_webhook(headers={"sig": "forged"}, body=b"r1")
    assert client.calls == ["verify"]


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamp_inside_300_s_either_way_is_accepted(offset):
    base.check_webhook_timestamp(str(1_700_000_000 + offset), now=1_700_000_000, header="webhook-timestamp")


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_timestamp_outside_300_s_is_refused(offset):
    with pytest.raises(WebhookVerificationError, match="webhook-timestamp is outside the allowed window"):
        base.check_webhook_timestamp(str(1_700_000_000 + offset), now=1_700_000_000, header="webhook-timestamp")


def test_timestamp_that_is_no_number_is_refused():
    with pytest.raises(WebhookVerificationError, match="X-Ts is not a Unix timestamp"):
        base.check_webhook_timestamp("yesterday", now=1_700_000_000, header="X-Ts")


def test_webhook_headers_are_case_insensitive_and_name_the_missing_ones():
    assert base.webhook_headers({"X-A": "1", "x-b": "2"}, "x-a", "X-B") == ("1", "2")
    with pytest.raises(WebhookVerificationError, match="Missing webhook header: X-B, X-C."):
        base.webhook_headers({"X-A": "1", "X-B": ""}, "X-A", "X-B", "X-C")


def test_webhook_json():
    assert base.webhook_json(b'{"id": "x"}') == {"id": "x"}
    with pytest.raises(WebhookVerificationError):
        base.webhook_json(b"\xff not json")


# -- translation helpers --------------------------------------------------------------------------
def test_default_payload_drops_none_keeps_empty_strings():
    assert base.default_payload({"image": "u", "prompt": "", "seed": None}) == {"image": "u", "prompt": ""}


def test_state_for_unknown_word_is_unavailable():
    assert base.state_for("a", {"a": "queued"}, provider="P", body={}) == "queued"
    with pytest.raises(ProviderUnavailable) as info:
        base.state_for("teleported", {"a": "queued"}, provider="P", body={"status": "teleported"})
    assert info.value.body == {"status": "teleported"}


def test_no_output_is_a_failure_with_its_code():
    result = base.no_output("P", raw={"x": 1})
    assert (result.state, result.error_code, result.raw) == ("failed", "no_output", {"x": 1})


def test_trusted_url_follows_only_our_base():
    client, _, _ = make()
    assert client._trusted_url("https://provider.example/a", "fallback") == "https://provider.example/a"
    assert client._trusted_url("https://evil.example/a", "fallback") == "fallback"
    assert client._trusted_url(None, "fallback") == "fallback"
