"""The emulator's engine: configuration, the task store and lifecycle, fault injection, input
downloads, rendering, output files and webhook delivery. Provider-neutral: each provider module
(``wavespeed``, ``fal``, ``dashscope``) subclasses ``ProviderHandler`` and translates between its
wire format and the ``Task`` kept here.

Lifecycle of a task: ``queued`` (at least ``queued_s``, and for as long as the provider's
concurrency cap is reached: tasks over the cap wait on the provider's side, like WaveSpeed's
default tier) -> ``running`` (the inputs are downloaded over HTTP for real and a still-image MP4 is
rendered in a worker pool; the state lasts at least ``running_s``) -> ``succeeded`` | ``failed``
(or ``canceled``). Webhooks are POSTed once a task is succeeded or failed.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import math
import mimetypes
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx

from .signing import FileTokens

logger = logging.getLogger("providers.emulator")

PROVIDERS: tuple[str, ...] = ("wavespeed", "fal", "dashscope")
FAULT_SCOPE_ALL = "all"

TaskState = Literal["queued", "running", "succeeded", "failed", "canceled"]
FINAL_STATES: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})


# --- configuration ----------------------------------------------------------------------------


@dataclass
class EmulatorConfig:
    """Everything the emulator needs; the defaults suit tests (short timings, small caps).

    ``concurrency`` is the number of tasks each provider account runs at once (an int for all
    providers, or a mapping per provider); tasks over it stay queued on the provider's side.
    ``public_url`` is the base put in the URLs the emulator answers (``urls.get``, fal's queue
    URLs, output file URLs); by default the address it is bound to.
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str = "emulator-key"
    webhook_secret: str = "whsec_ZW11bGF0b3Itd2ViaG9vay1zZWNyZXQ="
    fal_user_id: str = "emulator-user"
    fal_signing_seed: bytes | None = None  # None: derived from webhook_secret (stable across restarts)
    queued_s: float = 0.3
    running_s: float = 1.0
    concurrency: int | Mapping[str, int] = 2
    output_ttl_s: float = 3600.0
    work_dir: str | Path | None = None  # None: a temporary directory removed on stop
    public_url: str | None = None
    render_workers: int = 4
    render_fps: int = 25
    download_timeout_s: float = 10.0
    max_download_bytes: int = 200 * 1024 * 1024
    webhook_timeout_s: float = 5.0
    webhook_attempts: int = 3
    webhook_backoff_s: float = 0.5
    default_hang_s: float = 35.0  # the ``timeout`` fault: longer than the platform's 30 s read timeout
    default_retry_after_s: float = 1.0
    max_logged: int = 10_000  # requests and webhook deliveries kept for inspection (oldest dropped)

    def cap_for(self, provider: str) -> int:
        if isinstance(self.concurrency, int):
            return max(1, self.concurrency)
        return max(1, int(self.concurrency.get(provider, 2)))


# --- faults -------------------------------------------------------------------------------------


@dataclass
class FaultSettings:
    """The faults of one scope (a provider, or ``all``). Counters are consumed one per API call
    (``rate_limit``, ``server_error``, ``timeout``, ``malformed_json``) or per submitted task
    (``fail_task``); flags hold until cleared."""

    latency_s: float = 0.0
    rate_limit: int = 0
    retry_after_s: float | None = None
    server_error: int = 0
    server_error_status: int | None = None
    timeout: int = 0
    hang_s: float | None = None
    malformed_json: int = 0
    fail_task: int = 0
    expired_output: bool = False
    duplicate_webhook: bool = False

    def is_default(self) -> bool:
        return self == FaultSettings()


FAULT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(FaultSettings))
_CALL_FAULTS: tuple[str, ...] = ("rate_limit", "server_error", "malformed_json", "timeout")


@dataclass(frozen=True)
class CallFault:
    """A fault consumed by one API call."""

    kind: Literal["rate_limit", "server_error", "malformed_json", "timeout"]
    retry_after_s: float = 1.0
    status: int | None = None
    hang_s: float = 35.0


