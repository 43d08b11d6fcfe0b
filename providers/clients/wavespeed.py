"""WaveSpeed client: ``wavespeed-ai/wan-2.1/multitalk``, ``wavespeed-ai/wan-2.2/speech-to-video``,
``wavespeed-ai/hunyuan-avatar``.

Sources of the wire details (see /work/shared/PROVIDERS.md): *seed* = seeds 000-002 (WaveSpeed's
model pages), *public* = WaveSpeed's public docs and tools, *unconfirmed* = third-party only.

Only translation lives here: ``build_payload`` / ``parse_status`` / ``verify_webhook`` are pure
and tested directly; ``WaveSpeedClient`` adds the HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from .base import (
    CancelResult,
    PollResult,
    ProviderAuthError,
    ProviderClient,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    Submission,
    WebhookEvent,
    WebhookVerificationError,
    lower_headers,
    same_origin,
)

PROVIDER = "wavespeed"
API_PREFIX = "/api/v3"  # seed 000-002: POST https://api.wavespeed.ai/api/v3/<model-path>

# seed 000-002: created, processing, completed, failed. *public*: WaveSpeed's own tools also treat
# "cancelled" and "timeout" as final; "canceled" is accepted as a spelling variant (our choice);
# "deleted" is what the cancel DELETE answers (*public*), so a prediction seen in it was canceled.
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

# *public* (WaveSpeed "Verifying Webhooks": WebhookMaxAgeSeconds = 300, version "v3").
WEBHOOK_TOLERANCE_S = 300
WEBHOOK_SIGNATURE_VERSION = "v3"
WEBHOOK_SECRET_PREFIX = "whsec_"


# -- pure wire translation ------------------------------------------------------------------------
def submit_url(base_url: str, model_path: str) -> str:
    """seed 000-002: ``POST {base}/api/v3/{model_path}``."""
    return f"{base_url.rstrip('/')}{API_PREFIX}/{model_path.strip('/')}"


def result_url(base_url: str, request_id: str) -> str:
    """seed 000-002: ``GET {base}/api/v3/predictions/{id}/result`` (the fallback when the submit
    answered no usable ``urls.get``; *public*: some pages omit ``/result``, hence we prefer
    ``urls.get``)."""
    return f"{base_url.rstrip('/')}{API_PREFIX}/predictions/{request_id}/result"


def cancel_url(base_url: str, request_id: str) -> str:
    """*public*: ``DELETE {base}/api/v3/predictions/{id}``."""
    return f"{base_url.rstrip('/')}{API_PREFIX}/predictions/{request_id}"


def build_payload(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body: the seed's own fields (``image``, ``audio``, ``prompt``, ``seed`` and, for
    speech-to-video and hunyuan-avatar, ``resolution``) as given; ``None`` values are left out so
    the provider applies its defaults (seed 000-002 request parameters). The webhook goes in the
    query, not the body (*public*: the webhook pages; one submit-task page says body
    ``webhook_url``, which we do not follow)."""
    return {k: v for k, v in inputs.items() if v is not None}


def unwrap(body: Any) -> dict[str, Any]:
    """The prediction object from an answer: seed 000-002 wrap it as ``{code, message, data}``;
    webhooks (*public*) post the bare prediction. Both are accepted."""
    if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
        return dict(body["data"])
    if isinstance(body, Mapping):
        return dict(body)
    raise ProviderUnavailable("WaveSpeed answered something that is not a JSON object", provider=PROVIDER)


def envelope_code(body: Any) -> int | None:
    """The envelope's ``code`` (seed 000-002: "HTTP status code (e.g., 200 for success)") as an
    int, or None when the answer has none."""
    if not isinstance(body, Mapping) or "code" not in body:
        return None
    try:
        return int(body["code"])
    except (TypeError, ValueError):
        return None


