"""Alibaba DashScope client: our interface in DashScope's wire words, for ``wan2.7-r2v``
(reference-to-video) as an asynchronous task. DashScope sends no webhooks: jobs are polled.

The protocol as we use it, and which page says what: docs/providers/dashscope.md. Alibaba's pages
cited below by short name:

- *API page*: https://help.aliyun.com/zh/model-studio/wan-video-to-video-api-reference (in English:
  https://help.aliyun.com/en/model-studio/video-reference-api-reference): create, query, the body;
- *error codes*: https://www.alibabacloud.com/help/en/model-studio/error-code;
- *SDK*: the dashscope SDK, https://github.com/dashscope/dashscope-sdk-python (``TaskStatus``, cancel);
- *unconfirmed*: a detail no Alibaba page states, taken from third-party sources.

Only translation lives here: ``build_payload``, ``parse_status`` and ``parse_cancel`` are pure;
``DashScopeClient`` adds the HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .base import ProviderClient, no_output, state_for
from .errors import ProviderError, ProviderRateLimited, ProviderRejected, ProviderUnavailable
from .results import CancelResult, PollResult, Submission

PROVIDER = "dashscope"
CREATE_PATH = "/services/aigc/video-generation/video-synthesis"  # API page (step 1)

# API page: PENDING, RUNNING, SUCCEEDED, FAILED. SDK (TaskStatus): SUSPENDED,
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

# API page request body: ``input`` holds the prompt and the media; ``parameters`` the rest.
# ``seed`` is *unconfirmed* (0..2147483647); the others are in the API page's examples.
INPUT_FIELDS = ("prompt", "media")
PARAMETER_FIELDS = ("resolution", "ratio", "duration", "prompt_extend", "watermark", "seed")
MEDIA_FIELDS = ("type", "url", "reference_voice")  # API page: reference_voice is optional


# -- pure wire translation ------------------------------------------------------------------------
def create_url(base_url: str) -> str:
    """API page: ``POST {base}/services/aigc/video-generation/video-synthesis`` (base = the region's
    ``.../api/v1``, a setting)."""
    return f"{base_url.rstrip('/')}{CREATE_PATH}"


def task_url(base_url: str, task_id: str) -> str:
    """API page: ``GET {base}/tasks/{task_id}``."""
    return f"{base_url.rstrip('/')}/tasks/{task_id}"


def cancel_url(base_url: str, task_id: str) -> str:
    """SDK: ``POST {base}/tasks/{task_id}/cancel``; only PENDING tasks."""
    return f"{task_url(base_url, task_id)}/cancel"


def build_payload(model_path: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The job's flat input -> ``{"model", "input": {"prompt", "media"}, "parameters": {...}}``
    (API page). Only the parameters present (and not None) are sent, so DashScope applies its own
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
    """A task answer -> PollResult. SUCCEEDED -> ``output.video_url`` (API page: valid 24 hours);
    FAILED -> ``output.code`` / ``output.message`` (API page); UNKNOWN -> failed "task unknown or
    expired"; CANCELED -> canceled. A missing or unknown word raises ProviderUnavailable."""
    output = body.get("output") if isinstance(body.get("output"), Mapping) else {}
    word = str(output.get("task_status") or "").upper()
    raw = dict(body)
    state = state_for(word, STATES, provider="DashScope", body=raw)
    if word == "SUCCEEDED":
        url = output.get("video_url")
        if not isinstance(url, str) or not url:
            return no_output("DashScope", raw=raw)
        return PollResult(state="succeeded", video_url=url, raw=raw, provider_seconds=usage_output_seconds(body))
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


def usage_output_seconds(body: Mapping[str, Any]) -> Decimal | None:
    """API page: a SUCCEEDED answer's top-level ``usage.output_video_duration`` is the output's length
    in seconds (``usage.duration`` adds the reference videos' input seconds, billed with it). None
    when the answer has no readable value: the field is reported, not relied on."""
    usage = body.get("usage")
    value = usage.get("output_video_duration") if isinstance(usage, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = Decimal(str(value))
    except InvalidOperation:
        return None
    return seconds if seconds.is_finite() and seconds >= 0 else None


def parse_cancel(body: Any) -> CancelResult:
    """A 2xx cancel answer -> ``CANCELED`` (only a PENDING task can be canceled, so it is off the
    queue); a 2xx answer that still carries an error ``code`` -> that code."""
    code = body.get("code") if isinstance(body, Mapping) else None
    return CancelResult(status=str(code) if code else "CANCELED")


# -- the client -------------------------------------------------------------------------------------
class DashScopeClient(ProviderClient):
    """Handle shape: ``{"request_id": <output.task_id>}``."""

    provider = PROVIDER
    # Error codes: Arrearage (answered as HTTP 400) is our account being in arrears.
    unpaid_codes = ("Arrearage",)
    unpaid_message = "The DashScope account is in arrears"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}", "Accept": "application/json"}  # API page

    def submit(
        self, *, model_path: str, inputs: Mapping[str, Any], webhook_url: str | None = None
    ) -> Submission:
        """``webhook_url`` is ignored: DashScope has no webhooks."""
        response = self._request(
            "POST",
            create_url(self.config.base_url),
            idempotent=False,
            json=build_payload(model_path, inputs),
            # API page: required; without it: "current user api does not support synchronous calls".
            headers={"Content-Type": "application/json", "X-DashScope-Async": "enable"},
        )
        body = self._json(response)
        output = (
            body.get("output")
            if isinstance(body, Mapping) and isinstance(body.get("output"), Mapping)
            else {}
        )
        if not output.get("task_id") and isinstance(body, Mapping) and body.get("code"):
            message, code, _fields = self.read_error(body, response.headers)  # a refusal answered as 2xx
            raise ProviderRejected(message, provider=PROVIDER, http_status=response.status_code, code=code, body=body)
        task_id = self._task_id(output.get("task_id"), name="output.task_id", response=response, body=body)
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
        """SDK: only PENDING tasks can be canceled; a refusal (e.g. the task already runs) is
        answered with its code. Auth and transient errors raise."""
        try:
            response = self._request("POST", cancel_url(self.config.base_url, str(handle["request_id"])))
        except ProviderRejected as exc:
            return CancelResult(status=exc.code or exc.message)
        return parse_cancel(self._json(response))

    # -- errors ---------------------------------------------------------------------------------
    def read_error(self, body: Any, headers: Mapping[str, str]) -> tuple[str, str | None, dict[str, str]]:
        """Error codes: ``{"request_id", "code", "message"}``."""
        if not isinstance(body, Mapping) or not (body.get("code") or body.get("message")):
            return ("", None, {})
        code = str(body["code"]) if body.get("code") else None
        return (str(body.get("message") or code), code, {})

    def error_kind(
        self, *, status: int, code: str | None, headers: Mapping[str, str]
    ) -> type[ProviderError] | None:
        """Error codes: ``Throttling*`` is rate limiting whatever the HTTP status (the base maps
        400 InvalidParameter/DataInspectionFailed/InvalidURL -> rejected, 401 InvalidApiKey /
        403 AccessDenied -> auth, 408/5xx -> unavailable, 429 -> rate limited)."""
        return ProviderRateLimited if code and code.startswith("Throttling") else None
