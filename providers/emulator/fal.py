"""fal's queue API for ``fal-ai/ai-avatar`` and its subpaths, as the emulator speaks it.

Sources: *documented* = fal's public documentation: the model page and its schema
(https://fal.ai/models/fal-ai/ai-avatar/api), the queue
(https://docs.fal.ai/model-apis/model-endpoints/queue), webhooks
(https://docs.fal.ai/model-apis/model-endpoints/webhooks) and errors (https://docs.fal.ai/errors),
and fal's official clients; *unconfirmed* = ours. The protocol as the platform uses it is
described in ``docs/providers/fal.md``.

- Auth ``Authorization: Key <key>``; 401 ``{"detail": "..."}`` (*documented*).
- Submit ``POST /fal-ai/ai-avatar[/multi|/single-text|/multi-text]``, the input as the body
  (*documented*); the answer's ``status_url``/``response_url``/``cancel_url`` use the app id
  ``fal-ai/ai-avatar`` only, never the subpath (*documented*).
- Status ``GET .../requests/<id>/status[?logs=1]``: 202 ``IN_QUEUE`` (0-based
  ``queue_position``) / 202 ``IN_PROGRESS`` / 200 ``COMPLETED`` with ``metrics.inference_time``
  (*documented*); a failed request reads ``COMPLETED`` with ``error`` and ``error_type``
  (*unconfirmed*: newer queue answers).
- Result ``GET .../requests/<id>``: the output (*documented*); 400 while not completed
  (*unconfirmed*); a failed request answers the model's error ``{"detail": [{"loc", "msg", "type",
  ...}]}`` with ``X-Fal-Retryable`` (*documented* shape; the status and error types are *unconfirmed*).
- Cancel ``PUT .../requests/<id>/cancel``: ``OK`` / ``CANCELLATION_REQUESTED`` /
  ``ALREADY_COMPLETED`` / ``NOT_FOUND`` (*documented* words; HTTP 202 / 202 / 400 / 404 *unconfirmed*).
- Validation at submit: 422 ``{"detail": [{"loc": ["body", field], "msg", "type"}]}`` (*documented*
  pydantic shape), fields per the model's schema; ``num_frames`` 41..241 (the API schema: the
  model page's prose says 81..129, yet its own defaults 136-191 lie outside it).
- Webhook ``?fal_webhook=<url>``: ``{request_id, gateway_request_id, status: OK|ERROR, payload,
  error?}`` signed ED25519 (*documented*, see ``signing.py``).
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .handler import ProviderHandler
from .http_messages import ApiRequest, ApiResponse, json_response
from .input_fetch import TaskInputs
from .rendering import RenderPlan
from .signing import FalSigner
from .task_store import TaskStore
from .tasks import Task, TaskFailure
from .webhooks import WebhookRequest

APP_ID = "fal-ai/ai-avatar"

# the model's schema (its enums)
VOICES: tuple[str, ...] = (
    "Aria", "Roger", "Sarah", "Laura", "Charlie", "George", "Callum", "River", "Liam", "Charlotte",
    "Alice", "Matilda", "Will", "Jessica", "Eric", "Chris", "Brian", "Daniel", "Lily", "Bill",
)
RESOLUTIONS: tuple[str, ...] = ("480p", "720p")
ACCELERATIONS: tuple[str, ...] = ("none", "regular", "high")
# the API schema (the model page's prose 81..129 contradicts its own defaults); kept as data.
NUM_FRAMES_MIN, NUM_FRAMES_MAX = 41, 241
# *unconfirmed* (docs/providers/fal.md): MultiTalk renders 25 fps, so the video lasts num_frames / 25 s.
FPS = Decimal(25)

_STRING_FIELDS = ("image_url", "audio_url", "first_audio_url", "second_audio_url", "text_input",
                  "first_text_input", "second_text_input", "prompt")
_ENUM_FIELDS: dict[str, tuple[str, ...]] = {
    "voice": VOICES, "voice1": VOICES, "voice2": VOICES, "resolution": RESOLUTIONS, "acceleration": ACCELERATIONS,
}


@dataclass(frozen=True)
class FalEndpoint:
    """One endpoint's schema (the model page's)."""

    id: str
    required: tuple[str, ...]
    fields: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)
    audio_fields: tuple[str, ...] = ()


_COMMON = ("prompt", "num_frames", "resolution", "seed", "acceleration")
ENDPOINTS: dict[str, FalEndpoint] = {
    e.id: e
    for e in (
        FalEndpoint(
            "fal-ai/ai-avatar", required=("image_url", "audio_url", "prompt"),
            fields=("image_url", "audio_url", *_COMMON),
            defaults={"num_frames": 145, "resolution": "480p", "seed": 42, "acceleration": "regular"},
            audio_fields=("audio_url",),
        ),
        FalEndpoint(
            # second_audio_url: required by the model page; fal's current schema makes it optional
            # beside use_only_first_audio (*documented*): required here unless use_only_first_audio is true.
            "fal-ai/ai-avatar/multi", required=("image_url", "first_audio_url", "second_audio_url", "prompt"),
            fields=("image_url", "first_audio_url", "second_audio_url", "use_only_first_audio", *_COMMON),
            defaults={"num_frames": 181, "resolution": "480p", "seed": 81, "acceleration": "regular",
                      "use_only_first_audio": False},
            audio_fields=("first_audio_url", "second_audio_url"),
        ),
        FalEndpoint(
            "fal-ai/ai-avatar/single-text", required=("image_url", "text_input", "voice", "prompt"),
            fields=("image_url", "text_input", "voice", *_COMMON),
            defaults={"num_frames": 136, "resolution": "480p", "seed": 42, "acceleration": "regular"},
        ),
        FalEndpoint(
            "fal-ai/ai-avatar/multi-text", required=("image_url", "first_text_input", "second_text_input", "prompt"),
            fields=("image_url", "first_text_input", "second_text_input", "voice1", "voice2", *_COMMON),
            defaults={"num_frames": 191, "resolution": "480p", "seed": 81, "acceleration": "regular",
                      "voice1": "Sarah", "voice2": "Roger"},
        ),
    )
}

_REQUEST = re.compile(r"^/fal-ai/ai-avatar/requests/([^/]+)(/status|/cancel)?/?$")
_DOCS = "https://docs.fal.ai/errors"


class FalHandler(ProviderHandler):
    name = "fal"
    prefixes = ("/fal-ai/",)
    auth_scheme = "Key"
    auth_scheme_exact = True
    status_words = {"queued": "IN_QUEUE", "running": "IN_PROGRESS", "succeeded": "COMPLETED", "failed": "COMPLETED",
                    "canceled": "COMPLETED"}

    def __init__(self, store: TaskStore, signer: FalSigner) -> None:
        super().__init__(store)
        self.signer = signer

    # -- HTTP -----------------------------------------------------------------------------------
    def unauthorized(self, request: ApiRequest) -> ApiResponse:
        if not request.headers.get("authorization"):
            return json_response(401, {"detail": "Missing authorization header"})
        return json_response(401, {"detail": "Invalid authorization credentials"})

    def route(self, request: ApiRequest) -> ApiResponse:
        match = _REQUEST.match(request.path)
        if match:
            request_id, action = match.groups()
            if action == "/status" and request.method == "GET":
                return self._status(request_id, logs=request.query.get("logs") in ("1", "true"))
            if action == "/cancel" and request.method == "PUT":
                return self._cancel(request_id)
            if action is None and request.method == "GET":
                return self._result(request_id)
            return json_response(405, {"detail": "Method Not Allowed"})
        endpoint = ENDPOINTS.get(request.path.strip("/"))
        if endpoint is not None and request.method == "POST":
            return self._submit(request, endpoint)
        return json_response(404, {"detail": "Not Found"})

    def _urls(self, request_id: str) -> dict[str, str]:
        root = f"{self.store.base_url}/{APP_ID}/requests/{request_id}"
        return {"response_url": root, "status_url": f"{root}/status", "cancel_url": f"{root}/cancel"}

    def _submit(self, request: ApiRequest, endpoint: FalEndpoint) -> ApiResponse:
        body = request.json_object
        if body is None:
            return json_response(422, {"detail": [{"loc": ["body"], "msg": "Input should be a valid dictionary",
                                                   "type": "dict_type"}]})
        errors = _validate(body, endpoint)
        if errors:
            return json_response(422, {"detail": errors})
        params = dict(endpoint.defaults)
        params.update({k: v for k, v in body.items() if k in endpoint.fields and v is not None})
        if "seed" in body and body["seed"] is None:  # the schema: "If None, a random seed is chosen"
            params["seed"] = random.randint(0, 2**31 - 1)
        task = self.store.create_task(provider=self.name, model=endpoint.id, input=body, params=params,
                                      webhook_url=request.query.get("fal_webhook") or None,
                                      task_id=str(uuid.uuid4()))
        return json_response(200, {
            "request_id": task.id,
            **self._urls(task.id),
            "status": "IN_QUEUE",
            "queue_position": self.store.queue_position(task),
        })

    def _status(self, request_id: str, *, logs: bool) -> ApiResponse:
        task = self.find(request_id)
        if task is None:
            return json_response(404, {"detail": "Request not found"})
        answer: dict[str, Any] = {"status": self.status_word(task), "request_id": task.id, **self._urls(task.id)}
        if task.state == "queued":
            answer["queue_position"] = self.store.queue_position(task)
        if logs:
            answer["logs"] = list(task.logs) if task.state != "queued" else []
        if not task.is_final:
            return json_response(202, answer)
        answer["metrics"] = {"inference_time": round(task.inference_ms() / 1000, 3)}
        if task.state != "succeeded":
            status, payload, _headers = self._failure(task)
            first = payload.get("detail")
            answer["error"] = first[0]["msg"] if isinstance(first, list) else str(first)
            answer["error_type"] = first[0]["type"] if isinstance(first, list) else payload.get("error_type")
        return json_response(200, answer)

    def _result(self, request_id: str) -> ApiResponse:
        task = self.find(request_id)
        if task is None:
            return json_response(404, {"detail": "Request not found"})
        if not task.is_final:
            return json_response(400, {"detail": "Request is still in progress"})
        if task.state == "succeeded":
            return json_response(200, self._output(task))
        status, payload, headers = self._failure(task)
        return json_response(status, payload, headers)

    def _cancel(self, request_id: str) -> ApiResponse:
        task = self.find(request_id)
        if task is None:
            return json_response(404, {"status": "NOT_FOUND"})
        outcome = self.store.cancel(task)
        if outcome == "removed":
            return json_response(202, {"status": "OK"})
        if outcome == "requested":
            return json_response(202, {"status": "CANCELLATION_REQUESTED"})
        return json_response(400, {"status": "ALREADY_COMPLETED"})

    # -- faults in fal's shapes (*documented*: request errors carry detail + error_type, the
    # X-Fal-Error-Type header and X-Fal-Retryable) ----------------------------------------------
    def rate_limit_answer(self, request: ApiRequest) -> ApiResponse:
        return json_response(429, {"detail": "Too many concurrent requests, please retry later"},
                             {"X-Fal-Retryable": "true"})

    def server_error(self, request: ApiRequest, status: int | None) -> ApiResponse:
        status = status or 503
        error_type, detail = {
            500: ("internal_error", "An unexpected internal error occurred."),
            502: ("runner_incomplete_response", "The runner sent an incomplete response payload."),
            504: ("request_timeout", "Request timed out"),
        }.get(status, ("runner_scheduling_failure", "No runner could be allocated to handle the request."))
        return json_response(status, {"detail": detail, "error_type": error_type},
                             {"X-Fal-Error-Type": error_type, "X-Fal-Retryable": "true"})

    def submit_example(self) -> dict[str, Any]:
        return {"request_id": str(uuid.uuid4()), "status": "IN_QUEUE", "queue_position": 0}

    # -- the task -----------------------------------------------------------------------------------
    def plan(self, task: Task, inputs: TaskInputs) -> RenderPlan:
        params = task.params
        image, _ = inputs.media(params["image_url"], name="image", field_name="image_url", kinds=("image",))
        audio_path: Path | None = None
        endpoint = ENDPOINTS[task.model]
        for name in endpoint.audio_fields:
            if name == "second_audio_url" and (params.get("use_only_first_audio") or not params.get(name)):
                continue
            path, _ = inputs.media(params[name], name=name, field_name=name, kinds=("audio", "video"))
            audio_path = audio_path or path  # the first person's audio drives the render
        # fal's length is set by num_frames (25 fps); text models have no audio to render.
        duration = Decimal(int(params["num_frames"])) / FPS
        return RenderPlan(image_path=image, audio_path=audio_path, duration_s=duration,
                          resolution=params["resolution"])

    def _output(self, task: Task) -> dict[str, Any]:
        out = task.output
        assert out is not None
        return {
            "video": {
                "url": out.url,
                "content_type": "application/octet-stream",  # the model page's example output
                "file_name": out.file_name,
                "file_size": out.size,
            },
            "seed": task.params.get("seed"),
        }

    def _failure(self, task: Task) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(HTTP status, body, headers) of a failed or cancelled request's result."""
        failure = task.failure or TaskFailure("render", "unknown failure")
        if failure.kind == "canceled":
            # *documented* request-error table (https://docs.fal.ai/errors): client_cancelled, 499.
            return 499, {"detail": "Request was cancelled by the client", "error_type": "client_cancelled"}, {
                "X-Fal-Error-Type": "client_cancelled", "X-Fal-Retryable": "false"}
        if failure.kind == "download":
            error = {"loc": ["body", failure.field or "image_url"],
                     "msg": f"Failed to download the file. Please check if the URL is accessible. ({failure.message})",
                     "type": "file_download_error", "input": failure.url}
        elif failure.kind == "fault":
            error = {"loc": ["body", "image_url"], "msg": "Could not detect a face in the image.",
                     "type": "face_detection_error", "input": task.params.get("image_url")}
        elif failure.kind in ("media", "limit"):
            kind = "image_load_error" if failure.field == "image_url" else "value_error"
            error = {"loc": ["body", failure.field or "image_url"], "msg": failure.message, "type": kind,
                     "input": failure.url}
        else:
            error = {"loc": ["body"], "msg": "Internal server error", "type": "internal_server_error"}
            return 500, {"detail": [dict(error, url=f"{_DOCS}#internal_server_error")]}, {"X-Fal-Retryable": "false"}
        error["url"] = f"{_DOCS}#{error['type']}"
        return 422, {"detail": [error]}, {"X-Fal-Retryable": "false"}

    def webhook(self, task: Task) -> WebhookRequest | None:
        """*documented*: ``{request_id, gateway_request_id, status, payload, error?}``, ED25519-signed."""
        message: dict[str, Any] = {"request_id": task.id, "gateway_request_id": task.id}
        if task.state == "succeeded":
            message.update(status="OK", payload=self._output(task))
        else:
            status, payload, _headers = self._failure(task)
            message.update(status="ERROR", error=f"Invalid status code: {status}", payload=payload)
        user_id = self.config.fal_user_id

        def signature_headers(timestamp: str, body: bytes) -> dict[str, str]:
            return {
                "X-Fal-Webhook-Request-Id": task.id,
                "X-Fal-Webhook-User-Id": user_id,
                "X-Fal-Webhook-Timestamp": timestamp,
                "X-Fal-Webhook-Signature": self.signer.sign(request_id=task.id, user_id=user_id,
                                                            timestamp=timestamp, body=body),
            }

        return self.signed_webhook(task, message, delivery_id=task.id, signature_headers=signature_headers)