def parse_status(prediction: Mapping[str, Any]) -> PollResult:
    """A prediction object (``data`` of the envelope) -> PollResult.

    ``completed`` -> succeeded with ``outputs[0]`` (seed: outputs are URLs, empty until completed);
    ``failed`` -> failed with ``error`` (seed: "Error message (empty if no error occurred)");
    ``timeout`` -> failed; ``cancelled``/``canceled``/``deleted`` -> canceled. An unknown word
    raises ProviderUnavailable (an unreadable answer: the job layer retries, then gives up) rather
    than guessing a state.
    """
    word = str(prediction.get("status") or "").strip().lower()
    if word not in STATES:
        raise ProviderUnavailable(
            f"WaveSpeed answered an unknown status {word!r}", provider=PROVIDER, body=dict(prediction)
        )
    state = STATES[word]
    raw = dict(prediction)
    if state == "succeeded":
        outputs = prediction.get("outputs") or []
        url = outputs[0] if outputs and isinstance(outputs[0], str) and outputs[0] else None
        if url is None:
            return PollResult(
                state="failed",
                error="WaveSpeed reported completed but gave no output",
                error_code="no_output",
                raw=raw,
            )
        return PollResult(state="succeeded", video_url=url, raw=raw)
    if state == "failed":
        if word == "timeout":
            message = str(prediction.get("error") or "") or "The task timed out at WaveSpeed."
            return PollResult(state="failed", error=message, error_code="timeout", raw=raw)
        message = str(prediction.get("error") or "") or "WaveSpeed reported the task failed."
        return PollResult(state="failed", error=message, raw=raw)
    if state == "canceled":
        return PollResult(state="canceled", error=str(prediction.get("error") or "") or None, raw=raw)
    return PollResult(state=state, raw=raw)  # type: ignore[arg-type]


def webhook_key(secret: str) -> bytes:
    """*public* ("Verifying Webhooks"): drop the ``whsec_`` prefix and use the remaining string
    itself as the HMAC key ("do not base64 decode it"), i.e. its UTF-8 bytes. This differs from
    Standard Webhooks, which base64-decodes the remainder."""
    return secret.removeprefix(WEBHOOK_SECRET_PREFIX).encode("utf-8")


def sign_webhook(*, secret: str, webhook_id: str, timestamp: str | int, body: bytes) -> str:
    """The ``webhook-signature`` value WaveSpeed sends: ``v3,<hex HMAC-SHA256>`` over
    ``{webhook-id}.{webhook-timestamp}.{raw body}`` (*public*). Used by tests and the emulator."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_key(secret), message, hashlib.sha256).hexdigest()
    return f"{WEBHOOK_SIGNATURE_VERSION},{digest}"


def verify_webhook(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance_s: int = WEBHOOK_TOLERANCE_S,
) -> str:
    """Check a webhook's signature and age; return its ``webhook-id``. Raises
    WebhookVerificationError when a header is missing, the timestamp is more than
    ``tolerance_s`` away from ``now`` (either way) or no ``v3`` signature matches (constant-time).
    The header may carry several space-separated signatures (as Standard Webhooks allows)."""
    if not secret:
        raise WebhookVerificationError("No WaveSpeed webhook secret is configured.")
    h = lower_headers(headers)
    webhook_id, timestamp, signatures = (
        h.get("webhook-id"),
        h.get("webhook-timestamp"),
        h.get("webhook-signature"),
    )
    if not webhook_id or not timestamp or not signatures:
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature header.")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a Unix timestamp.") from None
    now = time.time() if now is None else now
    if abs(now - sent_at) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is outside the allowed window.")
    expected = sign_webhook(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
    expected_hex = expected.split(",", 1)[1]
    matched = False
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == WEBHOOK_SIGNATURE_VERSION and hmac.compare_digest(
            value.lower().encode(), expected_hex.encode()
        ):
            matched = True
    if not matched:
        raise WebhookVerificationError("The webhook signature does not match.")
    return webhook_id


def parse_webhook_body(body: bytes) -> tuple[str, PollResult]:
    """(prediction id, result) from a verified webhook body: the prediction object, bare
    (*public*) or inside the ``{code, data}`` envelope."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WebhookVerificationError("The webhook body is not JSON.") from None
    prediction = unwrap(payload)
    request_id = str(prediction.get("id") or "")
    if not request_id:
        raise WebhookVerificationError("The webhook body names no prediction id.")
    return request_id, parse_status(prediction)