class Faults:
    """Runtime fault injection, scoped per provider or ``all`` (thread-safe)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._scopes: dict[str, FaultSettings] = {}

    def set(self, provider: str | None = None, **values: Any) -> None:
        """Merge ``values`` into the scope's faults (a value given replaces the previous one).
        ValueError on an unknown provider, fault name or a value of the wrong type."""
        scope = _scope(provider)
        unknown = sorted(set(values) - set(FAULT_NAMES))
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(FAULT_NAMES)}")
        cleaned = {name: _fault_value(name, value) for name, value in values.items()}
        with self._lock:
            current = self._scopes.get(scope, FaultSettings())
            for name, value in cleaned.items():
                setattr(current, name, value)
            self._scopes[scope] = current

    def clear(self, provider: str | None = None) -> None:
        """Clear one scope (``provider``), or every scope when ``provider`` is None."""
        with self._lock:
            if provider is None:
                self._scopes.clear()
            else:
                self._scopes.pop(_scope(provider), None)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {scope: asdict(s) for scope, s in self._scopes.items() if not s.is_default()}

    def _chain(self, provider: str) -> list[FaultSettings]:
        return [s for s in (self._scopes.get(provider), self._scopes.get(FAULT_SCOPE_ALL)) if s is not None]

    def latency(self, provider: str) -> float:
        with self._lock:
            return max([s.latency_s for s in self._chain(provider)] or [0.0])

    def flag(self, provider: str, name: Literal["expired_output", "duplicate_webhook"]) -> bool:
        with self._lock:
            return any(getattr(s, name) for s in self._chain(provider))

    def take_call_fault(self, provider: str) -> CallFault | None:
        """Consume at most one counted fault for this API call: rate_limit, then server_error,
        then malformed_json, then timeout; the provider's scope before ``all``."""
        with self._lock:
            for kind in _CALL_FAULTS:
                for settings in self._chain(provider):
                    if getattr(settings, kind) > 0:
                        setattr(settings, kind, getattr(settings, kind) - 1)
                        return CallFault(
                            kind=kind,  # type: ignore[arg-type]
                            retry_after_s=(
                                settings.retry_after_s
                                if settings.retry_after_s is not None
                                else self._config.default_retry_after_s
                            ),
                            status=settings.server_error_status,
                            hang_s=settings.hang_s if settings.hang_s is not None else self._config.default_hang_s,
                        )
        return None

    def take_fail_task(self, provider: str) -> bool:
        with self._lock:
            for settings in self._chain(provider):
                if settings.fail_task > 0:
                    settings.fail_task -= 1
                    return True
        return False


def _scope(provider: str | None) -> str:
    if provider is None or provider == FAULT_SCOPE_ALL:
        return FAULT_SCOPE_ALL
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)} or {FAULT_SCOPE_ALL}")
    return provider


def _fault_value(name: str, value: Any) -> Any:
    if name in ("expired_output", "duplicate_webhook"):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if name in ("latency_s", "retry_after_s", "hang_s"):
        if value is None and name != "latency_s":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{name} must be a number of seconds >= 0")
        return float(value)
    if name == "server_error_status":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 500 <= value <= 599:
            raise ValueError("server_error_status must be an HTTP status 500..599")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a count >= 0")
    return value


# --- HTTP plumbing shared by the handlers -------------------------------------------------------


