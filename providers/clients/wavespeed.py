"""WaveSpeed client: our interface in WaveSpeed's wire words, for ``wavespeed-ai/wan-2.1/multitalk``,
``wavespeed-ai/wan-2.2/speech-to-video`` and ``wavespeed-ai/hunyuan-avatar``.

The protocol as we use it, and which page says what: docs/providers/wavespeed.md. WaveSpeed's pages
cited below by short name:

- *model pages*: https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.1-multitalk,
  https://wavespeed.ai/docs/docs-api/wavespeed-ai/wan-2.2-speech-to-video,
  https://wavespeed.ai/docs/docs-api/wavespeed-ai/hunyuan-avatar (submit, result, the envelope);
- *webhooks page*: https://wavespeed.ai/docs/docs-api/webhooks;
- *verifying page*: https://wavespeed.ai/docs/docs-api/verifying_webhook;
- *our reading*: a detail no page states, taken from WaveSpeed's own tools or chosen by us.

Only translation lives here: ``build_payload`` is the base's default; ``parse_status``,
``verify_signature`` and ``parse_webhook_body`` are pure; ``WaveSpeedClient`` adds the HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from .base import (
    ProviderClient,
    check_webhook_timestamp,
    default_payload,
    lower_headers,
    no_output,
    response_body,
    state_for,
    webhook_headers,
    webhook_json,
)
from .errors import ProviderError, ProviderRejected, ProviderUnavailable, WebhookVerificationError
from .results import CancelResult, PollResult, Submission, WebhookEvent

PROVIDER = "wavespeed"
API_PREFIX = "/api/v3"  # model pages: POST https://api.wavespeed.ai/api/v3/<model-path>
# PROVIDERS' pricing note: POST {base}/api/v3/model/pricing {model_id, inputs} -> data.unit_price;
# WaveSpeed's MCP server calls /api/v3/model/price, so the path is a setting (WAVESPEED_PRICING_PATH).
DEFAULT_PRICING_PATH = "/api/v3/model/pricing"

# Model pages: created, processing, completed, failed. Our reading: WaveSpeed's own tools also treat
# "cancelled" and "timeout" as final; "canceled" is accepted as a spelling variant; "deleted" is what
# the cancel DELETE answers, so a prediction seen in it was canceled.
STATES: dict[str, str] = {
    "created": "queued",
    "processing": "running",
    "completed": "succeeded",
    "failed": "failed",
    "cancelled": "canceled",
    "canceled": "canceled",
    "deleted": "canceled",
    "timeout": "failed",
}

# Verifying page: signature version "v3"; the secret starts with "whsec_".
WEBHOOK_SIGNATURE_VERSION = "v3"
WEBHOOK_SECRET_PREFIX = "whsec_"
SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


# -- pure wire translation ------------------------------------------------------------------------
def submit_url(base_url: str, model_path: str) -> str:
    """Model pages: ``POST {base}/api/v3/{model_path}``."""
    return f"{base_url.rstrip('/')}{API_PREFIX}/{model_path.strip('/')}"


def result_url(base_url: str, request_id: str) -> str:
    """Model pages: ``GET {base}/api/v3/predictions/{id}/result`` (the fallback when the submit
    answered no usable ``urls.get``; some pages omit ``/result``, hence we prefer ``urls.get``)."""
    return f"{base_url.rstrip('/')}{API_PREFIX}/predictions/{request_id}/result"


def cancel_url(base_url: str, request_id: str) -> str:
    """Our reading (WaveSpeed's own tools): ``DELETE {base}/api/v3/predictions/{id}``."""
    return f"{base_url.rstrip('/')}{API_PREFIX}/predictions/{request_id}"


def unwrap(body: Any) -> dict[str, Any]:
    """The prediction object from an answer: the model pages wrap it as ``{code, message, data}``;
    webhooks (webhooks page) post the bare prediction. Both are accepted."""
    if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
        return dict(body["data"])
    if isinstance(body, Mapping):
        return dict(body)
    raise ProviderUnavailable("WaveSpeed answered something that is not a JSON object", provider=PROVIDER)


def envelope_code(body: Any) -> int | None:
    """The envelope's ``code`` (model pages: "HTTP status code (e.g., 200 for success)") as an
    int, or None when the answer has none."""
    if not isinstance(body, Mapping) or "code" not in body:
        return None
    try:
        return int(body["code"])
    except (TypeError, ValueError):
        return None


def parse_status(prediction: Mapping[str, Any]) -> PollResult:
    """A prediction object (``data`` of the envelope) -> PollResult.

    ``completed`` -> succeeded with ``outputs[0]`` (model pages: outputs are URLs, empty until
    completed); ``failed`` -> failed with ``error`` ("Error message (empty if no error occurred)");
    ``timeout`` -> failed; ``cancelled``/``canceled``/``deleted`` -> canceled. An unknown word
    raises ProviderUnavailable.
    """
    word = str(prediction.get("status") or "").strip().lower()
    raw = dict(prediction)
    state = state_for(word, STATES, provider="WaveSpeed", body=raw)
    error = str(prediction.get("error") or "")
    if state == "succeeded":
        outputs = prediction.get("outputs") or []
        url = outputs[0] if outputs and isinstance(outputs[0], str) and outputs[0] else None
        if url is None:
            return no_output("WaveSpeed", raw=raw)
        return PollResult(state="succeeded", video_url=url, raw=raw)
    if word == "timeout":
        return PollResult(state="failed", error=error or "The task timed out at WaveSpeed.", error_code="timeout",
                          raw=raw)
    if state == "failed":
        return PollResult(state="failed", error=error or "WaveSpeed reported the task failed.", raw=raw)
    if state == "canceled":
        return PollResult(state="canceled", error=error or None, raw=raw)
    return PollResult(state=state, raw=raw)  # type: ignore[arg-type]


def webhook_key(secret: str) -> bytes:
    """Verifying page: drop the ``whsec_`` prefix and use the remaining string itself as the HMAC
    key ("do not base64 decode it"), i.e. its UTF-8 bytes. This differs from Standard Webhooks,
    which base64-decodes the remainder (and signs in base64 as ``v1``), so the
    ``standardwebhooks`` library does not fit."""
    return secret.removeprefix(WEBHOOK_SECRET_PREFIX).encode("utf-8")


def sign_webhook(*, secret: str, webhook_id: str, timestamp: str | int, body: bytes) -> str:
    """The ``webhook-signature`` value WaveSpeed sends: ``v3,<hex HMAC-SHA256>`` over
    ``{webhook-id}.{webhook-timestamp}.{raw body}`` (verifying page). Tests sign with it."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_key(secret), message, hashlib.sha256).hexdigest()
    return f"{WEBHOOK_SIGNATURE_VERSION},{digest}"


def verify_signature(*, secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Raise WebhookVerificationError when no secret is configured, a signature header is missing,
    the timestamp is outside the window, or no ``v3`` signature matches (constant-time). The header
    may carry several space-separated signatures (as Standard Webhooks allows)."""
    if not secret:
        raise WebhookVerificationError("No WaveSpeed webhook secret is configured.")
    webhook_id, timestamp, signatures = webhook_headers(headers, *SIGNATURE_HEADERS)
    check_webhook_timestamp(timestamp, now=now, header="webhook-timestamp")
    expected = sign_webhook(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
    expected_hex = expected.split(",", 1)[1].encode()
    matched = False
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == WEBHOOK_SIGNATURE_VERSION and hmac.compare_digest(value.lower().encode(), expected_hex):
            matched = True
    if not matched:
        raise WebhookVerificationError("The webhook signature does not match.")


def parse_webhook_body(*, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
    """A verified webhook -> WebhookEvent: the body is the prediction object, bare (webhooks page)
    or inside the ``{code, data}`` envelope; the delivery id is the signed ``webhook-id``."""
    prediction = unwrap(webhook_json(body))
    request_id = str(prediction.get("id") or "")
    if not request_id:
        raise WebhookVerificationError("The webhook body names no prediction id.")
    delivery_id = str(lower_headers(headers).get("webhook-id") or "")
    return WebhookEvent(request_id=request_id, result=parse_status(prediction), delivery_id=delivery_id)


def read_error(body: Any) -> str:
    """The message of an error answer: the envelope's ``message`` (model pages), else the
    prediction's ``error``; "" when it names none or says "success"."""
    if not isinstance(body, Mapping):
        return ""
    data = body.get("data") if isinstance(body.get("data"), Mapping) else {}
    message = str(body.get("message") or data.get("error") or body.get("error") or "")
    return "" if message.lower() == "success" else message


# -- the client -------------------------------------------------------------------------------------
class WaveSpeedClient(ProviderClient):
    """Handle shape: ``{"request_id": <data.id>, "get_url": <data.urls.get or the built result URL>}``."""

    provider = PROVIDER
    # Our reading: WaveSpeed documents no 402; were it to answer one, it is our balance.
    unpaid_message = "The WaveSpeed account cannot pay for this"

    def auth_headers(self) -> dict[str, str]:
        # Model pages: Authorization: Bearer ${WAVESPEED_API_KEY}; Content-Type: application/json.
        return {"Authorization": f"Bearer {self.config.api_key}", "Accept": "application/json"}

    def submit(
        self, *, model_path: str, inputs: Mapping[str, Any], webhook_url: str | None = None
    ) -> Submission:
        """The body is the model's own fields as given (model pages); the webhook goes in the
        query (webhooks page: ``?webhook=<url>``), not in the body as one submit-task page says."""
        params = {"webhook": webhook_url} if webhook_url else None
        response = self._request(
            "POST",
            submit_url(self.config.base_url, model_path),
            idempotent=False,
            json=default_payload(inputs),
            params=params,
        )
        body = self._json(response)
        prediction = unwrap(body)
        request_id = self._task_id(prediction.get("id"), name="data.id", response=response, body=body)
        urls = prediction.get("urls") if isinstance(prediction.get("urls"), Mapping) else {}
        return Submission(
            request_id=request_id,
            handle={"request_id": request_id, "get_url": self._get_url(request_id, urls.get("get"))},
            raw=body,
        )

    def status(self, *, handle: Mapping[str, Any]) -> PollResult:
        """One GET answers the state and, once completed, the outputs (so ``result`` is the same)."""
        request_id = str(handle["request_id"])
        response = self._request("GET", self._get_url(request_id, handle.get("get_url")))
        return parse_status(unwrap(self._json(response)))

    def cancel(self, *, handle: Mapping[str, Any]) -> CancelResult:
        """WaveSpeed's DELETE "cancels or deletes" (our reading): it would delete a finished
        prediction's output too, and a task already processing may not stop at once. So we look
        first: a prediction already final is left alone (its state is the answer); otherwise the
        DELETE is sent and its ``data.status`` (``deleted``) answered. After it the prediction may
        be gone: a later poll answering 404 then means "canceled". A 4xx refusal of the DELETE is
        answered with its message; auth and transient errors raise."""
        try:
            before: PollResult | None = self.poll(handle=handle)
        except ProviderRejected:
            before = None  # unknown to the status call (e.g. 404): try the DELETE anyway
        if before is not None and before.is_final:
            return CancelResult(status=before.state)
        try:
            response = self._request("DELETE", cancel_url(self.config.base_url, str(handle["request_id"])))
        except ProviderRejected as exc:
            return CancelResult(status=exc.message)
        return CancelResult(status=str(unwrap(self._json(response)).get("status") or ""))

    def price(self, *, model_path: str, inputs: Mapping[str, Any]) -> Decimal:
        """WaveSpeed's price for these inputs (``data.unit_price``, the whole task's price in USD).
        The inputs name the length as ``duration`` seconds (our reading: the endpoint's way of
        learning the audio's length is not documented). Raises ProviderUnavailable on an answer
        without a number."""
        path = str(self.config.extra.get("pricing_path") or DEFAULT_PRICING_PATH)
        response = self._request("POST", f"{self.config.base_url}/{path.lstrip('/')}",
                                 json={"model_id": model_path, "inputs": dict(inputs)})
        body = self._json(response)
        value = unwrap(body).get("unit_price")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ProviderUnavailable("WaveSpeed's price answer has no data.unit_price", provider=PROVIDER,
                                      body=body)
        try:
            return Decimal(str(value))
        except ArithmeticError:
            raise ProviderUnavailable(f"WaveSpeed's price {value!r} is not a number", provider=PROVIDER,
                                      body=body) from None

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        """HMAC-SHA256 with the account's webhook secret (verifying page)."""
        verify_signature(secret=self.config.webhook_secret, headers=headers, body=body, now=self._now())

    parse_webhook_body = staticmethod(parse_webhook_body)

    # -- errors ---------------------------------------------------------------------------------
    def read_error(self, body: Any, headers: Mapping[str, str]) -> tuple[str, str | None, dict[str, str]]:
        return (read_error(body), None, {})

    def answer_error(self, response: httpx.Response) -> ProviderError | None:
        """Model pages: the envelope's ``code`` is the real status ("HTTP status code (e.g., 200
        for success)"); an HTTP 200 answer whose ``code`` is not 2xx is mapped as if it were that
        HTTP status (a code that is no HTTP status at all counts as a 502)."""
        code = envelope_code(response_body(response))  # not JSON: None, and the caller's _json() reports it
        if code is None or 200 <= code < 300:
            return None
        status = code if 400 <= code <= 599 else 502
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        }
        synthetic = httpx.Response(status, headers=headers, content=response.content, request=response.request)
        return self.map_error(synthetic)

    # -- helpers --------------------------------------------------------------------------------
    def _get_url(self, request_id: str, answered: Any) -> str:
        """The answered ``urls.get`` (some pages give it without ``/result``) when it points at our
        configured base, else the model pages' result URL."""
        return self._trusted_url(answered, result_url(self.config.base_url, request_id))

