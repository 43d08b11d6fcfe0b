"""fal client: our interface in fal's queue words, for ``fal-ai/ai-avatar``, ``/multi``,
``/single-text`` and ``/multi-text``.

The protocol as we use it, and which page says what: docs/providers/fal.md. fal's pages cited below
by short name:

- *model page*: https://fal.ai/models/fal-ai/ai-avatar/multi-text/api (input and output schema);
- *queue page*: https://docs.fal.ai/model-apis/model-endpoints/queue (submit, status, result, cancel);
- *webhooks page*: https://docs.fal.ai/model-apis/model-endpoints/webhooks;
- *errors page*: https://fal.ai/docs/documentation/model-apis/request-errors (``error_type``,
  ``X-Fal-Error-Type``) and https://fal.ai/docs/documentation/serverless/reliability/retries
  (``X-Fal-Retryable``);
- *unconfirmed*: a detail no fal page states, taken from third-party clients or chosen by us.

Only translation lives here: ``build_payload`` is the base's default; ``parse_status``,
``parse_result``, ``parse_cancel`` and ``parse_webhook_body`` are pure; ``FalClient`` adds the
HTTP. Webhook signatures (the JWKS and its cache) are checked in ``providers.clients.fal_webhooks``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .base import (
    ProviderClient,
    default_payload,
    lower_headers,
    no_output,
    state_for,
    webhook_json,
    with_query,
)
from .errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    WebhookVerificationError,
)
from .fal_webhooks import JwksCache, fetch_jwks, verify_signature
from .results import CancelResult, ClientConfig, PollResult, Submission, WebhookEvent

PROVIDER = "fal"

# Queue page: status words of GET .../requests/<id>/status.
STATES: dict[str, str] = {"IN_QUEUE": "queued", "IN_PROGRESS": "running", "COMPLETED": "succeeded"}

_TRUE = ("1", "true", "yes")

# Errors page: a request canceled while it ran ends with error_type
# "client_cancelled" (HTTP 499 at the result); we read that as canceled, not failed.
CANCELED_ERROR_TYPE = "client_cancelled"
CANCELED_HTTP_STATUS = 499


class FalRetryable(ProviderUnavailable):
    """fal marked the failure retryable (``X-Fal-Retryable: true``, some pages
    ``X-Fal-Needs-Retry``; errors page), whatever its HTTP status."""


# -- pure wire translation ------------------------------------------------------------------------
def app_id(model_path: str) -> str:
    """``fal-ai/ai-avatar/multi-text`` -> ``fal-ai/ai-avatar`` (queue page: status, result and
    cancel URLs use the app id only, never the endpoint's subpath)."""
    parts = [p for p in model_path.strip("/").split("/") if p]
    if len(parts) < 2:
        raise ValueError(f"not a fal model path: {model_path!r}")
    return "/".join(parts[:2])


def submit_url(base_url: str, model_path: str) -> str:
    """Queue page: ``POST {base}/{model_path}`` (base ``https://queue.fal.run``)."""
    return f"{base_url.rstrip('/')}/{model_path.strip('/')}"


def queue_urls(base_url: str, app: str, request_id: str) -> dict[str, str]:
    """The queue URLs built from the app id (queue page), used only when the submit answered none."""
    root = f"{base_url.rstrip('/')}/{app}/requests/{request_id}"
    return {"status_url": f"{root}/status", "response_url": root, "cancel_url": f"{root}/cancel"}


def detail_message(detail: Any) -> tuple[str, dict[str, str]]:
    """(message, {field: msg}) from fal's ``detail`` (errors page): either a list of
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
    """A status answer -> PollResult (queue page). ``IN_QUEUE`` -> queued with ``queue_position``
    (0-based); ``IN_PROGRESS`` -> running with the log messages; ``COMPLETED`` -> succeeded
    *without* a video URL: the caller then fetches ``response_url`` (``parse_result``). A
    ``COMPLETED`` status carrying an ``error`` (*unconfirmed*: newer queue answers add ``error`` /
    ``error_type`` for a failed request) -> failed, or canceled when ``error_type`` is
    ``client_cancelled`` (errors page). An unknown word raises ProviderUnavailable."""
    word = str(body.get("status") or "").upper()
    state_for(word, STATES, provider=PROVIDER, body=dict(body))
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
    """The result (model page output ``{"video": {"url", "content_type", "file_name", "file_size"},
    "seed"}``) -> succeeded with ``video.url``; a result holding ``detail`` (a validation error
    that came through the queue, errors page) or no video -> failed."""
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
        return no_output(PROVIDER, raw=body, logs=logs)
    return PollResult(state="succeeded", video_url=url, logs=logs, raw=body)


def parse_cancel(http_status: int, body: Any) -> CancelResult:
    """A cancel answer -> its word (queue page): ``OK`` (removed from the queue),
    ``CANCELLATION_REQUESTED`` (it was running: polling tells when it stops),
    ``ALREADY_COMPLETED`` or ``NOT_FOUND``; the HTTP status (*unconfirmed*: 202 / 400 or 409 / 404)
    when the answer names none."""
    word = str(body.get("status") or "").upper() if isinstance(body, Mapping) else ""
    return CancelResult(status=word or str(http_status))


def is_retryable(headers: Mapping[str, str]) -> bool:
    h = lower_headers(headers)
    return any(str(h.get(name, "")).strip().lower() in _TRUE for name in ("x-fal-retryable", "x-fal-needs-retry"))


def parse_webhook_body(*, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
    """A verified webhook (webhooks page: ``{request_id, gateway_request_id, status: "OK"|"ERROR",
    payload, error?, payload_error?}``) -> WebhookEvent. The body must name the request its signed
    ``X-Fal-Webhook-Request-Id`` header names.

    ``OK`` -> the payload read as a result (``parse_result``). ``ERROR`` -> failed with the
    payload's ``detail`` (validation errors arrive this way) or ``error`` (canceled when its
    ``error_type`` is ``client_cancelled``). ``OK`` with a
    ``payload_error`` (fal could not serialize the output into the webhook) -> running: the job
    layer's poll then fetches the result from the queue."""
    request_id = str(lower_headers(headers).get("x-fal-webhook-request-id") or "")
    data = webhook_json(body)
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


