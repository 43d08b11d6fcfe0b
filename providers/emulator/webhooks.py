"""Sending webhooks: each provider handler builds a ``WebhookRequest`` for a finished task; the
``WebhookSender`` POSTs it in the background with retries and keeps a log of the deliveries."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from .config import EmulatorConfig
from .outbound_http import outbound_client


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
        self._http = outbound_client(timeout_s=config.webhook_timeout_s, follow_redirects=False)
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
