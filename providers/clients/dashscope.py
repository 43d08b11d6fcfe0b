"""Alibaba DashScope client: ``wan2.7-r2v`` (reference-to-video) as an asynchronous task.

Sources of the wire details (see /work/shared/PROVIDERS.md): *seed* = seed 004 (Alibaba's Chinese
API page for wan2.7-r2v), *public* = Alibaba's public docs and the dashscope SDK,
*unconfirmed* = third-party only. DashScope sends no webhooks: jobs are polled.

Only translation lives here: ``build_payload`` / ``parse_status`` / ``parse_cancel`` are pure and
tested directly; ``DashScopeClient`` adds the HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from .base import (
    CancelResult,
    PollResult,
    ProviderAuthError,
    ProviderClient,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    Submission,
    parse_retry_after,
)

PROVIDER = "dashscope"
CREATE_PATH = "/services/aigc/video-generation/video-synthesis"  # seed 004 (step 1)

# seed 004: PENDING, RUNNING, SUCCEEDED, FAILED. *public* (dashscope SDK TaskStatus): SUSPENDED,
# CANCELED and UNKNOWN; the SDK's wait loop treats CANCELED and UNKNOWN as final. UNKNOWN is what a
# task id past its 24 hours (or never created) answers.
STATES: dict[str, str] = {
    "PENDING": "queued",
    "SUSPENDED": "queued",
    "RUNNING": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "CANCELED": "canceled",
    "UNKNOWN": "failed",
}

# seed 004 request body: ``input`` holds the prompt and the media; ``parameters`` the rest.
# ``seed`` is *unconfirmed* (0..2147483647); the others are in the seed's examples.
INPUT_FIELDS = ("prompt", "media")
PARAMETER_FIELDS = ("resolution", "ratio", "duration", "prompt_extend", "watermark", "seed")
MEDIA_FIELDS = ("type", "url", "reference_voice")  # seed 004: reference_voice is optional

# *public* error codes (PROVIDERS.md): Arrearage (HTTP 400) is our account being in arrears.
ACCOUNT_CODES = ("Arrearage",)


# -- pure wire translation ------------------------------------------------------------------------
def create_url(base_url: str) -> str:
    """seed 004: ``POST {base}/services/aigc/video-generation/video-synthesis`` (base = the region's
    ``.../api/v1``, a setting)."""
    return f"{base_url.rstrip('/')}{CREATE_PATH}"


def task_url(base_url: str, task_id: str) -> str:
    """seed 004: ``GET {base}/tasks/{task_id}``."""
    return f"{base_url.rstrip('/')}/tasks/{task_id}"


def cancel_url(base_url: str, task_id: str) -> str:
    """*public* (dashscope SDK): ``POST {base}/tasks/{task_id}/cancel``; only PENDING tasks."""
    return f"{task_url(base_url, task_id)}/cancel"


def build_payload(model_path: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The job's flat input -> ``{"model", "input": {"prompt", "media"}, "parameters": {...}}``
    (seed 004). Only the parameters present (and not None) are sent, so DashScope applies its own
    defaults. A key this function does not know raises ValueError: the catalogue and this client
    are out of step, and silently dropping a user's input would be worse."""
    unknown = sorted(set(inputs) - set(INPUT_FIELDS) - set(PARAMETER_FIELDS))
    if unknown:
        raise ValueError(f"DashScope input has fields the client does not know: {unknown}")
    body_input: dict[str, Any] = {}
    if inputs.get("prompt") is not None:
        body_input["prompt"] = inputs["prompt"]
    media = inputs.get("media")
    if media is not None:
        body_input["media"] = [_media_item(item) for item in media]
    parameters = {k: inputs[k] for k in PARAMETER_FIELDS if inputs.get(k) is not None}
    return {"model": model_path, "input": body_input, "parameters": parameters}


def _media_item(item: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(item) - set(MEDIA_FIELDS))
    if unknown:
        raise ValueError(f"DashScope media item has fields the client does not know: {unknown}")
    return {k: item[k] for k in MEDIA_FIELDS if item.get(k) is not None}


def parse_status(body: Mapping[str, Any]) -> PollResult:
    """A task answer -> PollResult. SUCCEEDED -> ``output.video_url`` (seed 004: valid 24 hours);
    FAILED -> ``output.code`` / ``output.message`` (seed 004); UNKNOWN -> failed "task unknown or
    expired"; CANCELED -> canceled. A missing or unknown word raises ProviderUnavailable."""
    output = body.get("output") if isinstance(body.get("output"), Mapping) else {}
    word = str(output.get("task_status") or "").upper()
    if word not in STATES:
        raise ProviderUnavailable(
            f"DashScope answered an unknown task status {word!r}", provider=PROVIDER, body=dict(body)
        )
    state = STATES[word]
    raw = dict(body)
    if word == "SUCCEEDED":
        url = output.get("video_url")
        if not isinstance(url, str) or not url:
            return PollResult(
                state="failed",
                error="DashScope reported success but gave no video_url",
                error_code="no_output",
                raw=raw,
            )
        return PollResult(state="succeeded", video_url=url, raw=raw)
    if word == "FAILED":
        return PollResult(
            state="failed",
            error=str(output.get("message") or "DashScope reported the task failed."),
            error_code=str(output.get("code")) if output.get("code") else None,
            raw=raw,
        )
    if word == "UNKNOWN":
        return PollResult(state="failed", error="task unknown or expired", error_code="UNKNOWN", raw=raw)
    return PollResult(state=state, raw=raw)  # type: ignore[arg-type]