# -- the client -------------------------------------------------------------------------------------
class FalClient(ProviderClient):
    """Handle shape: ``{"request_id", "app_id", "status_url", "response_url", "cancel_url"}``, the
    URLs as the submit answered them (or built from the app id when it answered none)."""

    provider = PROVIDER
    unpaid_message = "The fal account is out of credits"  # errors page: 402 is "out of credits"

    def __init__(self, config: ClientConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        shared = config.extra.get("jwks_cache") if config.extra else None
        self.jwks_cache: JwksCache = shared if isinstance(shared, JwksCache) else JwksCache()

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Key {self.config.api_key}",
            "Accept": "application/json",
        }  # model page

    def submit(self, *, model_path: str, inputs: Mapping[str, Any], webhook_url: str | None = None) -> Submission:
        url = submit_url(self.config.base_url, model_path)
        if webhook_url:
            url = with_query(url, {"fal_webhook": webhook_url})  # webhooks page: ?fal_webhook=<url>
        response = self._request("POST", url, idempotent=False, json=default_payload(inputs))
        body = self._json(response)
        answered = body.get("request_id") if isinstance(body, Mapping) else None
        request_id = self._task_id(answered, name="request_id", response=response, body=body)
        app = app_id(model_path)
        built = queue_urls(self.config.base_url, app, request_id)
        handle: dict[str, Any] = {"request_id": request_id, "app_id": app}
        for name, fallback in built.items():
            handle[name] = self._trusted_url(body.get(name), fallback)
        return Submission(request_id=request_id, handle=handle, raw=body)

    def handle_for(self, *, model_path: str, request_id: str) -> dict[str, Any]:
        """The queue URLs of a request are built from its app id (queue page)."""
        return {"request_id": request_id, "app_id": app_id(model_path)}

    def status(self, *, handle: Mapping[str, Any]) -> PollResult:
        """GET the status URL (202 IN_QUEUE / IN_PROGRESS, 200 COMPLETED); no output here."""
        urls = self._urls(handle)
        response = self._request("GET", with_query(urls["status_url"], {"logs": "1"}))  # queue page
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
            response = self._request("PUT", url)  # queue page: PUT .../requests/<id>/cancel
        except ProviderRejected as exc:
            return parse_cancel(exc.http_status or 400, exc.body)
        return parse_cancel(response.status_code, self._json(response))

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> None:
        """fal signs with Ed25519 keys it publishes as a JWKS (``providers.clients.fal_webhooks``)."""
        verify_signature(
            headers=headers, body=body, now=self._now(), cache=self.jwks_cache, fetch=self._fetch_jwks
        )

    parse_webhook_body = staticmethod(parse_webhook_body)

    # -- errors ---------------------------------------------------------------------------------
    def read_error(self, body: Any, headers: Mapping[str, str]) -> tuple[str, str | None, dict[str, str]]:
        """Errors page: ``{"detail": [{"loc", "msg", "type"}]}`` (validation) or ``{"detail":
        "<text>", "error_type": "..."}`` with an ``X-Fal-Error-Type`` header."""
        code = lower_headers(headers).get("x-fal-error-type")
        if not isinstance(body, Mapping):
            return ("", code, {})
        message, fields = detail_message(body.get("detail"))
        return (message, _str_or_none(body.get("error_type")) or code, fields if message else {})

    def error_kind(
        self, *, status: int, code: str | None, headers: Mapping[str, str]
    ) -> type[ProviderError] | None:
        """``X-Fal-Retryable``/``X-Fal-Needs-Retry: true`` -> FalRetryable (a ProviderUnavailable)
        even on a 4xx (errors page); a 429 stays rate limited."""
        return FalRetryable if status != 429 and is_retryable(headers) else None

    # -- helpers --------------------------------------------------------------------------------
    def _fetch_result(self, url: str, *, logs: tuple[str, ...]) -> PollResult:
        """GET the result. An error answer there is the request's own failure (fal retries runner
        failures itself, errors page): a 4xx or a non-retryable 5xx with a ``detail`` -> a failed
        PollResult (canceled for ``client_cancelled`` / 499); auth, rate limits, retryable
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
        """The handle's queue URLs where they point at our base, else those built from its app id."""
        request_id = str(handle["request_id"])
        app = str(handle.get("app_id") or "")
        built = queue_urls(self.config.base_url, app, request_id) if app else {}
        out: dict[str, str] = {}
        for name in ("status_url", "response_url", "cancel_url"):
            url = self._trusted_url(handle.get(name), built.get(name, ""))
            if not url:
                raise ProviderRejected(f"The fal handle has no usable {name}.", provider=PROVIDER)
            out[name] = url
        return out

    def _fetch_jwks(self) -> list[Ed25519PublicKey]:
        return fetch_jwks(self._http, self.config.jwks_url)