# -- the client -------------------------------------------------------------------------------------
class WaveSpeedClient(ProviderClient):
    """Handle shape: ``{"request_id": <data.id>, "get_url": <data.urls.get or the built result URL>}``."""

    provider = PROVIDER
    supports_cancel = True
    supports_webhook = True

    def auth_headers(self) -> dict[str, str]:
        # seed 000-002: Authorization: Bearer ${WAVESPEED_API_KEY}; Content-Type: application/json.
        return {"Authorization": f"Bearer {self.config.api_key}", "Accept": "application/json"}

    def submit(
        self, *, model_path: str, inputs: Mapping[str, Any], webhook_url: str | None = None
    ) -> Submission:
        params = {"webhook": webhook_url} if webhook_url else None  # *public*: ?webhook=<url>
        response = self._request(
            "POST",
            submit_url(self.config.base_url, model_path),
            idempotent=False,
            json=build_payload(inputs),
            params=params,
        )
        body = self._json(response)
        prediction = unwrap(body)
        request_id = str(prediction.get("id") or "")
        if not request_id:
            raise ProviderUnavailable(
                "WaveSpeed accepted the submit but answered no id",
                provider=PROVIDER,
                http_status=response.status_code,
                body=body,
            )
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
        """WaveSpeed's DELETE "cancels or deletes" and answers ``data.status`` ``deleted`` whatever
        the task was doing, and a task already processing "may not stop at once and may still be
        billed in part" (*public*). So we look first: a prediction already final is not canceled
        (accepted=False); one still ``created`` (queued) is removed by the DELETE (final=True); one
        ``processing`` is only asked to stop (final=False): keep polling it. After a DELETE the
        prediction may be gone: a later poll answering 404 (ProviderRejected, http_status 404)
        then means "canceled". A 4xx refusal of the DELETE is answered accepted=False; auth and
        transient errors raise."""
        request_id = str(handle["request_id"])
        before: PollResult | None
        try:
            before = self.poll(handle=handle)
        except ProviderRejected:
            before = None  # unknown to the status call (e.g. 404): try the DELETE anyway
        if before is not None and before.is_final:
            return CancelResult(accepted=False, final=False, status=before.state, raw=before.raw)
        try:
            response = self._request("DELETE", cancel_url(self.config.base_url, request_id))
        except ProviderRejected as exc:
            return CancelResult(accepted=False, final=False, status=exc.message, raw=exc.body)
        body = self._json(response)
        status = str(unwrap(body).get("status") or "")
        final = before is not None and before.state == "queued"
        return CancelResult(accepted=True, final=final, status=status, raw=body)

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify (WebhookVerificationError on a bad/missing/stale signature) and parse. A
        verified body with an unknown status word raises ProviderUnavailable."""
        delivery_id = verify_webhook(
            secret=self.config.webhook_secret, headers=headers, body=body, now=self._now()
        )
        request_id, result = parse_webhook_body(body)
        return WebhookEvent(request_id=request_id, result=result, delivery_id=delivery_id)

    # -- errors ---------------------------------------------------------------------------------
    def error_message(self, response: httpx.Response) -> tuple[str, str | None, dict[str, str]]:
        """seed 000-002 envelope: ``message`` (and ``data.error`` when the prediction carries one)."""
        try:
            body = response.json()
        except ValueError:
            return (response.text[:500] or response.reason_phrase, None, {})
        if isinstance(body, Mapping):
            data = body.get("data") if isinstance(body.get("data"), Mapping) else {}
            message = str(body.get("message") or data.get("error") or body.get("error") or "")
            if message and message.lower() != "success":
                return (message, None, {})
        return (response.text[:500] or response.reason_phrase, None, {})

    def map_error(self, response: httpx.Response) -> ProviderError:
        """As the base, plus 402 -> ProviderAuthError: a payment problem is our account's, not the
        user's (*unconfirmed* for WaveSpeed, which documents no 402; same rule as fal's 402)."""
        if response.status_code == 402:
            message, code, _fields = self.error_message(response)
            return ProviderAuthError(
                f"The WaveSpeed account cannot pay for this: {message}",
                provider=PROVIDER,
                http_status=402,
                code=code,
                body=self._body(response),
            )
        return super().map_error(response)

    def answer_error(self, response: httpx.Response) -> ProviderError | None:
        """seed 000-002: the envelope's ``code`` is the real status ("HTTP status code (e.g., 200
        for success)"); an HTTP 200 answer whose ``code`` is not 2xx is mapped as if it were that
        HTTP status (a code that is no HTTP status at all counts as a 502)."""
        try:
            body = response.json()
        except ValueError:
            return None  # the caller's _json() reports it
        code = envelope_code(body)
        if code is None or 200 <= code < 300:
            return None
        status = code if 400 <= code <= 599 else 502
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        }
        synthetic = httpx.Response(
            status, headers=headers, content=response.content, request=response.request
        )
        return self.map_error(synthetic)

    # -- helpers --------------------------------------------------------------------------------
    def _get_url(self, request_id: str, answered: Any) -> str:
        """Follow the answered ``urls.get`` (*public*: it may lack ``/result``) when it points at
        our configured base (never send our key elsewhere); else build the seed's result URL."""
        if isinstance(answered, str) and answered and same_origin(answered, self.config.base_url):
            return answered
        return result_url(self.config.base_url, request_id)

    def _now(self) -> float:
        return time.time()

    @staticmethod
    def _body(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return response.text[:2000]
