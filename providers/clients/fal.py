"""fal client: ``fal-ai/ai-avatar``, ``/multi``, ``/single-text``, ``/multi-text`` on fal's queue.

Sources of the wire details (see /work/shared/PROVIDERS.md): *seed* = seed 003 (fal's model page),
*public* = fal's public docs and official clients, *unconfirmed* = third-party only.

Only translation lives here: ``build_payload`` / ``parse_status`` / ``parse_result`` /
``parse_cancel`` / ``verify_webhook_signature`` / ``parse_webhook_body`` are pure and tested
directly; ``FalClient`` adds the HTTP and the JWKS cache.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .base import (
    CancelResult,
    ClientConfig,
    PollResult,
    ProviderAuthError,
    ProviderClient,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    Submission,
    WebhookEvent,
    WebhookVerificationError,
    lower_headers,
    same_origin,
    with_query,
)

PROVIDER = "fal"

# *public* queue protocol: status words of GET .../requests/<id>/status.
STATES: dict[str, str] = {"IN_QUEUE": "queued", "IN_PROGRESS": "running", "COMPLETED": "succeeded"}

# *public* webhooks: ±300 s window; JWKS kept ~10 minutes (our choice), refetched at most once per
# JWKS_MIN_REFETCH_S after a signature that no cached key verifies (key rotation), so that forged
# webhooks cannot make us hammer the JWKS URL.
WEBHOOK_TOLERANCE_S = 300
JWKS_TTL_S = 600.0
JWKS_MIN_REFETCH_S = 30.0

_TRUE = ("1", "true", "yes")

# *public* (fal's request error types): a request canceled while it ran ends with error_type
# "client_cancelled" (HTTP 499 at the result); we read that as canceled, not failed.
CANCELED_ERROR_TYPE = "client_cancelled"
CANCELED_HTTP_STATUS = 499


class FalRetryable(ProviderUnavailable):
    """fal marked the failure retryable (``X-Fal-Retryable: true``, some pages
    ``X-Fal-Needs-Retry``; *public*), whatever its HTTP status."""


# -- pure wire translation ------------------------------------------------------------------------
def app_id(model_path: str) -> str:
    """``fal-ai/ai-avatar/multi-text`` -> ``fal-ai/ai-avatar`` (*public*: status, result and cancel
    URLs use the app id only, never the endpoint's subpath)."""
    parts = [p for p in model_path.strip("/").split("/") if p]
    if len(parts) < 2:
        raise ValueError(f"not a fal model path: {model_path!r}")
    return "/".join(parts[:2])


def submit_url(base_url: str, model_path: str) -> str:
    """*public*: ``POST {base}/{model_path}`` (base ``https://queue.fal.run``)."""
    return f"{base_url.rstrip('/')}/{model_path.strip('/')}"


def queue_urls(base_url: str, app: str, request_id: str) -> dict[str, str]:
    """The queue URLs built from the app id, used only when the submit answered none (*public*)."""
    root = f"{base_url.rstrip('/')}/{app}/requests/{request_id}"
    return {"status_url": f"{root}/status", "response_url": root, "cancel_url": f"{root}/cancel"}


def build_payload(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body is the endpoint's input as given (seed 003 schema: ``image_url``,
    ``audio_url``, ``first_audio_url``, ``second_audio_url``, ``text_input``, ``voice``,
    ``first_text_input``, ``second_text_input``, ``voice1``, ``voice2``, ``prompt``, ``num_frames``,
    ``resolution``, ``seed``, ``acceleration``, ``use_only_first_audio``); ``None`` values are
    left out so that fal applies its defaults."""
    return {k: v for k, v in inputs.items() if v is not None}


def detail_message(detail: Any) -> tuple[str, dict[str, str]]:
    """(message, {field: msg}) from fal's ``detail`` (*public*): either a list of
    ``{"loc": ["body", "<field>", ...], "msg", "type"}`` (validation, 422) or a string
    (infrastructure errors, with ``error_type``)."""
    if isinstance(detail, str):
        return detail, {}
    if isinstance(detail, Mapping):
        detail = [detail]
    if not isinstance(detail, Sequence) or not detail:
        return "", {}
    fields: dict[str, str] = {}
    parts: list[str] = []
    for item in detail:
        if not isinstance(item, Mapping):
            parts.append(str(item))
            continue
        msg = str(item.get("msg") or item.get("message") or item.get("type") or "invalid")
        loc = [str(p) for p in (item.get("loc") or [])]
        if loc and loc[0] in ("body", "query", "path"):
            loc = loc[1:]
        name = ".".join(loc)
        if name:
            fields.setdefault(name, msg)
            parts.append(f"{name}: {msg}")
        else:
            parts.append(msg)
    return "; ".join(parts), fields


def parse_status(body: Mapping[str, Any]) -> PollResult:
    """A status answer -> PollResult (*public*). ``IN_QUEUE`` -> queued with ``queue_position``
    (0-based); ``IN_PROGRESS`` -> running with the log messages; ``COMPLETED`` -> succeeded
    *without* a video URL: the caller then fetches ``response_url`` (``parse_result``). A
    ``COMPLETED`` status carrying an ``error`` (*unconfirmed*: newer queue answers add ``error`` /
    ``error_type`` for a failed request) -> failed, or canceled when ``error_type`` is
    ``client_cancelled`` (*public*). An unknown word raises ProviderUnavailable."""
    word = str(body.get("status") or "").upper()
    if word not in STATES:
        raise ProviderUnavailable(f"fal answered an unknown status {word!r}", provider=PROVIDER, body=dict(body))
    logs = tuple(
        str(entry.get("message"))
        for entry in (body.get("logs") or [])
        if isinstance(entry, Mapping) and entry.get("message")
    )
    raw = dict(body)
    if word == "IN_QUEUE":
        position = body.get("queue_position")
        return PollResult(
            state="queued", queue_position=position if isinstance(position, int) else None, logs=logs, raw=raw
        )
    if word == "IN_PROGRESS":
        return PollResult(state="running", logs=logs, raw=raw)
    if body.get("error"):
        if body.get("error_type") == CANCELED_ERROR_TYPE:
            return PollResult(
                state="canceled", error=str(body["error"]), error_code=CANCELED_ERROR_TYPE, logs=logs, raw=raw
            )
        return PollResult(
            state="failed",
            error=str(body["error"]),
            error_code=_str_or_none(body.get("error_type")),
            logs=logs,
            raw=raw,
        )
    return PollResult(state="succeeded", logs=logs, raw=raw)


def parse_result(body: Any, *, logs: tuple[str, ...] = ()) -> PollResult:
    """The result (seed 003 output ``{"video": {"url", "content_type", "file_name", "file_size"},
    "seed"}``) -> succeeded with ``video.url``; a result holding ``detail`` (a validation error
    that came through the queue, *public*) or no video -> failed."""
    if isinstance(body, Mapping) and "detail" in body and not body.get("video"):
        message, _fields = detail_message(body.get("detail"))
        return PollResult(
            state="failed",
            error=message or "fal reported an error",
            error_code=_str_or_none(body.get("error_type")),
            logs=logs,
            raw=body,
        )
    video = body.get("video") if isinstance(body, Mapping) else None
    url = video.get("url") if isinstance(video, Mapping) else None
    if not isinstance(url, str) or not url:
        return PollResult(
            state="failed",
            error="fal completed the request but returned no video",
            error_code="no_output",
            logs=logs,
            raw=body,
        )
    return PollResult(state="succeeded", video_url=url, logs=logs, raw=body)


def parse_cancel(http_status: int, body: Any) -> CancelResult:
    """A cancel answer -> CancelResult (*public* words; HTTP codes *unconfirmed*: 202 / 400 or
    409 / 404). ``OK`` (removed from the queue) -> accepted and final; ``CANCELLATION_REQUESTED``
    -> accepted, not final (it was running: keep polling); ``ALREADY_COMPLETED`` / ``NOT_FOUND``
    -> not accepted. Any other 2xx answer counts as a request (accepted, not final), any other
    error answer as a refusal."""
    word = str(body.get("status") or "").upper() if isinstance(body, Mapping) else ""
    if word == "OK":
        return CancelResult(accepted=True, final=True, status=word, raw=body)
    if word == "CANCELLATION_REQUESTED":
        return CancelResult(accepted=True, final=False, status=word, raw=body)
    if word in ("ALREADY_COMPLETED", "NOT_FOUND"):
        return CancelResult(accepted=False, final=False, status=word, raw=body)
    if 200 <= http_status < 300:
        return CancelResult(accepted=True, final=False, status=word or str(http_status), raw=body)
    return CancelResult(accepted=False, final=False, status=word or str(http_status), raw=body)


def is_retryable(headers: Mapping[str, str]) -> bool:
    h = lower_headers(headers)
    return any(str(h.get(name, "")).strip().lower() in _TRUE for name in ("x-fal-retryable", "x-fal-needs-retry"))


def webhook_message(*, request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """*public*: ``{request_id}\\n{user_id}\\n{timestamp}\\n{sha256 hex of the raw body}``, UTF-8."""
    return "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode("utf-8")


def public_keys_from_jwks(jwks: Any) -> list[Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS (*public*: ``{"keys": [{"kty": "OKP", "crv": "Ed25519", "x":
    <base64url>}]}``); other or malformed keys are skipped."""
    keys: list[Ed25519PublicKey] = []
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    for entry in entries or []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        x = entry.get("x")
        if not isinstance(x, str):
            continue
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (ValueError, binascii.Error):
            continue
    return keys


def webhook_headers(headers: Mapping[str, str]) -> tuple[str, str, str, bytes]:
    """(request id, user id, timestamp, signature bytes) from the ``X-Fal-Webhook-*`` headers
    (*public*); WebhookVerificationError when one is missing or the signature is not hex."""
    h = lower_headers(headers)
    values = [h.get(f"x-fal-webhook-{n}") or "" for n in ("request-id", "user-id", "timestamp", "signature")]
    if not all(values):
        raise WebhookVerificationError("Missing X-Fal-Webhook-Request-Id, -User-Id, -Timestamp or -Signature header.")
    request_id, user_id, timestamp, signature_hex = values
    try:
        signature = bytes.fromhex(signature_hex.strip())
    except ValueError:
        raise WebhookVerificationError("X-Fal-Webhook-Signature is not hex.") from None
    return request_id, user_id, timestamp, signature


def check_timestamp(timestamp: str, *, now: float, tolerance_s: int = WEBHOOK_TOLERANCE_S) -> None:
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError("X-Fal-Webhook-Timestamp is not a Unix timestamp.") from None
    if abs(now - sent_at) > tolerance_s:
        raise WebhookVerificationError("X-Fal-Webhook-Timestamp is outside the allowed window.")


def signature_valid(keys: Sequence[Ed25519PublicKey], signature: bytes, message: bytes) -> bool:
    """True when ANY of ``keys`` verifies ``signature`` over ``message``."""
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


def verify_webhook_signature(
    *,
    keys: Sequence[Ed25519PublicKey],
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance_s: int = WEBHOOK_TOLERANCE_S,
) -> str:
    """Verify a fal webhook against the given keys; return its request id. Raises
    WebhookVerificationError on a missing header, a stale timestamp or a bad signature."""
    request_id, user_id, timestamp, signature = webhook_headers(headers)
    check_timestamp(timestamp, now=time.time() if now is None else now, tolerance_s=tolerance_s)
    message = webhook_message(request_id=request_id, user_id=user_id, timestamp=timestamp, body=body)
    if not signature_valid(keys, signature, message):
        raise WebhookVerificationError("The webhook signature does not match any of fal's keys.")
    return request_id


def parse_webhook_body(body: bytes, *, request_id: str | None = None) -> WebhookEvent:
    """A verified webhook body (*public*: ``{request_id, gateway_request_id, status: "OK"|"ERROR",
    payload, error?, payload_error?}``) -> WebhookEvent.

    ``OK`` -> the payload read as a result (``parse_result``). ``ERROR`` -> failed with the
    payload's ``detail`` (validation errors arrive this way) or ``error`` (canceled when its
    ``error_type`` is ``client_cancelled``). ``OK`` with a
    ``payload_error`` (fal could not serialize the output into the webhook) -> running: the job
    layer's poll then fetches the result from the queue."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WebhookVerificationError("The webhook body is not JSON.") from None
    if not isinstance(data, Mapping):
        raise WebhookVerificationError("The webhook body is not a JSON object.")
    body_request_id = str(data.get("request_id") or "")
    if request_id and body_request_id and body_request_id != request_id:
        raise WebhookVerificationError("The webhook body and its signed header name different requests.")
    rid = request_id or body_request_id
    if not rid:
        raise WebhookVerificationError("The webhook names no request id.")
    delivery_id = str(data.get("gateway_request_id") or "")
    status = str(data.get("status") or "").upper()
    payload = data.get("payload")
    if status == "OK":
        if payload is None and data.get("payload_error"):
            return WebhookEvent(
                request_id=rid,
                delivery_id=delivery_id,
                result=PollResult(state="running", error=str(data["payload_error"]), raw=dict(data)),
            )
        return WebhookEvent(request_id=rid, delivery_id=delivery_id, result=parse_result(payload))
    if status == "ERROR":
        message, _fields = detail_message(payload.get("detail")) if isinstance(payload, Mapping) else ("", {})
        message = message or str(data.get("error") or data.get("payload_error") or "fal reported an error")
        error_type = (payload.get("error_type") if isinstance(payload, Mapping) else None) or data.get("error_type")
        state = "canceled" if error_type == CANCELED_ERROR_TYPE else "failed"
        return WebhookEvent(
            request_id=rid,
            delivery_id=delivery_id,
            result=PollResult(state=state, error=message, error_code=_str_or_none(error_type), raw=dict(data)),
        )
    raise WebhookVerificationError(f"The webhook has an unknown status {status!r}.")


def _str_or_none(value: Any) -> str | None:
    return str(value) if value else None


# -- JWKS cache ---------------------------------------------------------------------------------------
class JwksCache:
    """fal's webhook keys, fetched with ``fetch`` and kept ``ttl_s``; thread-safe. One instance per
    client by default; ``providers.registry`` shares one per JWKS URL (via ``config.extra``) so
    that short-lived clients do not refetch for every webhook."""

    def __init__(
        self,
        *,
        ttl_s: float = JWKS_TTL_S,
        min_refetch_s: float = JWKS_MIN_REFETCH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.min_refetch_s = min_refetch_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[Ed25519PublicKey] = []
        self._fetched_at: float | None = None

    def get(self, fetch: Callable[[], list[Ed25519PublicKey]]) -> list[Ed25519PublicKey]:
        with self._lock:
            if self._fetched_at is None or self._clock() - self._fetched_at > self.ttl_s:
                self._store(fetch())
            return list(self._keys)

    def refresh(self, fetch: Callable[[], list[Ed25519PublicKey]]) -> list[Ed25519PublicKey] | None:
        """Refetch after a failed verification; None when the keys are too fresh to refetch."""
        with self._lock:
            if self._fetched_at is not None and self._clock() - self._fetched_at < self.min_refetch_s:
                return None
            self._store(fetch())
            return list(self._keys)

    def _store(self, keys: list[Ed25519PublicKey]) -> None:
        self._keys = keys
        self._fetched_at = self._clock()


# -- the client -------------------------------------------------------------------------------------
class FalClient(ProviderClient):
    """Handle shape: ``{"request_id", "app_id", "status_url", "response_url", "cancel_url"}``, the
    URLs as the submit answered them (or built from the app id when it answered none)."""

    provider = PROVIDER
    supports_cancel = True
    supports_webhook = True

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(config, transport=transport, sleep=sleep)
        shared = config.extra.get("jwks_cache") if config.extra else None
        self.jwks_cache: JwksCache = shared if isinstance(shared, JwksCache) else JwksCache()

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Key {self.config.api_key}",
            "Accept": "application/json",
        }  # seed 003 / *public*

    def submit(self, *, model_path: str, inputs: Mapping[str, Any], webhook_url: str | None = None) -> Submission:
        url = submit_url(self.config.base_url, model_path)
        if webhook_url:
            url = with_query(url, {"fal_webhook": webhook_url})  # *public*: ?fal_webhook=<url>
        response = self._request("POST", url, idempotent=False, json=build_payload(inputs))
        body = self._json(response)
        request_id = str(body.get("request_id") or "") if isinstance(body, Mapping) else ""
        if not request_id:
            raise ProviderUnavailable(
                "fal accepted the submit but answered no request_id",
                provider=PROVIDER,
                http_status=response.status_code,
                body=body,
            )
        app = app_id(model_path)
        built = queue_urls(self.config.base_url, app, request_id)
        handle: dict[str, Any] = {"request_id": request_id, "app_id": app}
        for name, fallback in built.items():
            handle[name] = self._trusted(body.get(name), fallback)
        return Submission(request_id=request_id, handle=handle, raw=body)

    def status(self, *, handle: Mapping[str, Any]) -> PollResult:
        """GET the status URL (202 IN_QUEUE / IN_PROGRESS, 200 COMPLETED); no output here."""
        urls = self._urls(handle)
        response = self._request("GET", with_query(urls["status_url"], {"logs": "1"}))  # *public*
        return parse_status(self._json(response))

    def result(self, *, handle: Mapping[str, Any]) -> PollResult:
        """GET the response URL: the video, or the request's own failure."""
        return self._fetch_result(self._urls(handle)["response_url"], logs=())

    def poll(self, *, handle: Mapping[str, Any]) -> PollResult:
        state = self.status(handle=handle)
        if state.state != "succeeded":
            return state
        return self._fetch_result(self._urls(handle)["response_url"], logs=state.logs)

    def cancel(self, *, handle: Mapping[str, Any]) -> CancelResult:
        url = self._urls(handle)["cancel_url"]
        try:
            response = self._request("PUT", url)  # *public*: PUT .../requests/<id>/cancel
        except ProviderRejected as exc:
            return parse_cancel(exc.http_status or 400, exc.body)
        return parse_cancel(response.status_code, self._json(response))

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify against fal's JWKS (cached; refetched once after a failure), then parse.
        WebhookVerificationError on a missing header, stale timestamp or bad signature;
        ProviderUnavailable when the JWKS cannot be fetched (answer 5xx: fal retries)."""
        request_id, user_id, timestamp, signature = webhook_headers(headers)
        check_timestamp(timestamp, now=self._now())
        message = webhook_message(request_id=request_id, user_id=user_id, timestamp=timestamp, body=body)
        if not signature_valid(self.jwks_cache.get(self._fetch_jwks), signature, message):
            fresh = self.jwks_cache.refresh(self._fetch_jwks)
            if fresh is None or not signature_valid(fresh, signature, message):
                raise WebhookVerificationError("The webhook signature does not match any of fal's keys.")
        return parse_webhook_body(body, request_id=request_id)

    # -- errors ---------------------------------------------------------------------------------
    def error_message(self, response: httpx.Response) -> tuple[str, str | None, dict[str, str]]:
        """*public*: ``{"detail": [{"loc", "msg", "type"}]}`` (validation) or ``{"detail": "<text>",
        "error_type": "..."}`` with an ``X-Fal-Error-Type`` header."""
        code = response.headers.get("x-fal-error-type")
        try:
            body = response.json()
        except ValueError:
            return (response.text[:500] or response.reason_phrase, code, {})
        if isinstance(body, Mapping):
            code = _str_or_none(body.get("error_type")) or code
            message, fields = detail_message(body.get("detail"))
            if message:
                return (message, code, fields)
        return (response.text[:500] or response.reason_phrase, code, {})

    def map_error(self, response: httpx.Response) -> ProviderError:
        """As the base, plus: ``X-Fal-Retryable``/``X-Fal-Needs-Retry: true`` -> FalRetryable (a
        ProviderUnavailable) even on a 4xx (*public*); 402 (out of credits, *public*) ->
        ProviderAuthError, since it is our account's problem, not the user's input."""
        status = response.status_code
        if status != 429 and is_retryable(response.headers):
            message, code, _fields = self.error_message(response)
            return FalRetryable(message, provider=PROVIDER, http_status=status, code=code, body=_body(response))
        if status == 402:
            message, code, _fields = self.error_message(response)
            return ProviderAuthError(
                f"The fal account is out of credits: {message}",
                provider=PROVIDER,
                http_status=status,
                code=code,
                body=_body(response),
            )
        return super().map_error(response)

    # -- helpers --------------------------------------------------------------------------------
    def _fetch_result(self, url: str, *, logs: tuple[str, ...]) -> PollResult:
        """GET the result. An error answer there is the request's own failure (fal retries runner
        failures itself, *public*): a 4xx or a non-retryable 5xx with a ``detail`` -> a failed
        PollResult (canceled for ``client_cancelled`` / 499, *public*); auth, rate limits, retryable
        and detail-less 5xx still raise."""
        try:
            response = self._request("GET", url)
        except (ProviderAuthError, ProviderRateLimited, FalRetryable):
            raise
        except ProviderError as exc:
            if exc.code == CANCELED_ERROR_TYPE or exc.http_status == CANCELED_HTTP_STATUS:
                return PollResult(
                    state="canceled", error=exc.message, error_code=CANCELED_ERROR_TYPE, logs=logs, raw=exc.body
                )
            has_detail = isinstance(exc.body, Mapping) and bool(exc.body.get("detail"))
            if isinstance(exc, ProviderRejected) or has_detail:
                return PollResult(state="failed", error=exc.message, error_code=exc.code, logs=logs, raw=exc.body)
            raise
        return parse_result(self._json(response), logs=logs)

    def _urls(self, handle: Mapping[str, Any]) -> dict[str, str]:
        request_id = str(handle["request_id"])
        app = str(handle.get("app_id") or "")
        built = queue_urls(self.config.base_url, app, request_id) if app else {}
        out: dict[str, str] = {}
        for name in ("status_url", "response_url", "cancel_url"):
            value = handle.get(name)
            if isinstance(value, str) and same_origin(value, self.config.base_url):
                out[name] = value
            elif name in built:
                out[name] = built[name]
            else:
                raise ProviderRejected(f"The fal handle has no usable {name}.", provider=PROVIDER)
        return out

    def _trusted(self, answered: Any, fallback: str) -> str:
        """Use an answered queue URL only when it points at our configured base (never send our
        key to another host)."""
        if isinstance(answered, str) and answered and same_origin(answered, self.config.base_url):
            return answered
        return fallback

    def _fetch_jwks(self) -> list[Ed25519PublicKey]:
        """GET ``config.jwks_url`` without our Authorization header (the JWKS is public)."""
        if not self.config.jwks_url:
            raise ProviderUnavailable("No fal JWKS URL is configured.", provider=PROVIDER)
        request = self._http.build_request("GET", self.config.jwks_url)
        request.headers.pop("Authorization", None)
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"could not fetch fal's JWKS: {exc}", provider=PROVIDER) from exc
        if response.status_code >= 400:
            raise ProviderUnavailable(
                f"fal's JWKS answered HTTP {response.status_code}",
                provider=PROVIDER,
                http_status=response.status_code,
            )
        keys = public_keys_from_jwks(self._json(response))
        if not keys:
            raise ProviderUnavailable("fal's JWKS holds no Ed25519 key", provider=PROVIDER)
        return keys

    def _now(self) -> float:
        return time.time()


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]
