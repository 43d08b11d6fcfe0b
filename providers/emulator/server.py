"""The emulator's HTTP server: one stdlib ``ThreadingHTTPServer`` answering WaveSpeed's
(``/api/v3/...``), fal's queue (``/fal-ai/...``) and DashScope's (``/api/v1/...``) APIs at their
real paths, plus its own control endpoints under ``/_emulator/`` and fal's JWKS.

Point the platform's provider base URLs at it: WaveSpeed ``<url>``, fal ``<url>``, DashScope
``<url>/api/v1``, fal's JWKS ``<url>/.well-known/jwks.json`` (see ``RunningEmulator.base_urls``).

No Django here: the management command ``provider_emulator`` is a thin wrapper around
``start_emulator``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .config import PROVIDER_NAMES, EmulatorConfig
from .dashscope import DashScopeHandler
from .fal import FalHandler
from .faults import FAULT_NAMES, CallFault
from .handler import ProviderHandler
from .http_messages import ApiRequest, ApiResponse, json_response
from .rendering import FILES_PATH
from .signing import FalSigner, InvalidToken
from .task_store import TaskStore
from .wavespeed import WaveSpeedHandler

logger = logging.getLogger("providers.emulator")

__all__ = ["EmulatorConfig", "RunningEmulator", "start_emulator"]

_CHUNK = 64 * 1024


class _App:
    """Routes one request: control endpoints, output files, JWKS, then the provider handlers
    (with the request log and fault injection around them)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.store = TaskStore(config)
        fal_key = config.fal_signing_key or hashlib.sha256(
            b"parley-emulator-fal-ed25519:" + config.webhook_secret.encode("utf-8")
        ).digest()
        self.signer = FalSigner(fal_key)
        handlers: list[ProviderHandler] = [
            WaveSpeedHandler(self.store),
            FalHandler(self.store, self.signer),
            DashScopeHandler(self.store),
        ]
        self.store.handlers = {h.name: h for h in handlers}
        assert tuple(self.store.handlers) == PROVIDER_NAMES, "one handler per provider, in PROVIDER_NAMES' order"

    def handle(self, request: ApiRequest) -> ApiResponse:
        path = request.path
        if path.startswith(FILES_PATH):
            return self._file(request, path[len(FILES_PATH):])
        if path.startswith("/_emulator/"):
            return self._control(request)
        if path == "/.well-known/jwks.json" and request.method == "GET":
            return json_response(200, self.signer.jwks())  # fal's webhook key (*documented* JWKS shape)
        handler = next((h for h in self.store.handlers.values() if h.owns(path)), None)
        if handler is None:
            return json_response(404, {"detail": "Not Found"})
        return self._api(handler, request)

    # -- provider API calls: log, faults, answer ---------------------------------------------------
    def _api(self, handler: ProviderHandler, request: ApiRequest) -> ApiResponse:
        entry: dict[str, Any] = {
            "provider": handler.name,
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": dict(request.headers),
            "json": request.json if request.has_json else None,
            "body": None if request.has_json else request.body.decode("utf-8", "replace"),
            "at": time.time(),
            "status": None,
            "fault": None,
        }
        self.store.log_request(entry)
        latency = self.store.faults.latency(handler.name)
        fault: CallFault | None = self.store.faults.take_call_fault(handler.name)
        if fault is None or fault.kind == "timeout":
            response = handler.handle(request)
            if fault is not None:
                # The call is processed (a submit creates its task) but the answer is held back
                # longer than the client waits: the "did my submit go through?" case.
                response.delay_s += fault.hang_s
        elif fault.kind == "rate_limit":
            response = handler.rate_limited(request, fault.retry_after_s)
        elif fault.kind == "server_error":
            response = handler.server_error(request, fault.status)
        else:  # malformed_json: answered without processing the call
            response = handler.malformed(request)
        response.delay_s += latency
        entry["status"] = response.status
        entry["fault"] = fault.kind if fault else None
        return response

    # -- output files --------------------------------------------------------------------------------
    def _file(self, request: ApiRequest, token: str) -> ApiResponse:
        if request.method not in ("GET", "HEAD"):
            return ApiResponse(405, b"Method Not Allowed\n", content_type="text/plain")
        try:
            task_id = self.store.tokens.verify(token)
        except InvalidToken as exc:
            if exc.expired and exc.task_id:
                task, _out = self.store.file_for_token(exc.task_id)
                handler = self.store.handlers.get(task.provider) if task else None
                if handler is not None:
                    return handler.expired_body()
            return ApiResponse(403, f"Forbidden: {exc}\n".encode(), content_type="text/plain; charset=utf-8")
        task, out = self.store.file_for_token(task_id)
        if task is None or out is None or not out.path.exists():
            return ApiResponse(404, b"Not Found\n", content_type="text/plain")
        handler = self.store.handlers[task.provider]
        if self.store.faults.flag(task.provider, "expired_output"):
            return handler.expired_body()
        response = ApiResponse(
            200,
            content_type=out.content_type,
            headers={"Content-Disposition": f'inline; filename="{out.file_name}"',
                     "Cache-Control": "private, max-age=0"},
            file_path=out.path,
        )
        response.delay_s += self.store.faults.output_latency(task.provider)
        return response

    # -- control endpoints ----------------------------------------------------------------------------
    def _control(self, request: ApiRequest) -> ApiResponse:
        name, method = request.path[len("/_emulator/"):].strip("/"), request.method
        if name == "requests" and method == "GET":
            return json_response(200, {"requests": [_redacted(e) for e in self.store.requests_snapshot()]})
        if name == "tasks" and method == "GET":
            return json_response(200, {"tasks": list(self.store.tasks_snapshot().values())})
        if name == "webhooks" and method == "GET":
            return json_response(200, {"webhooks": self.store.webhooks.snapshot()})
        if name == "faults":
            return self._faults(request)
        if name == "reset" and method == "POST":
            self.store.reset()
            return json_response(200, {"reset": True})
        if name == "health" and method == "GET":
            return json_response(200, {"ok": True, "url": self.store.base_url, "providers": list(PROVIDER_NAMES)})
        return json_response(404, {"detail": "Not Found"})

    def _faults(self, request: ApiRequest) -> ApiResponse:
        faults = self.store.faults
        try:
            if request.method == "POST":
                if request.json_object is None:
                    raise ValueError('expected a JSON object of faults, e.g. {"provider": "fal", "rate_limit": 2}')
                values = dict(request.json_object)
                provider = values.pop("provider", None)
                faults.set(provider, **values)
            elif request.method == "DELETE":
                # ?provider=<name> clears one scope (``all`` being a scope too); no query clears all.
                faults.clear(request.query.get("provider") or None)
            elif request.method != "GET":
                return json_response(405, {"detail": "Method Not Allowed"})
        except ValueError as exc:
            return json_response(400, {"error": str(exc), "known_faults": list(FAULT_NAMES)})
        return json_response(200, {"faults": faults.snapshot()})


