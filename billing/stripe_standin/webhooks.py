"""Webhook delivery as Stripe does it: a POST of the event's JSON to the endpoint, signed with the
endpoint's secret in ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">``
(https://docs.stripe.com/webhooks#verify-manually), retried with backoff until a 2xx answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("billing.stripe_standin")


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass
class Delivery:
    event_id: str
    event_type: str
    url: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False

    def snapshot(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "type": self.event_type, "url": self.url,
                "attempts": list(self.attempts), "delivered": self.delivered}


class WebhookSender:
    """One background thread delivering events in the order they happened (Stripe does not promise
    an order; one sender keeps the stand-in predictable for tests). ``retry_delays_s`` are the waits
    between attempts; Stripe's own schedule spans three days."""

    def __init__(self, *, url: str | None, secret: str, retry_delays_s: tuple[float, ...] = (0.5, 2.0, 5.0),
                 timeout_s: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.retry_delays_s = retry_delays_s
        self.timeout_s = timeout_s
        self._queue: queue.Queue[tuple[Delivery, bytes] | None] = queue.Queue()
        self._deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stripe-standin-webhooks", daemon=True)
        self._thread.start()

    def send(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for the endpoint (nothing is sent while no endpoint is configured)."""
        if not self.url:
            return
        delivery = Delivery(event_id=event["id"], event_type=event["type"], url=self.url)
        body = json.dumps(event, indent=2).encode("utf-8")  # Stripe sends pretty-printed JSON
        with self._lock:
            self._deliveries.append(delivery)
            self._pending += 1
            self._idle.clear()
        self._queue.put((delivery, body))

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [d.snapshot() for d in self._deliveries]

    def wait_idle(self, timeout: float = 30.0) -> bool:
        return self._idle.wait(timeout)

    def reset(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is None:
                return
            delivery, body = item
            try:
                self._deliver(delivery, body)
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.set()

    def _deliver(self, delivery: Delivery, body: bytes) -> None:
        for delay in (0.0, *self.retry_delays_s):
            if delay and self._stop.wait(delay):
                return
            signature = sign(body, self.secret)  # a fresh timestamp per attempt, as Stripe does
            request = urllib.request.Request(delivery.url, data=body, method="POST", headers={
                "Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": signature,
            })
            attempt: dict[str, Any] = {"at": time.time(), "signature": signature, "status": None, "error": None}
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310 (our endpoint)
                    attempt["status"] = response.status
            except urllib.error.HTTPError as exc:
                attempt["status"] = exc.code
            except (urllib.error.URLError, OSError) as exc:
                attempt["error"] = str(exc)
            with self._lock:
                delivery.attempts.append(attempt)
                delivery.delivered = attempt["status"] is not None and 200 <= attempt["status"] < 300
            if delivery.delivered:
                return
            logger.info("stripe stand-in: webhook %s to %s failed: %s", delivery.event_id, delivery.url,
                        attempt["status"] or attempt["error"])