@dataclass
class ApiRequest:
    """One request as the provider handlers see it (headers keyed in lower case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    json_error: str | None = None  # set when the body is present but not JSON

    @property
    def has_json(self) -> bool:
        return self.json_error is None and bool(self.body)


@dataclass
class ApiResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay_s: float = 0.0  # latency / hang before the answer is written
    file_path: Path | None = None  # stream this file as the body
    reason: str | None = None


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> ApiResponse:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return ApiResponse(status=status, body=body, headers=dict(headers or {}))


def truncated_json(payload: Any) -> bytes:
    """A JSON answer cut in the middle: what a proxy or a crashed server can produce."""
    text = json.dumps(payload)
    return text[: max(1, len(text) // 2)].encode("utf-8")


# --- tasks --------------------------------------------------------------------------------------


class TaskFailure(Exception):
    """Why a task failed, provider-neutral; each handler renders it in its provider's shape.

    ``kind``: ``download`` (an input URL could not be fetched), ``media`` (the file is not a
    usable image/audio/video), ``limit`` (e.g. audio longer than the model takes), ``fault``
    (injected with ``fail_task``), ``render`` (the renderer failed), ``canceled``.
    """

    def __init__(self, kind: str, message: str, *, field: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field
        self.url = url

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "field": self.field, "url": self.url}


@dataclass(frozen=True)
class RenderPlan:
    """What to render for a task, decided by its provider handler after downloading the inputs."""

    image_path: Path
    audio_path: Path | None
    duration_s: Decimal | None  # None: the audio's length
    resolution: str = "480p"


@dataclass
class OutputFile:
    path: Path
    size: int
    url: str
    expires_at: float
    duration_s: Decimal
    width: int
    height: int
    frames: int
    file_name: str
    content_type: str = "video/mp4"


@dataclass(eq=False)
class Task:
    id: str
    provider: str
    model: str
    input: dict[str, Any]
    params: dict[str, Any]
    webhook_url: str | None
    seq: int
    created_at: float
    created_mono: float
    state: TaskState = "queued"
    started_at: float | None = None
    started_mono: float | None = None
    finished_at: float | None = None
    cancel_requested: bool = False
    force_fail: bool = False
    deleted: bool = False
    failure: TaskFailure | None = None
    output: OutputFile | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def inference_ms(self) -> int:
        if self.started_at is None or self.finished_at is None:
            return 0
        return int((self.finished_at - self.started_at) * 1000)


# --- downloads ----------------------------------------------------------------------------------


@cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process: building one per httpx client costs ~50 ms each start."""
    return ssl.create_default_context()


