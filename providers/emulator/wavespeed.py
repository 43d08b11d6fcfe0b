"""WaveSpeed's API as the emulator speaks it: ``/api/v3`` submit, read, cancel, price, webhook.

Sources: *documented* = WaveSpeed's public documentation (https://wavespeed.ai/docs, the model
pages such as https://wavespeed.ai/models/wavespeed-ai/wan-2.2/speech-to-video, and
https://wavespeed.ai/docs/how-to-use-webhooks); *unconfirmed* = our reading where it says nothing.
The protocol as the platform uses it is described in ``docs/providers/wavespeed.md``.

- Auth ``Authorization: Bearer <key>``; a bad key answers 401 (*documented*).
- ``POST /api/v3/<model path>`` submits; ``GET /api/v3/predictions/<id>/result`` and
  ``GET /api/v3/predictions/<id>`` read; ``DELETE /api/v3/predictions/<id>`` cancels or deletes,
  answering ``data.status: "deleted"`` (*documented*).
- Envelope ``{code, message, data}``; ``data`` = ``id, model, outputs, urls.get,
  has_nsfw_contents, status (created|processing|completed|failed), created_at, error,
  timings.inference`` (*documented*). Error answers use the same envelope with ``data: null``
  (*unconfirmed*: the model pages document only success).
- Webhook ``?webhook=<url>`` on the submit; the prediction is POSTed when final, signed
  ``webhook-signature: v3,<hex>`` (*documented*: https://wavespeed.ai/docs/docs-api/verifying_webhook;
  see ``signing.py``).
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .handler import ProviderHandler
from .http_messages import ApiRequest, ApiResponse, json_response
from .input_fetch import TaskInputs
from .rendering import RenderPlan
from .signing import wavespeed_signature
from .tasks import Task, TaskFailure, iso_utc
from .webhooks import WebhookRequest

_SEED_MIN, _SEED_MAX = -1, 2147483647  # the model pages: "-1 ~ 2147483647"
_RESOLUTIONS = ("480p", "720p")  # speech-to-video and hunyuan-avatar


@dataclass(frozen=True)
class WaveSpeedModel:
    path: str
    has_resolution: bool
    max_audio_s: Decimal


# The model pages (https://wavespeed.ai/models/<path>), * = required:
# wan-2.1/multitalk: image*, audio*, prompt, seed; "up to 10 minutes".
# wan-2.2/speech-to-video: image*, audio*, prompt, resolution (480p default, 720p), seed; "up to 120 seconds".
# hunyuan-avatar: audio*, image*, prompt, resolution (480p default, 720p), seed; "up to 120 seconds".
MODELS: dict[str, WaveSpeedModel] = {
    m.path: m
    for m in (
        WaveSpeedModel("wavespeed-ai/wan-2.1/multitalk", has_resolution=False, max_audio_s=Decimal(600)),
        WaveSpeedModel("wavespeed-ai/wan-2.2/speech-to-video", has_resolution=True, max_audio_s=Decimal(120)),
        WaveSpeedModel("wavespeed-ai/hunyuan-avatar", has_resolution=True, max_audio_s=Decimal(120)),
    )
}

# *documented*: POST {base}/api/v3/model/pricing; WaveSpeed's MCP server calls /api/v3/model/price.
_PRICING_PATHS = ("/api/v3/model/pricing", "/api/v3/model/price")
_PREDICTION = re.compile(r"^/api/v3/predictions/([^/]+)(/result)?/?$")

# The model pages: "$0.15 per 5 seconds" at 480p; *documented*: billed per started second with a 5 s minimum,
# 720p at twice the rate, capped at 600 s: max(5, min(ceil(audio_s), 600)) / 5 x base_price.
_BASE_PRICE_PER_5S = Decimal("0.15")


class WaveSpeedHandler(ProviderHandler):
    name = "wavespeed"
    prefixes = ("/api/v3/",)
    # created, processing, completed, failed (*documented*); WaveSpeed's own tools also treat
    # "cancelled" as final, which is what a cancelled task reads here.
    status_words = {"queued": "created", "running": "processing", "succeeded": "completed", "failed": "failed",
                    "canceled": "cancelled"}

    # -- HTTP -----------------------------------------------------------------------------------
    def unauthorized(self, request: ApiRequest) -> ApiResponse:
        return _error(401, "Unauthorized: invalid or missing API key")  # *documented*: a bad key answers 401

    def route(self, request: ApiRequest) -> ApiResponse:
        path = request.path
        if request.method == "POST" and path in _PRICING_PATHS:
            return self._pricing(request)
        match = _PREDICTION.match(path)
        if match:
            task_id, _result = match.groups()
            if request.method == "GET":
                return self._get(task_id)
            if request.method == "DELETE" and not _result:
                return self._delete(task_id)
            return _error(405, "method not allowed")
        if request.method == "POST":
            model = path[len("/api/v3/"):].strip("/")
            if model in MODELS:
                return self._submit(request, MODELS[model])
            return _error(404, f"model not found: {model}")
        return _error(404, "not found")

    def _submit(self, request: ApiRequest, model: WaveSpeedModel) -> ApiResponse:
        body = request.json_object
        if body is None:
            return _error(400, "invalid request body: expected a JSON object")
        problem = _validate(body, model)
        if problem:
            return _error(400, problem)
        params = {
            "image": body["image"],
            "audio": body["audio"],
            "prompt": body.get("prompt", ""),
            "resolution": body.get("resolution", "480p") if model.has_resolution else "480p",
            "seed": body.get("seed", -1),
        }
        # *documented*: the webhook URL goes in the query (one page puts webhook_url in the body:
        # the webhook pages win, see docs/providers/wavespeed.md).
        task = self.store.create_task(provider=self.name, model=model.path, input=body, params=params,
                                      webhook_url=request.query.get("webhook") or None)
        return json_response(200, _envelope(self._prediction(task)))

    def _get(self, task_id: str) -> ApiResponse:
        task = self.find(task_id)
        if task is None:
            return _error(404, "prediction not found")  # *unconfirmed* code and message
        return json_response(200, _envelope(self._prediction(task)))

    def _delete(self, task_id: str) -> ApiResponse:
        """*documented*: "cancel or delete", answering ``data.status: "deleted"``. A queued task is
        removed at once (it then reads ``cancelled``); a processing one is asked to stop and may
        still run for a while; a finished one is deleted (it then answers 404)."""
        task = self.find(task_id)
        if task is None:
            return _error(404, "prediction not found")
        if self.store.cancel(task) == "final":
            self.store.delete(task)
        return json_response(200, _envelope({"id": task.id, "status": "deleted"}))

    def _pricing(self, request: ApiRequest) -> ApiResponse:
        """*documented* price endpoint: ``{model_id, inputs}`` -> ``data.unit_price``. The audio is not
        downloaded here: ``inputs.duration`` (seconds) is used when given, else the 5 s minimum
        (*unconfirmed*: the real endpoint's way of learning the length is not documented)."""
        body = request.json if isinstance(request.json, dict) else {}
        model_id = str(body.get("model_id", ""))
        if model_id not in MODELS:
            return _error(400, f"invalid parameter model_id: unknown model {model_id!r}")
        inputs = body.get("inputs") if isinstance(body.get("inputs"), dict) else {}
        seconds = inputs.get("duration", 5)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            seconds = 5
        units = Decimal(max(5, min(math.ceil(seconds), 600))) / 5
        price = units * _BASE_PRICE_PER_5S * (2 if inputs.get("resolution") == "720p" else 1)
        return json_response(200, _envelope({"model_id": model_id, "unit_price": float(price), "currency": "USD"}))

    # -- faults in WaveSpeed's shape (*unconfirmed*: the envelope with data null) -----------------
    def rate_limit_answer(self, request: ApiRequest) -> ApiResponse:
        return _error(429, "Too many requests: rate limit exceeded, please retry later")

    def server_error(self, request: ApiRequest, status: int | None) -> ApiResponse:
        status = status or 500
        return _error(status, "Internal server error" if status == 500 else "Service temporarily unavailable")

    def submit_example(self) -> dict[str, Any]:
        return _envelope({"id": uuid.uuid4().hex, "status": "created"})

    # -- the task -----------------------------------------------------------------------------------
    def plan(self, task: Task, inputs: TaskInputs) -> RenderPlan:
        image, _ = inputs.media(task.params["image"], name="image", field_name="image", kinds=("image",))
        audio, info = inputs.media(task.params["audio"], name="audio", field_name="audio", kinds=("audio", "video"))
        model = MODELS[task.model]
        if info.duration_s is not None and info.duration_s > model.max_audio_s:
            raise TaskFailure("limit", f"audio is {info.duration_s} s long; {task.model} takes at most "
                                       f"{model.max_audio_s} s", field="audio")
        task.extra["audio_duration_s"] = info.duration_s
        # The video is as long as the audio (the models are audio-driven); resolution as requested.
        return RenderPlan(image_path=image, audio_path=audio, duration_s=None, resolution=task.params["resolution"])

    def _prediction(self, task: Task, *, with_input: bool = False) -> dict[str, Any]:
        outputs = [task.output.url] if task.state == "succeeded" and task.output else []
        error = ""
        if task.state == "failed" and task.failure:
            error = _failure_message(task.failure)
        elif task.state == "canceled":
            error = "task cancelled"
        data: dict[str, Any] = {
            "id": task.id,
            "model": task.model,
        }
        if with_input:
            data["input"] = task.input
        data.update({
            "outputs": outputs,
            "urls": {"get": f"{self.store.base_url}/api/v3/predictions/{task.id}/result"},
            "has_nsfw_contents": [False for _ in outputs],
            "status": self.status_word(task),
            "created_at": iso_utc(task.created_at),
            "error": error,
            "timings": {"inference": task.inference_ms() if task.is_final else 0},
        })
        return data

    def webhook(self, task: Task) -> WebhookRequest | None:
        """*documented*: the prediction (with its ``input``) POSTed on completion, signed."""
        webhook_id = f"msg_{uuid.uuid4().hex}"
        secret = self.config.webhook_secret

        def signature_headers(timestamp: str, body: bytes) -> dict[str, str]:
            return {
                "webhook-id": webhook_id,
                "webhook-timestamp": timestamp,
                "webhook-signature": wavespeed_signature(secret=secret, webhook_id=webhook_id,
                                                         timestamp=timestamp, body=body),
            }

        return self.signed_webhook(task, self._prediction(task, with_input=True), delivery_id=webhook_id,
                                   signature_headers=signature_headers)


def _validate(body: dict[str, Any], model: WaveSpeedModel) -> str | None:
    """The first problem with a submit body, as WaveSpeed's 400 message (fields per the model pages)."""
    for name in ("image", "audio"):  # both required (the model pages)
        value = body.get(name)
        if value is None or value == "":
            return f"invalid parameter {name}: {name} is required"
        if not isinstance(value, str):
            return f"invalid parameter {name}: must be a string (a URL)"
    if "prompt" in body and body["prompt"] is not None and not isinstance(body["prompt"], str):
        return "invalid parameter prompt: must be a string"
    if "seed" in body:
        seed = body["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or not _SEED_MIN <= seed <= _SEED_MAX:
            return f"invalid parameter seed: must be an integer between {_SEED_MIN} and {_SEED_MAX}"
    if model.has_resolution and "resolution" in body and body["resolution"] not in _RESOLUTIONS:
        return f"invalid parameter resolution: must be one of {', '.join(_RESOLUTIONS)}"
    return None


def _failure_message(failure: TaskFailure) -> str:
    if failure.kind == "fault":
        return "Inference failed: an internal error occurred while generating the video (emulated)"
    return failure.message


def _envelope(data: Any) -> dict[str, Any]:
    return {"code": 200, "message": "success", "data": data}


def _error(status: int, message: str) -> ApiResponse:
    return json_response(status, {"code": status, "message": message, "data": None})
