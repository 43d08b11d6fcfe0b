"""WaveSpeed's API as the emulator speaks it.

Sources, per /work/shared/PROVIDERS.md: *seed* = seeds 000 (wan-2.1/multitalk), 001
(wan-2.2/speech-to-video), 002 (hunyuan-avatar); *public* = WaveSpeed's public docs and tools;
*unconfirmed* = our reading where neither says.

- Auth ``Authorization: Bearer <key>`` (seed); a bad key answers 401 (*public*).
- ``POST /api/v3/<model path>`` submits (seed); ``GET /api/v3/predictions/<id>/result`` (seed)
  and ``GET /api/v3/predictions/<id>`` (*public*) read; ``DELETE /api/v3/predictions/<id>``
  cancels or deletes, answering ``data.status: "deleted"`` (*public*).
- Envelope ``{code, message, data}``; ``data`` = ``id, model, outputs, urls.get,
  has_nsfw_contents, status (created|processing|completed|failed), created_at, error,
  timings.inference`` (seed). Error answers use the same envelope with ``data: null``
  (*unconfirmed*: the seeds document only success).
- Webhook ``?webhook=<url>`` on the submit; the prediction is POSTed when final, signed
  ``webhook-signature: v3,<hex>`` (*public*, see ``signing.py``).
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .signing import wavespeed_signature
from .state import (
    ApiRequest,
    ApiResponse,
    Fetcher,
    ProviderHandler,
    RenderPlan,
    Task,
    TaskFailure,
    WebhookRequest,
    iso_utc,
    json_response,
    probe_input,
    truncated_json,
)

_SEED_MIN, _SEED_MAX = -1, 2147483647  # seed: "-1 ~ 2147483647"
_RESOLUTIONS = ("480p", "720p")  # seeds 001, 002


@dataclass(frozen=True)
class WaveSpeedModel:
    path: str
    has_resolution: bool
    max_audio_s: Decimal


# seed 000: image*, audio*, prompt, seed; "up to 10 minutes".
# seed 001: image*, audio*, prompt, resolution (480p default, 720p), seed; "up to 120 seconds".
# seed 002: audio*, image*, prompt, resolution (480p default, 720p), seed; "up to 120 seconds".
MODELS: dict[str, WaveSpeedModel] = {
    m.path: m
    for m in (
        WaveSpeedModel("wavespeed-ai/wan-2.1/multitalk", has_resolution=False, max_audio_s=Decimal(600)),
        WaveSpeedModel("wavespeed-ai/wan-2.2/speech-to-video", has_resolution=True, max_audio_s=Decimal(120)),
        WaveSpeedModel("wavespeed-ai/hunyuan-avatar", has_resolution=True, max_audio_s=Decimal(120)),
    )
}

# *public*: POST {base}/api/v3/model/pricing; WaveSpeed's MCP server calls /api/v3/model/price.
_PRICING_PATHS = ("/api/v3/model/pricing", "/api/v3/model/price")
_PREDICTION = re.compile(r"^/api/v3/predictions/([^/]+)(/result)?/?$")

# Seeds: "$0.15 per 5 seconds" at 480p; *public*: billed per started second with a 5 s minimum,
# 720p at twice the rate, capped at 600 s: max(5, min(ceil(audio_s), 600)) / 5 x base_price.
_BASE_PRICE_PER_5S = Decimal("0.15")


class WaveSpeedHandler(ProviderHandler):
    name = "wavespeed"
    prefixes = ("/api/v3/",)

    # -- HTTP -----------------------------------------------------------------------------------
    def handle(self, request: ApiRequest) -> ApiResponse:
        if not self._authorized(request):
            return _error(401, "Unauthorized: invalid or missing API key")  # *public*: a bad key answers 401
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

    def _authorized(self, request: ApiRequest) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and key.strip() == self.config.api_key

    def _submit(self, request: ApiRequest, model: WaveSpeedModel) -> ApiResponse:
        if not request.has_json or not isinstance(request.json, dict):
            return _error(400, "invalid request body: expected a JSON object")
        body: dict[str, Any] = request.json
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
        # *public*: the webhook URL goes in the query (one page puts webhook_url in the body: the
        # webhook pages win, see PROVIDERS.md).
        task = self.store.create_task(provider=self.name, model=model.path, input=body, params=params,
                                      webhook_url=request.query.get("webhook") or None)
        return json_response(200, _envelope(self._prediction(task)))

    def _get(self, task_id: str) -> ApiResponse:
        task = self.store.get(self.name, task_id)
        if task is None:
            return _error(404, "prediction not found")  # *unconfirmed* code and message
        return json_response(200, _envelope(self._prediction(task)))

    def _delete(self, task_id: str) -> ApiResponse:
        """*public*: "cancel or delete", answering ``data.status: "deleted"``. A queued task is
        removed at once (it then reads ``cancelled``); a processing one is asked to stop and may
        still run for a while; a finished one is deleted (it then answers 404)."""
        task = self.store.get(self.name, task_id)
        if task is None:
            return _error(404, "prediction not found")
        if self.store.cancel(task) == "final":
            self.store.delete(task)
        return json_response(200, _envelope({"id": task.id, "status": "deleted"}))

    def _pricing(self, request: ApiRequest) -> ApiResponse:
        """*public* price endpoint: ``{model_id, inputs}`` -> ``data.unit_price``. The audio is not
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
    def rate_limited(self, request: ApiRequest, retry_after_s: float) -> ApiResponse:
        response = _error(429, "Too many requests: rate limit exceeded, please retry later")
        response.headers["Retry-After"] = _retry_after(retry_after_s)
        return response

    def server_error(self, request: ApiRequest, status: int | None) -> ApiResponse:
        status = status or 500
        return _error(status, "Internal server error" if status == 500 else "Service temporarily unavailable")

    def malformed(self, request: ApiRequest) -> ApiResponse:
        fake = {"code": 200, "message": "success", "data": {"id": uuid.uuid4().hex, "status": "created"}}
        return ApiResponse(200, truncated_json(fake))

    # -- the task -----------------------------------------------------------------------------------
    def plan(self, task: Task, fetcher: Fetcher, inputs_dir: Path) -> RenderPlan:
        image = fetcher.fetch(task.params["image"], dest_dir=inputs_dir, name="image", field_name="image")
        audio = fetcher.fetch(task.params["audio"], dest_dir=inputs_dir, name="audio", field_name="audio")
        probe_input(image, field_name="image", kinds=("image",), url=task.params["image"])
        info = probe_input(audio, field_name="audio", kinds=("audio", "video"), url=task.params["audio"])
        model = MODELS[task.model]
        if info.duration_s is not None and info.duration_s > model.max_audio_s:
            raise TaskFailure("limit", f"audio is {info.duration_s} s long; {task.model} takes at most "
                                       f"{model.max_audio_s} s", field="audio")
        task.extra["audio_duration_s"] = info.duration_s
        # The video is as long as the audio (seeds: audio-driven); resolution as requested.
        return RenderPlan(image_path=image, audio_path=audio, duration_s=None, resolution=task.params["resolution"])

    def status_word(self, task: Task) -> str:
        # seed: created, processing, completed, failed; *public*: WaveSpeed's tools also treat
        # "cancelled" as final, which is what a cancelled task reads here.
        return {"queued": "created", "running": "processing", "succeeded": "completed", "failed": "failed",
                "canceled": "cancelled"}[task.state]

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
        """*public*: the prediction (with its ``input``) POSTed on completion, signed."""
        if not task.webhook_url:
            return None
        body = json.dumps(self._prediction(task, with_input=True)).encode("utf-8")
        webhook_id = f"msg_{uuid.uuid4().hex}"
        secret = self.config.webhook_secret

        def headers() -> dict[str, str]:
            timestamp = str(int(time.time()))
            return {
                "Content-Type": "application/json",
                "webhook-id": webhook_id,
                "webhook-timestamp": timestamp,
                "webhook-signature": wavespeed_signature(secret=secret, webhook_id=webhook_id,
                                                         timestamp=timestamp, body=body),
            }

        return WebhookRequest(provider=self.name, task_id=task.id, url=task.webhook_url, body=body,
                              headers=headers, delivery_id=webhook_id)


def _validate(body: dict[str, Any], model: WaveSpeedModel) -> str | None:
    """The first problem with a submit body, as WaveSpeed's 400 message (fields per the seeds)."""
    for name in ("image", "audio"):  # both required (seeds)
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


def _retry_after(seconds: float) -> str:
    return str(max(0, math.ceil(seconds)))