class Fetcher:
    """Downloads a task's input URLs for real (httpx, with a timeout and a size cap), so the
    platform's signed, expiring asset URLs are exercised; ``data:`` URIs are decoded."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._max = config.max_download_bytes
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.download_timeout_s),
            follow_redirects=True,
            verify=_ssl_context(),
            headers={"User-Agent": "parley-provider-emulator/1"},
        )

    def close(self) -> None:
        self._http.close()

    def fetch(self, url: Any, *, dest_dir: Path, name: str, field_name: str) -> Path:
        """Download ``url`` into ``dest_dir``; TaskFailure(kind="download") when it cannot."""
        if not isinstance(url, str) or not url:
            raise TaskFailure("download", f"{field_name} is not a URL", field=field_name, url=str(url))
        dest_dir.mkdir(parents=True, exist_ok=True)
        if url.startswith("data:"):
            return self._data_uri(url, dest_dir=dest_dir, name=name, field_name=field_name)
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise TaskFailure("download", f"{field_name}: unsupported URL scheme {scheme or '(none)'!r}",
                              field=field_name, url=url)
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise TaskFailure(
                        "download",
                        f"failed to download {field_name} from {_short(url)}: HTTP {response.status_code}",
                        field=field_name, url=url,
                    )
                suffix = _suffix(response.headers.get("content-type"), urllib.parse.urlsplit(url).path)
                path = dest_dir / f"{name}{suffix}"
                written = 0
                with open(path, "wb") as out:
                    for chunk in response.iter_bytes():
                        written += len(chunk)
                        if written > self._max:
                            raise TaskFailure("download", f"{field_name} is larger than {self._max} bytes",
                                              field=field_name, url=url)
                        out.write(chunk)
        except httpx.HTTPError as exc:
            reason = str(exc) or exc.__class__.__name__
            raise TaskFailure("download", f"failed to download {field_name} from {_short(url)}: {reason}",
                              field=field_name, url=url) from exc
        return path

    def _data_uri(self, url: str, *, dest_dir: Path, name: str, field_name: str) -> Path:
        header, sep, data = url[5:].partition(",")
        if not sep:
            raise TaskFailure("download", f"{field_name}: malformed data URI", field=field_name, url=url[:64])
        media_type = header.split(";")[0] or "application/octet-stream"
        try:
            raw = base64.b64decode(data, validate=False) if header.endswith(";base64") else (
                urllib.parse.unquote_to_bytes(data)
            )
        except ValueError as exc:
            raise TaskFailure("download", f"{field_name}: malformed base64 in data URI", field=field_name,
                              url=url[:64]) from exc
        if len(raw) > self._max:
            raise TaskFailure("download", f"{field_name} is larger than {self._max} bytes", field=field_name)
        path = dest_dir / f"{name}{_suffix(media_type, '')}"
        path.write_bytes(raw)
        return path


def _short(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _suffix(content_type: str | None, url_path: str) -> str:
    ext = Path(url_path).suffix.lower()
    if ext and len(ext) <= 6:
        return ext
    if content_type:
        guessed = mimetypes.guess_extension(content_type.split(";")[0].strip())
        if guessed:
            return guessed
    return ".bin"


def probe_input(path: Path, *, field_name: str, kinds: tuple[str, ...], url: str | None = None) -> Any:
    """Sniff and probe a downloaded input; TaskFailure(kind="media") when it is not one of ``kinds``."""
    from providers.media import MediaError, sniff_and_probe

    try:
        info = sniff_and_probe(path)
    except MediaError as exc:
        raise TaskFailure("media", f"{field_name}: {exc}", field=field_name, url=url) from exc
    if info.kind not in kinds:
        raise TaskFailure("media", f"{field_name}: expected {' or '.join(kinds)}, got {info.kind}",
                          field=field_name, url=url)
    return info


# --- webhooks -----------------------------------------------------------------------------------


@dataclass
class WebhookRequest:
    provider: str
    task_id: str
    url: str
    body: bytes
    headers: Callable[[], dict[str, str]]  # called per attempt: timestamps are fresh each time
    delivery_id: str = ""


class WebhookSender:
    """POSTs webhooks in the background with a short timeout and a few retries; keeps a log."""

    def __init__(self, config: EmulatorConfig, stop: threading.Event) -> None:
        self._config = config
        self._stop = stop
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="emulator-webhook")
        self._http = httpx.Client(timeout=httpx.Timeout(config.webhook_timeout_s), follow_redirects=False,
                                  verify=_ssl_context())
        self._lock = threading.Lock()
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=max(1, config.max_logged))

    def send(self, request: WebhookRequest, *, copies: int = 1) -> None:
        self._pool.submit(self._deliver_all, request, copies)

    def _deliver_all(self, request: WebhookRequest, copies: int) -> None:
        for copy in range(1, copies + 1):
            self._deliver(request, copy)

    def _deliver(self, request: WebhookRequest, copy: int) -> None:
        record: dict[str, Any] = {
            "provider": request.provider, "task_id": request.task_id, "url": request.url,
            "delivery_id": request.delivery_id, "copy": copy, "attempts": [], "delivered": False,
            "headers": {}, "body": request.body.decode("utf-8", "replace"),
        }
        with self._lock:
            self.deliveries.append(record)
        for attempt in range(max(1, self._config.webhook_attempts)):
            if self._stop.is_set():
                return
            headers = request.headers()
            record["headers"] = headers
            try:
                response = self._http.post(request.url, content=request.body, headers=headers)
            except (httpx.HTTPError, RuntimeError) as exc:
                record["attempts"].append({"at": time.time(), "error": str(exc) or exc.__class__.__name__})
            else:
                record["attempts"].append({"at": time.time(), "status": response.status_code})
                if 200 <= response.status_code < 300:
                    record["delivered"] = True
                    return
            self._stop.wait(self._config.webhook_backoff_s * (2**attempt))

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d, attempts=list(d["attempts"])) for d in self.deliveries]

    def clear(self) -> None:
        with self._lock:
            self.deliveries.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()


# --- provider handlers --------------------------------------------------------------------------


class ProviderHandler:
    """Base of the per-provider handlers: HTTP in the provider's wire format on one side, the
    provider-neutral ``Task`` on the other."""

    name: ClassVar[str] = ""
    prefixes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.config = store.config

    def owns(self, path: str) -> bool:
        return path.startswith(self.prefixes)

    def handle(self, request: ApiRequest) -> ApiResponse:
        raise NotImplementedError

    def rate_limited(self, request: ApiRequest, retry_after_s: float) -> ApiResponse:
        raise NotImplementedError

    def server_error(self, request: ApiRequest, status: int | None) -> ApiResponse:
        raise NotImplementedError

    def malformed(self, request: ApiRequest) -> ApiResponse:
        raise NotImplementedError

    def plan(self, task: Task, fetcher: Fetcher, inputs_dir: Path) -> RenderPlan:
        """Download and check the task's inputs; say what to render. Raises TaskFailure."""
        raise NotImplementedError

    def status_word(self, task: Task) -> str:
        raise NotImplementedError

    def webhook(self, task: Task) -> WebhookRequest | None:
        return None

    def expired_body(self) -> ApiResponse:
        """The answer of the provider's file host to an expired URL (a plain 403 by default)."""
        return ApiResponse(403, b"Forbidden: the URL has expired\n", content_type="text/plain; charset=utf-8")