def _redacted(entry: dict[str, Any]) -> dict[str, Any]:
    headers = dict(entry.get("headers") or {})
    if "authorization" in headers:
        scheme, _, _secret = headers["authorization"].partition(" ")
        headers["authorization"] = f"{scheme} ***"
    return dict(entry, headers=headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        self.app = app
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ParleyProviderEmulator/1.0"
    timeout = 120  # an idle keep-alive connection is closed after this
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
        logger.debug("emulator: " + format, *args)

    def _dispatch(self) -> None:
        app = self.server.app
        try:
            body = self._read_body()
        except ValueError:
            self._write(ApiResponse(400, b"Bad Request\n", content_type="text/plain"))
            return
        split = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = ApiRequest(method=self.command, path=split.path or "/", query=query, headers=headers, body=body)
        if body:
            try:
                request.json = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                request.json_error = str(exc)
        try:
            response = app.handle(request)
        except Exception as exc:  # a bug in the emulator: say so rather than drop the connection
            logger.exception("emulator: error handling %s %s", self.command, self.path)
            response = json_response(500, {"detail": f"emulator error: {exc.__class__.__name__}: {exc}"})
        if response.delay_s > 0:
            app.store.stop_event.wait(response.delay_s)
        self._write(response)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _write(self, response: ApiResponse) -> None:
        try:
            self.send_response(response.status, response.reason or _REASONS.get(response.status))
            size = response.file_path.stat().st_size if response.file_path is not None else len(response.body)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(size))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command == "HEAD":
                return
            if response.file_path is not None:
                with open(response.file_path, "rb") as f:
                    while chunk := f.read(_CHUNK):
                        self.wfile.write(chunk)
            else:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True  # the client gave up (e.g. the timeout fault)