def _validate(body: dict[str, Any], endpoint: FalEndpoint) -> list[dict[str, Any]]:
    """Every problem with a submit body, pydantic-style (as fal's FastAPI apps answer)."""
    errors: list[dict[str, Any]] = []
    for name in endpoint.required:
        if name == "second_audio_url" and body.get("use_only_first_audio") is True:
            continue
        if body.get(name) is None:
            errors.append({"loc": ["body", name], "msg": "Field required", "type": "missing"})
    for name in endpoint.fields:
        value = body.get(name)
        if value is None:
            continue
        if name in _STRING_FIELDS and not isinstance(value, str):
            errors.append(_err(name, "Input should be a valid string", "string_type", value))
        elif name in _ENUM_FIELDS and value not in _ENUM_FIELDS[name]:
            choices = _ENUM_FIELDS[name]
            expected = ", ".join(f"'{c}'" for c in choices[:-1]) + f" or '{choices[-1]}'"
            errors.append(_err(name, f"Input should be {expected}", "enum", value, {"expected": expected}))
        elif name in ("num_frames", "seed") and (isinstance(value, bool) or not isinstance(value, int)):
            errors.append(_err(name, "Input should be a valid integer", "int_type", value))
        elif name == "num_frames" and value < NUM_FRAMES_MIN:
            errors.append(_err(name, f"Input should be greater than or equal to {NUM_FRAMES_MIN}",
                               "greater_than_equal", value, {"ge": NUM_FRAMES_MIN}))
        elif name == "num_frames" and value > NUM_FRAMES_MAX:
            errors.append(_err(name, f"Input should be less than or equal to {NUM_FRAMES_MAX}",
                               "less_than_equal", value, {"le": NUM_FRAMES_MAX}))
        elif name == "use_only_first_audio" and not isinstance(value, bool):
            errors.append(_err(name, "Input should be a valid boolean", "bool_type", value))
    return errors


def _err(name: str, msg: str, kind: str, value: Any, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"loc": ["body", name], "msg": msg, "type": kind, "input": value}
    if ctx:
        error["ctx"] = ctx
    return error