def parse_cancel(body: Any) -> CancelResult:
    """A 2xx cancel answer -> accepted and final (only a PENDING task can be canceled, so it is off
    the queue); a 2xx answer that still carries an error ``code`` -> not accepted."""
    code = body.get("code") if isinstance(body, Mapping) else None
    if code:
        return CancelResult(accepted=False, final=False, status=str(code), raw=body)
    return CancelResult(accepted=True, final=True, status="CANCELED", raw=body)


# -- the client -------------------------------------------------------------------------------------
class DashScopeClient(ProviderClient):
    """Handle shape: ``{"request_id": <output.task_id>}``."""

    provider = PROVIDER
    supports_cancel = True
    supports_webhook = False

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}", "Accept": "application/json"}  # seed 004

    def submit(
        self, *, model_path: str, inputs: Mapping[str, Any], webhook_url: str | None = None
    ) -> Submission:
        """``webhook_url`` is ignored: DashScope has no webhooks."""
        response = self._request(
            "POST",
            create_url(self.config.base_url),
            idempotent=False,
            json=build_payload(model_path, inputs),
            # seed 004: required; without it: "current user api does not support synchronous calls".
            headers={"Content-Type": "application/json", "X-DashScope-Async": "enable"},
        )
        body = self._json(response)
        output = (
            body.get("output")
            if isinstance(body, Mapping) and isinstance(body.get("output"), Mapping)
            else {}
        )
        task_id = str(output.get("task_id") or "")
        if not task_id:
            if isinstance(body, Mapping) and body.get("code"):
                raise ProviderRejected(
                    str(body.get("message") or body["code"]),
                    provider=PROVIDER,
                    http_status=response.status_code,
                    code=str(body["code"]),
                    body=body,
                )
            raise ProviderUnavailable(
                "DashScope accepted the task but answered no task_id",
                provider=PROVIDER,
                http_status=response.status_code,
                body=body,
            )
        return Submission(request_id=task_id, handle={"request_id": task_id}, raw=body)

    def status(self, *, handle: Mapping[str, Any]) -> PollResult:
        """One GET answers the task's state and, once SUCCEEDED, its video_url."""
        response = self._request("GET", task_url(self.config.base_url, str(handle["request_id"])))
        body = self._json(response)
        if not isinstance(body, Mapping):
            raise ProviderUnavailable(
                "DashScope answered a task that is not a JSON object", provider=PROVIDER
            )
        return parse_status(body)

    def cancel(self, *, handle: Mapping[str, Any]) -> CancelResult:
        """*public*: only PENDING tasks can be canceled; an error answer (e.g. the task already
        runs) means not accepted. Auth and transient errors raise."""
        try:
            response = self._request("POST", cancel_url(self.config.base_url, str(handle["request_id"])))
        except ProviderRejected as exc:
            return CancelResult(accepted=False, final=False, status=exc.code or exc.message, raw=exc.body)
        return parse_cancel(self._json(response))

    # -- errors ---------------------------------------------------------------------------------
    def error_message(self, response: httpx.Response) -> tuple[str, str | None, dict[str, str]]:
        """*public*: ``{"request_id", "code", "message"}``."""
        try:
            body = response.json()
        except ValueError:
            return (response.text[:500] or response.reason_phrase, None, {})
        if isinstance(body, Mapping) and (body.get("code") or body.get("message")):
            code = str(body["code"]) if body.get("code") else None
            return (str(body.get("message") or code), code, {})
        return (response.text[:500] or response.reason_phrase, None, {})

    def map_error(self, response: httpx.Response) -> ProviderError:
        """As the base (400 InvalidParameter/DataInspectionFailed/InvalidURL -> rejected, 401
        InvalidApiKey / 403 AccessDenied -> auth, 408/5xx -> unavailable, 429 -> rate limited), plus
        by ``code``: ``Arrearage`` -> ProviderAuthError (our account is in arrears, not the
        user's fault), ``Throttling*`` -> ProviderRateLimited whatever the HTTP status."""
        message, code, _fields = self.error_message(response)
        kwargs: dict[str, Any] = {
            "provider": PROVIDER,
            "http_status": response.status_code,
            "code": code,
            "body": _body(response),
        }
        if code in ACCOUNT_CODES:
            return ProviderAuthError(f"The DashScope account is in arrears: {message}", **kwargs)
        if code and code.startswith("Throttling") and response.status_code != 429:
            return ProviderRateLimited(message, retry_after=parse_retry_after(response.headers), **kwargs)
        return super().map_error(response)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]