_REASONS = {499: "Client Closed Request"}


class RunningEmulator:
    """A started emulator. ``url`` is its base URL; ``stop()`` shuts it down. ``requests``,
    ``tasks`` and ``webhooks`` are snapshots for tests to assert on."""

    def __init__(self, app: _App, server: _Server, thread: threading.Thread) -> None:
        self._app = app
        self._server = server
        self._thread = thread
        self.config = app.config
        self.url = app.store.base_url
        self._stopped = False

    # -- what tests look at ---------------------------------------------------------------------
    @property
    def base_urls(self) -> dict[str, str]:
        """The base URL to configure for each provider's client (and fal's JWKS URL)."""
        return {"wavespeed": self.url, "fal": self.url, "dashscope": f"{self.url}/api/v1",
                "fal_jwks": f"{self.url}/.well-known/jwks.json"}

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every provider API call received, oldest first: provider, method, path, query,
        headers (lower-case names), json (the parsed body), body (raw text when not JSON), at,
        status (HTTP status answered) and fault (the fault applied, if any)."""
        return self._app.store.requests_snapshot()

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        """Every task by id: state (queued|running|succeeded|failed|canceled), provider_status
        (the provider's own word), params, error, output (url, size, duration_s...), timings."""
        return self._app.store.tasks_snapshot()

    def task(self, task_id: str) -> dict[str, Any]:
        return self.tasks[task_id]

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        """Webhook deliveries: url, headers and body sent, attempts and whether one got a 2xx."""
        return self._app.store.webhooks.snapshot()

    @property
    def faults(self) -> dict[str, dict[str, Any]]:
        return self._app.store.faults.snapshot()

    def jwks(self) -> dict[str, Any]:
        return self._app.signer.jwks()

    # -- what tests change --------------------------------------------------------------------------
    def set_faults(self, provider: str | None = None, **faults: Any) -> None:
        """Inject faults for ``provider`` (``wavespeed``, ``fal``, ``dashscope``) or all of them
        (None or ``"all"``); see the README of the faults in ``providers/emulator/__init__.py``."""
        self._app.store.faults.set(provider, **faults)

    def clear_faults(self, provider: str | None = None) -> None:
        self._app.store.faults.clear(provider)

    def reset(self) -> None:
        """Forget tasks, requests, faults and webhook deliveries."""
        self._app.store.reset()

    def wait_for(self, task_id: str, states: tuple[str, ...] = ("succeeded", "failed", "canceled"),
                 timeout: float = 30.0) -> dict[str, Any]:
        """Block until the task reaches one of ``states`` (ours, not the provider's words)."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self._app.store.tasks_snapshot().get(task_id)
            if snapshot is not None and snapshot["state"] in states:
                return snapshot
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task_id} did not reach {states}: {snapshot and snapshot['state']}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._app.store.stop_event.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._app.store.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(config: EmulatorConfig | None = None) -> RunningEmulator:
    """Start the emulator in a background thread (an ephemeral port when ``config.port`` is 0)
    and return once it accepts connections."""
    config = config or EmulatorConfig()
    app = _App(config)
    server = _Server((config.host, config.port), app)
    host, port = server.server_address[:2]
    if config.public_url:
        app.store.base_url = config.public_url.rstrip("/")
    else:
        shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        app.store.base_url = f"http://{shown}:{port}"
    app.store.start()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="provider-emulator", daemon=True)
    thread.start()
    return RunningEmulator(app, server, thread)
