"""Alibaba DashScope's video-synthesis API for ``wan2.7-r2v``, as the emulator speaks it.

Sources: *documented* = Alibaba Cloud Model Studio's public documentation (the Wan
reference-to-video API reference,
https://www.alibabacloud.com/help/en/model-studio/wan-video-to-video-api-reference, its Chinese
edition, and the error codes at https://www.alibabacloud.com/help/en/model-studio/error-code)
and the dashscope SDK; *unconfirmed* = third-party or ours. The protocol as the platform uses it
is described in ``docs/providers/dashscope.md``.

- ``POST /api/v1/services/aigc/video-generation/video-synthesis`` with ``Authorization: Bearer``
  and ``X-DashScope-Async: enable`` (*documented*: without it "current user api does not
  support synchronous calls", 403 ``AccessDenied``). Answers ``{request_id, output: {task_id,
  task_status: "PENDING"}}`` (*documented*).
- ``GET /api/v1/tasks/<task_id>``: ``output.task_status`` PENDING -> RUNNING -> SUCCEEDED |
  FAILED (*documented*), ``submit_time``/``scheduled_time``/``end_time`` as ``2026-04-17 17:12:49.076``,
  ``video_url``, ``orig_prompt``, ``usage`` {duration, input_video_duration,
  output_video_duration, SR, ratio, video_count} (*documented*); FAILED carries ``output.code``
  and ``output.message`` (*documented*); an unknown or expired id reads ``UNKNOWN`` (*documented*,
  the SDK's TaskStatus).
- ``POST /api/v1/tasks/<task_id>/cancel`` for a PENDING task (*documented*, dashscope SDK).
- Errors ``{request_id, code, message}``: 400 InvalidParameter, 401 InvalidApiKey, 403
  AccessDenied, 429 Throttling.RateQuota, 500 InternalError (*documented*).
- Parameters (*unconfirmed*): resolution 720P | 1080P (default 1080P), ratio 16:9 | 9:16 | 1:1 |
  4:3 | 3:4 (default 16:9), duration 2..15 s (2..10 with a reference video; default 5),
  prompt_extend / watermark booleans, seed 0..2147483647, 1..5 media items.

The emulator renders 720P and 1080P alike at 720p to stay cheap; ``usage.SR`` still reports what
was asked for (it is what DashScope bills).
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from .handler import ProviderHandler
from .http_messages import ApiRequest, ApiResponse, json_response
from .input_fetch import TaskInputs
from .rendering import RenderPlan
from .tasks import Task, TaskFailure

MODEL = "wan2.7-r2v"
SYNTHESIS_PATH = "/api/v1/services/aigc/video-generation/video-synthesis"
MEDIA_TYPES = ("reference_image", "reference_video")
RESOLUTIONS = ("720P", "1080P")
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
DURATION_MIN, DURATION_MAX, DURATION_MAX_WITH_VIDEO = 2, 15, 10
DEFAULTS: dict[str, Any] = {"resolution": "1080P", "ratio": "16:9", "duration": 5, "prompt_extend": True,
                            "watermark": False}
MAX_MEDIA = 5
SEED_MAX = 2147483647

_TASK = re.compile(r"^/api/v1/tasks/([^/]+)(/cancel)?/?$")


class DashScopeHandler(ProviderHandler):
    name = "dashscope"
    prefixes = ("/api/v1/",)
    status_words = {"queued": "PENDING", "running": "RUNNING", "succeeded": "SUCCEEDED", "failed": "FAILED",
                    "canceled": "CANCELED"}

    # -- HTTP -----------------------------------------------------------------------------------
    def unauthorized(self, request: ApiRequest) -> ApiResponse:
        return _error(401, "InvalidApiKey", "Invalid API-key provided.")

    def route(self, request: ApiRequest) -> ApiResponse:
        if request.path.rstrip("/") == SYNTHESIS_PATH and request.method == "POST":
            return self._create(request)
        match = _TASK.match(request.path)
        if match:
            task_id, cancel = match.groups()
            if cancel and request.method == "POST":
                return self._cancel(task_id)
            if not cancel and request.method == "GET":
                return self._query(task_id)
        # The API reference quotes "url error, please check url!" for a path the service does not know.
        return _error(404, "InvalidURL", "url error, please check url!")

    def _create(self, request: ApiRequest) -> ApiResponse:
        if request.headers.get("x-dashscope-async", "").strip().lower() != "enable":
            return _error(403, "AccessDenied", "current user api does not support synchronous calls")
        body = request.json_object
        if body is None:
            return _error(400, "InvalidParameter", "The request body is not valid JSON.")
        problem = _validate(body)
        if problem:
            return _error(400, "InvalidParameter", problem)
        parameters = dict(DEFAULTS)
        parameters.update({k: v for k, v in (body.get("parameters") or {}).items() if v is not None})
        params = {"prompt": body["input"]["prompt"], "media": body["input"]["media"], "parameters": parameters}
        task = self.store.create_task(provider=self.name, model=MODEL, input=body, params=params,
                                      webhook_url=None, task_id=str(uuid.uuid4()))
        return json_response(200, {"request_id": _request_id(),
                                   "output": {"task_id": task.id, "task_status": "PENDING"}})

    def _query(self, task_id: str) -> ApiResponse:
        task = self.find(task_id)
        if task is None:
            return json_response(200, {"request_id": _request_id(),
                                       "output": {"task_id": task_id, "task_status": "UNKNOWN"}})
        output: dict[str, Any] = {"task_id": task.id, "task_status": self.status_word(task),
                                  "submit_time": dashscope_time(task.created_at)}
        if task.started_at is not None:
            output["scheduled_time"] = dashscope_time(task.started_at)
        if task.is_final:
            output["end_time"] = dashscope_time(task.finished_at)
        answer: dict[str, Any] = {"request_id": _request_id(), "output": output}
        if task.state == "succeeded" and task.output is not None:
            output["video_url"] = task.output.url
            output["orig_prompt"] = task.params["prompt"]
            answer["usage"] = self._usage(task)
        elif task.state == "failed":
            output["code"], output["message"] = _failure(task.failure)
        return json_response(200, answer)

    def _cancel(self, task_id: str) -> ApiResponse:
        task = self.find(task_id)
        if task is None:
            return _error(400, "InvalidParameter", f"The task {task_id} does not exist or has expired.")
        if task.state != "queued" or self.store.cancel(task) != "removed":
            return _error(400, "UnsupportedOperation",
                          "Failed to cancel the task, please confirm if the task is in PENDING status.")
        return json_response(200, {"request_id": _request_id()})

    def _usage(self, task: Task) -> dict[str, Any]:
        parameters = task.params["parameters"]
        output_s = int(parameters["duration"])
        input_s = int(task.extra.get("input_video_duration", 0))
        return {
            # *documented*: duration = input_video_duration + output_video_duration (reference video
            # input is billed with the output); input seconds rounded up (*unconfirmed*).
            "duration": input_s + output_s,
            "input_video_duration": input_s,
            "output_video_duration": output_s,
            "SR": int(str(parameters["resolution"]).rstrip("Pp")),
            "ratio": parameters["ratio"],
            "video_count": 1,
        }

    # -- faults in DashScope's shape (*documented*) ---------------------------------------------------
    def rate_limit_answer(self, request: ApiRequest) -> ApiResponse:
        return _error(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.")

    def server_error(self, request: ApiRequest, status: int | None) -> ApiResponse:
        return _error(status or 500, "InternalError",
                      "An internal error has occurred, please try again later or contact service support.")

    def submit_example(self) -> dict[str, Any]:
        return {"request_id": _request_id(), "output": {"task_id": str(uuid.uuid4()), "task_status": "PENDING"}}

    def expired_body(self) -> ApiResponse:
        """OSS answers an expired signed URL 403 with an XML error (*documented*)."""
        body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>AccessDenied</Code>\n'
                b"  <Message>Request has expired.</Message>\n</Error>\n")
        return ApiResponse(403, body, content_type="application/xml")

    # -- the task -----------------------------------------------------------------------------------
    def plan(self, task: Task, inputs: TaskInputs) -> RenderPlan:
        picture: Path | None = None
        first_video: Path | None = None
        voice: Path | None = None
        input_video_s = Decimal(0)
        for i, item in enumerate(task.params["media"]):
            field_name = f"input.media[{i}].url"
            kinds = ("image",) if item["type"] == "reference_image" else ("video",)
            path, info = inputs.media(item["url"], name=f"media{i}", field_name=field_name, kinds=kinds)
            if item["type"] == "reference_image":
                picture = picture or path
            else:
                input_video_s += info.duration_s or 0
                first_video = first_video or path
            if item.get("reference_voice"):
                voice_field = f"input.media[{i}].reference_voice"
                voice_path, _ = inputs.media(item["reference_voice"], name=f"voice{i}", field_name=voice_field,
                                             kinds=("audio",))
                voice = voice or voice_path
        if picture is None and first_video is not None:
            picture = _first_frame(first_video, inputs.dir / "frame0.png")
        assert picture is not None  # validation requires at least one media item
        task.extra["input_video_duration"] = math.ceil(input_video_s)
        # Output length = parameters.duration; 720P and 1080P both render at 720p (cheap).
        return RenderPlan(image_path=picture, audio_path=voice,
                          duration_s=Decimal(int(task.params["parameters"]["duration"])), resolution="720p")


def _validate(body: dict[str, Any]) -> str | None:
    """The first problem with a create body, as DashScope's InvalidParameter message (naming the
    field)."""
    model = body.get("model")
    if not model:
        return "Field required: model"
    if model != MODEL:
        return f"Model not exist: model {model!r} is not served here (expected {MODEL})."
    data = body.get("input")
    if not isinstance(data, dict):
        return "Field required: input"
    prompt = data.get("prompt")
    if prompt is None or prompt == "":
        return "Field required: input.prompt"
    if not isinstance(prompt, str):
        return "input.prompt must be a string"
    media = data.get("media")
    if media is None:
        return "Field required: input.media"
    if not isinstance(media, list) or not 1 <= len(media) <= MAX_MEDIA:
        count = len(media) if isinstance(media, list) else "not a list"
        return f"input.media must hold 1 to {MAX_MEDIA} items (reference images and videos together), got {count}"
    has_video = False
    for i, item in enumerate(media):
        if not isinstance(item, dict):
            return f"input.media[{i}] must be an object"
        if item.get("type") not in MEDIA_TYPES:
            return f"input.media[{i}].type must be one of {', '.join(MEDIA_TYPES)}, got {item.get('type')!r}"
        if not isinstance(item.get("url"), str) or not item["url"]:
            return f"Field required: input.media[{i}].url"
        voice = item.get("reference_voice")
        if voice is not None and (not isinstance(voice, str) or not voice):
            return f"input.media[{i}].reference_voice must be a URL"
        has_video = has_video or item["type"] == "reference_video"
    parameters = body.get("parameters", {})
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        return "parameters must be an object"
    if "resolution" in parameters and parameters["resolution"] not in RESOLUTIONS:
        return f"parameters.resolution must be one of {', '.join(RESOLUTIONS)}, got {parameters['resolution']!r}"
    if "ratio" in parameters and parameters["ratio"] not in RATIOS:
        return f"parameters.ratio must be one of {', '.join(RATIOS)}, got {parameters['ratio']!r}"
    if "duration" in parameters:
        duration = parameters["duration"]
        top = DURATION_MAX_WITH_VIDEO if has_video else DURATION_MAX
        if isinstance(duration, bool) or not isinstance(duration, int) or not DURATION_MIN <= duration <= top:
            with_video = " when a reference video is given" if has_video else ""
            return f"parameters.duration must be an integer from {DURATION_MIN} to {top}{with_video}, got {duration!r}"
    for name in ("prompt_extend", "watermark"):
        if name in parameters and not isinstance(parameters[name], bool):
            return f"parameters.{name} must be a boolean, got {parameters[name]!r}"
    if "seed" in parameters:
        seed = parameters["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
            return f"parameters.seed must be an integer from 0 to {SEED_MAX}, got {seed!r}"
    return None


def _failure(failure: TaskFailure | None) -> tuple[str, str]:
    """(output.code, output.message) of a FAILED task (codes *documented*; messages ours)."""
    if failure is None:
        return "InternalError", "The task failed."
    if failure.kind == "download":
        return "InvalidURL", f"Failed to download the media resource: {failure.message}"
    if failure.kind in ("media", "limit"):
        return "InvalidParameter", failure.message
    if failure.kind == "fault":
        return "InternalError.Algo", "An internal error occurred while generating the video (emulated)."
    return "InternalError", failure.message


def _first_frame(video: Path, dest: Path) -> Path:
    """The first picture of a reference video, used as the still when no reference image is given."""
    import av

    try:
        with av.open(str(video)) as container:
            for frame in container.decode(video=0):
                frame.to_image().save(dest)
                return dest
    except Exception as exc:  # PyAV and Pillow errors
        raise TaskFailure("media", f"reference video cannot be decoded: {exc}") from exc
    raise TaskFailure("media", "reference video has no picture")


def _request_id() -> str:
    return str(uuid.uuid4())


def _error(status: int, code: str, message: str) -> ApiResponse:
    return json_response(status, {"request_id": _request_id(), "code": code, "message": message})


_CST = timezone(timedelta(hours=8))


def dashscope_time(ts: float | None) -> str | None:
    """``2026-04-17 17:12:49.076`` (the API reference's examples). The zone is not printed; we use
    UTC+8, the Beijing region's local time (*unconfirmed*)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, _CST).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