# --- the store ----------------------------------------------------------------------------------


class TaskStore:
    """Tasks, their lifecycle (a scheduler thread plus a render pool), the request log, faults,
    output files and webhooks. All mutable state is guarded by ``lock``."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self._wake = threading.Condition(self.lock)
        self.stop_event = threading.Event()
        self.tasks: dict[str, Task] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=max(1, config.max_logged))
        self.faults = Faults(config)
        self.handlers: dict[str, ProviderHandler] = {}
        self.base_url = ""
        self.tokens = FileTokens(secrets.token_bytes(32))
        self._seq = itertools.count(1)
        self._generation = 0
        if config.work_dir is None:
            self.work_dir = Path(tempfile.mkdtemp(prefix="parley-emulator-"))
            self._owns_work_dir = True
        else:
            self.work_dir = Path(config.work_dir)
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self._owns_work_dir = False
        self.fetcher = Fetcher(config)
        self.webhooks = WebhookSender(config, self.stop_event)
        self._pool = ThreadPoolExecutor(max_workers=max(1, config.render_workers),
                                        thread_name_prefix="emulator-render")
        self._scheduler = threading.Thread(target=self._schedule_loop, name="emulator-scheduler", daemon=True)

    # -- life of the store ------------------------------------------------------------------------
    def start(self) -> None:
        self._scheduler.start()

    def close(self) -> None:
        self.stop_event.set()
        with self._wake:
            self._wake.notify_all()
        self._scheduler.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.webhooks.close()
        self.fetcher.close()
        if self._owns_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def reset(self) -> None:
        """Forget every task, logged request, fault and webhook; work in flight is discarded."""
        with self._wake:
            self._generation += 1
            self.tasks.clear()
            self.requests.clear()
            self.faults.clear()
            self.webhooks.clear()
            self._wake.notify_all()

    # -- tasks -----------------------------------------------------------------------------------
    def create_task(
        self,
        *,
        provider: str,
        model: str,
        input: dict[str, Any],
        params: dict[str, Any],
        webhook_url: str | None,
        task_id: str | None = None,
    ) -> Task:
        now = time.time()
        task = Task(
            id=task_id or uuid.uuid4().hex,
            provider=provider,
            model=model,
            input=input,
            params=params,
            webhook_url=webhook_url,
            seq=next(self._seq),
            created_at=now,
            created_mono=time.monotonic(),
            force_fail=self.faults.take_fail_task(provider),
        )
        with self._wake:
            self.tasks[task.id] = task
            self._wake.notify_all()
        return task

    def get(self, provider: str, task_id: str) -> Task | None:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None or task.provider != provider or task.deleted:
                return None
            return task

    def queue_position(self, task: Task) -> int:
        """0-based position among the provider's queued tasks (fal's ``queue_position``)."""
        with self.lock:
            return sum(
                1 for t in self.tasks.values()
                if t.provider == task.provider and t.state == "queued" and t.seq < task.seq
            )

    def cancel(self, task: Task) -> Literal["removed", "requested", "final"]:
        """Cancel: a queued task is removed at once; a running one is asked to stop (it ends
        ``canceled`` when its running time is over, its render discarded); a final one is left."""
        with self._wake:
            if task.state == "queued":
                task.state = "canceled"
                task.finished_at = time.time()
                task.failure = TaskFailure("canceled", "canceled while queued")
                self._wake.notify_all()
                return "removed"
            if task.state == "running":
                task.cancel_requested = True
                return "requested"
            return "final"

    def delete(self, task: Task) -> None:
        with self.lock:
            task.deleted = True

    def add_log(self, task: Task, message: str, level: str = "INFO") -> None:
        with self.lock:
            task.logs.append({"timestamp": iso_utc(time.time()), "level": level, "source": "user",
                              "message": message})

    # -- the request log ---------------------------------------------------------------------------
    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)

    def requests_snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self.requests]

    # -- outputs -----------------------------------------------------------------------------------
    def file_for_token(self, task_id: str) -> tuple[Task | None, OutputFile | None]:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None or task.deleted or task.output is None:
                return task, None
            return task, task.output

    # -- snapshots for tests and /_emulator/tasks ---------------------------------------------------
    def task_snapshot(self, task: Task) -> dict[str, Any]:
        with self.lock:
            handler = self.handlers.get(task.provider)
            out = task.output
            return {
                "id": task.id,
                "provider": task.provider,
                "model": task.model,
                "state": task.state,
                "provider_status": handler.status_word(task) if handler else task.state,
                "input": task.input,
                "params": _jsonable(task.params),
                "webhook_url": task.webhook_url,
                "created_at": task.created_at,
                "started_at": task.started_at,
                "finished_at": task.finished_at,
                "cancel_requested": task.cancel_requested,
                "force_fail": task.force_fail,
                "deleted": task.deleted,
                "error": task.failure.as_dict() if task.failure else None,
                "output": None if out is None else {
                    "url": out.url, "size": out.size, "expires_at": out.expires_at,
                    "duration_s": str(out.duration_s), "width": out.width, "height": out.height,
                    "frames": out.frames, "file_name": out.file_name,
                },
                "extra": _jsonable(task.extra),
            }

    def tasks_snapshot(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {t.id: self.task_snapshot(t) for t in sorted(self.tasks.values(), key=lambda t: t.seq)}

    # -- the lifecycle -------------------------------------------------------------------------------
    def _schedule_loop(self) -> None:
        while not self.stop_event.is_set():
            with self._wake:
                wait = self._start_due_tasks()
                self._wake.wait(timeout=wait)

    def _start_due_tasks(self) -> float:
        """Move queued tasks to running where their queue time is over and a slot is free.
        Returns how long the scheduler may sleep."""
        now = time.monotonic()
        wait = 0.5
        queued = sorted((t for t in self.tasks.values() if t.state == "queued"), key=lambda t: t.seq)
        running: dict[str, int] = {}
        for t in self.tasks.values():
            if t.state == "running":
                running[t.provider] = running.get(t.provider, 0) + 1
        for task in queued:
            due = task.created_mono + self.config.queued_s
            if due > now:
                wait = min(wait, due - now)
                continue
            if running.get(task.provider, 0) >= self.config.cap_for(task.provider):
                continue  # over the account's cap: stays queued until a slot frees (notify on finish)
            running[task.provider] = running.get(task.provider, 0) + 1
            task.state = "running"
            task.started_at = time.time()
            task.started_mono = now
            self.add_log(task, "Request picked up by a runner")
            try:
                self._pool.submit(self._run, task, self._generation)
            except RuntimeError:  # pool shut down: the emulator is stopping
                return wait
        return max(0.005, wait)

    def _run(self, task: Task, generation: int) -> None:
        handler = self.handlers[task.provider]
        result: Any = None
        failure: TaskFailure | None = None
        try:
            inputs_dir = self.work_dir / "inputs" / task.id
            self.add_log(task, "Downloading inputs")
            plan = handler.plan(task, self.fetcher, inputs_dir)
            if task.force_fail:
                raise TaskFailure("fault", "emulated failure (fail_task)")
            self.add_log(task, "Generating video")
            result = self._render(task, plan)
        except TaskFailure as exc:
            failure = exc
        except Exception as exc:  # the renderer's MediaError, PyAV errors...
            logger.warning("emulator: rendering task %s failed: %s", task.id, exc)
            failure = TaskFailure("render", f"rendering failed: {exc}")
        finally:
            shutil.rmtree(self.work_dir / "inputs" / task.id, ignore_errors=True)
        if task.started_mono is not None:
            self.stop_event.wait(max(0.0, task.started_mono + self.config.running_s - time.monotonic()))
        with self._wake:
            if generation != self._generation or task.state != "running":
                return
            task.finished_at = time.time()
            if task.cancel_requested:
                task.state = "canceled"
                task.failure = TaskFailure("canceled", "canceled while running")
            elif failure is not None:
                task.state = "failed"
                task.failure = failure
                self.add_log(task, f"Request failed: {failure.message}", level="ERROR")
            else:
                task.output = self._register_output(task, result)
                task.state = "succeeded"
                self.add_log(task, "Request completed")
            self._wake.notify_all()
        if task.state in ("succeeded", "failed") and task.webhook_url and not self.stop_event.is_set():
            request = handler.webhook(task)
            if request is not None:
                copies = 2 if self.faults.flag(task.provider, "duplicate_webhook") else 1
                self.webhooks.send(request, copies=copies)

    def _render(self, task: Task, plan: RenderPlan) -> Any:
        from providers.renderer import render_still_video

        out_dir = self.work_dir / "outputs"
        out_dir.mkdir(parents=True, exist_ok=True)
        return render_still_video(
            image_path=str(plan.image_path),
            audio_path=None if plan.audio_path is None else str(plan.audio_path),
            out_path=str(out_dir / f"{task.id}.mp4"),
            duration_s=plan.duration_s,
            resolution=plan.resolution,
            fps=self.config.render_fps,
        )

    def _register_output(self, task: Task, result: Any) -> OutputFile:
        path = Path(result.path)
        now = time.time()
        if self.faults.flag(task.provider, "expired_output"):
            expires_at = now - 1  # minted already expired
        else:
            expires_at = now + self.config.output_ttl_s
        token = self.tokens.mint(task_id=task.id, expires_at=expires_at)
        return OutputFile(
            path=path,
            size=path.stat().st_size,
            url=f"{self.base_url}/_emulator/files/{token}",
            expires_at=expires_at,
            duration_s=Decimal(result.duration_s),
            width=int(result.width),
            height=int(result.height),
            frames=int(result.frames),
            file_name=f"{task.id}.mp4",
        )


# --- small helpers --------------------------------------------------------------------------------


def iso_utc(ts: float) -> str:
    """``2023-04-01T12:34:56.789Z`` (WaveSpeed's ``created_at`` per the seeds; fal's log times)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_CST = timezone(timedelta(hours=8))


def dashscope_time(ts: float | None) -> str | None:
    """``2026-04-17 17:12:49.076`` (seed 004). The zone is not printed; we use UTC+8, the Beijing
    region's local time (*unconfirmed*)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, _CST).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def decimal_seconds(value: Decimal | float) -> float:
    """A duration as a JSON number (ms precision)."""
    return math.floor(float(value) * 1000 + 0.5) / 1000


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in list(value.items())}  # list(): a worker may be adding keys
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
