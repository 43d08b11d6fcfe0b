"""The stand-in's HTTP server: a stdlib ``ThreadingHTTPServer`` answering Stripe's API at its real
paths (``/v1/...``, Bearer ``sk_test_`` keys, form-encoded parameters, JSON answers, Stripe's
error object, ``Idempotency-Key`` replays), the hosted pages (``/c/pay/``, ``/p/session/``,
``/i/``) and its own control endpoints under ``/_standin/``."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import objects as o
from . import pages
from .form_params import decode_form
from .store import Store, StripeApiError, invalid, public
from .webhooks import WebhookSender

logger = logging.getLogger("billing.stripe_standin")


@dataclass(frozen=True)
class StandinConfig:
    host: str = "127.0.0.1"
    port: int = 12111  # stripe-mock's port, so tools written for it find us
    webhook_url: str | None = None  # where events are POSTed (like `stripe listen --forward-to`)
    webhook_secret: str = "whsec_standin"
    webhook_retry_delays_s: tuple[float, ...] = (0.5, 2.0, 5.0)
    # A JSON file the state is read from at start (when it exists) and written to at stop, so that
    # a restart keeps what Stripe would keep; None: the state lives and dies with the process.
    state_file: str | None = None


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(payload, indent=2).encode("utf-8"), headers=dict(headers or {}))


Route = tuple[str, re.Pattern[str], Callable[..., Any]]


class _App:
    def __init__(self, config: StandinConfig) -> None:
        self.config = config
        self.sender = WebhookSender(url=config.webhook_url, secret=config.webhook_secret,
                                    retry_delays_s=config.webhook_retry_delays_s)
        self.store = Store(emit=self.sender.send)
        if config.state_file and os.path.exists(config.state_file):
            with open(config.state_file, encoding="utf-8") as state:
                self.store.restore(json.load(state))
        self.fail_next = 0  # the next N API calls answer 500
        self.requests: list[dict[str, Any]] = []
        self.routes = self._routes()

    def _routes(self) -> list[Route]:
        s = self.store

        def r(method: str, pattern: str, fn: Callable[..., Any]) -> Route:
            return (method, re.compile(f"^{pattern}$"), fn)

        def listed(fn: Callable[[dict[str, Any]], list[dict[str, Any]]], url: str) -> Callable[..., Any]:
            return lambda p: _paginate(url, fn(p), p)

        ident = r"([A-Za-z0-9_]+)"
        return [
            r("POST", "/v1/customers", s.customer_create),
            r("GET", f"/v1/customers/{ident}", lambda p, cid: s.customer_get(cid)),
            r("POST", f"/v1/customers/{ident}", lambda p, cid: s.customer_update(cid, p)),
            r("POST", f"/v1/customers/{ident}/balance_transactions",
              lambda p, cid: s.balance_transaction_create(cid, p)),
            r("GET", f"/v1/customers/{ident}/balance_transactions",
              lambda p, cid: _paginate(f"/v1/customers/{cid}/balance_transactions",
                                       s.balance_transaction_list(cid), p)),
            r("POST", "/v1/products", s.product_create),
            r("GET", f"/v1/products/{ident}", lambda p, pid: s.product_get(pid)),
            r("POST", "/v1/prices", s.price_create),
            r("GET", "/v1/prices/search", lambda p: o.search_result("/v1/prices/search", s.price_search(p))),
            r("GET", "/v1/prices", listed(s.price_list, "/v1/prices")),
            r("GET", f"/v1/prices/{ident}", lambda p, pid: s._price(pid, "id")),
            r("POST", "/v1/billing/meters", s.meter_create),
            r("GET", "/v1/billing/meters", listed(s.meter_list, "/v1/billing/meters")),
            r("GET", f"/v1/billing/meters/{ident}", lambda p, mid: s.meter_get(mid)),
            r("GET", f"/v1/billing/meters/{ident}/event_summaries",
              lambda p, mid: _paginate(f"/v1/billing/meters/{mid}/event_summaries", s.meter_summaries(mid, p), p)),
            r("POST", "/v1/billing/meter_events", s.meter_event_create),
            r("POST", "/v1/subscriptions", s.subscription_create),
            r("GET", f"/v1/subscriptions/{ident}", lambda p, sid: s.subscription_get(sid)),
            r("DELETE", f"/v1/subscriptions/{ident}", lambda p, sid: s.subscription_cancel(sid)),
            r("POST", "/v1/checkout/sessions", s.checkout_create),
            r("GET", f"/v1/checkout/sessions/{ident}", lambda p, sid: s.checkout_get(sid)),
            r("POST", "/v1/billing_portal/sessions", s.portal_create),
            r("GET", "/v1/invoices", listed(s.invoice_list, "/v1/invoices")),
            r("GET", f"/v1/invoices/{ident}", lambda p, iid: s.invoice_get(iid)),
            r("POST", f"/v1/invoices/{ident}/pay", lambda p, iid: s.invoice_pay(iid)),
            r("GET", "/v1/events", listed(lambda p: list(s.events.values()), "/v1/events")),
            r("GET", f"/v1/events/{ident}", lambda p, eid: _get(s.events, "event", eid)),
        ]

    # -- dispatch ------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> _Answer:
        if path.startswith("/_standin/"):
            return self._control(method, path[len("/_standin/"):].strip("/"), body)
        if path.startswith("/c/pay/") or path.startswith("/p/session/") or path.startswith("/i/"):
            return self._page(method, path, body)
        if path.startswith("/v1/"):
            return self._api(method, path, query, headers, body)
        return _json(404, o.error("invalid_request_error", f"Unrecognized request URL ({method}: {path})."))

    def _api(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> _Answer:
        request_id = o.new_id("req_", 14)
        base = {"Request-Id": request_id, "Stripe-Version": headers.get("stripe-version", "2026-10-28.endive")}
        auth = headers.get("authorization", "")
        key = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        if not key.startswith("sk_test_"):
            # https://docs.stripe.com/api/authentication: live keys are never accepted here.
            shown = (key[:8] + "*" * max(0, len(key) - 12) + key[-4:]) if key else ""
            message = f"Invalid API Key provided: {shown}" if key else (
                "You did not provide an API key. Provide it in the Authorization header, using Bearer auth.")
            return _json(401, o.error("invalid_request_error", message), base)
        params = decode_form(body.decode("utf-8") if method == "POST" else query)
        entry = {"method": method, "path": path, "params": params, "at": time.time(), "status": None,
                 "idempotency_key": headers.get("idempotency-key")}
        with self.store.lock:
            self.requests.append(entry)
            if self.fail_next > 0:
                self.fail_next -= 1
                entry["status"] = 500
                return _json(500, o.error("api_error", "An unknown error occurred. (stand-in fault)"), base)
            idem = headers.get("idempotency-key") if method == "POST" else None
            if idem:
                cached = self.store.idempotent.get(f"{key}:{idem}")
                if cached is not None:
                    if cached[0] != (path, params):
                        answer = _json(400, o.error(
                            "idempotency_error", "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.", code="idempotency_key_in_use"), base)
                    else:
                        answer = _Answer(cached[1], cached[2], headers={**base, "Idempotent-Replayed": "true"})
                    entry["status"] = answer.status
                    return answer
            answer = self._route(method, path, params, base)
            if idem:
                self.store.idempotent[f"{key}:{idem}"] = ((path, params), answer.status, answer.body)
            entry["status"] = answer.status
            return answer

    def _route(self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]) -> _Answer:
        for route_method, pattern, fn in self.routes:
            match = pattern.match(path)
            if match and route_method == method:
                try:
                    result = fn(params, *match.groups())
                except StripeApiError as exc:
                    if exc.status == 400 and "already exists with identifier" in exc.body["error"]["message"]:
                        headers = {**headers, "Stripe-Should-Retry": "false"}
                    return _json(exc.status, exc.body, headers)
                return _json(200, public(result), headers)
        return _json(404, o.error("invalid_request_error", f"Unrecognized request URL ({method}: {path})."), headers)

    # -- hosted pages ----------------------------------------------------------------------------------
    def _page(self, method: str, path: str, body: bytes) -> _Answer:
        form = decode_form(body.decode("utf-8")) if method == "POST" else {}
        s = self.store
        with s.lock:
            try:
                if path.startswith("/c/pay/"):
                    session = s.checkout_get(path[len("/c/pay/"):])
                    prices = [s.prices[i["price"]] for i in session["_line_items"]]
                    if method == "POST":
                        session, error = s.checkout_pay(session["id"], form.get("cardNumber", ""), form.get("email"))
                        if error is None:
                            target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
                            return _Answer(303, b"", "text/html", {"Location": target})
                        return _Answer(402, pages.checkout_page(session, prices, error), "text/html; charset=utf-8")
                    return _Answer(200, pages.checkout_page(session, prices), "text/html; charset=utf-8")
                if path.startswith("/p/session/"):
                    sid = path[len("/p/session/"):]
                    message = error = None
                    if method == "POST":
                        _session, error = s.portal_update_card(sid, form.get("cardNumber", ""))
                        message = None if error else "Your card was saved."
                    if sid not in s.portal_sessions:
                        raise invalid("No such portal session.")
                    session = s.portal_sessions[sid]
                    invoices = s.invoice_list({"customer": session["customer"]})
                    card = s.cards.get(session["customer"])
                    return _Answer(402 if error else 200, pages.portal_page(session, invoices, card, message, error),
                                   "text/html; charset=utf-8")
                invoice = s.invoice_get(path[len("/i/"):])
                return _Answer(200, pages.invoice_page(invoice), "text/html; charset=utf-8")
            except StripeApiError as exc:
                return _Answer(404, f"Not found: {exc}".encode(), "text/plain; charset=utf-8")

    # -- control endpoints ------------------------------------------------------------------------------
    def _control(self, method: str, name: str, body: bytes) -> _Answer:
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return _json(400, {"error": "expected a JSON body"})
        s = self.store
        with s.lock:
            if name == "health" and method == "GET":
                return _json(200, {"ok": True, "url": s.base_url})
            if name == "faults" and method == "POST":
                self.fail_next = int(payload.get("server_error", 0))
                return _json(200, {"server_error": self.fail_next})
            if name == "close_period" and method == "POST":
                return _json(200, {"invoices": [public(i) for i in s.close_period(payload.get("customer"))]})
            if name == "meter_events" and method == "GET":
                return _json(200, {"meter_events": list(s.meter_events.values()),
                                   "rejected_duplicates": s.meter_event_rejections})
            if name == "webhooks" and method == "GET":
                return _json(200, {"deliveries": self.sender.snapshot()})
            if name == "reset" and method == "POST":
                s.reset()
                self.requests.clear()
                self.sender.reset()
                return _json(200, {"reset": True})
            match = re.match(r"^events/([A-Za-z0-9_]+)/resend$", name)
            if match and method == "POST":
                event = s.events.get(match.group(1))
                if event is None:
                    return _json(404, {"error": "no such event"})
                self.sender.send(event)
                return _json(200, {"resent": event["id"]})
            match = re.match(r"^customers/([A-Za-z0-9_]+)/card$", name)
            if match and method == "POST":
                if match.group(1) not in s.customers:
                    return _json(404, {"error": "no such customer"})
                s.cards[match.group(1)] = re.sub(r"\D", "", str(payload.get("number", "")))
                return _json(200, {"customer": match.group(1), "last4": s.cards[match.group(1)][-4:]})
        return _json(404, {"error": "unknown control endpoint"})


def _get(table: dict[str, dict[str, Any]], kind: str, ident: str) -> dict[str, Any]:
    if ident not in table:
        raise StripeApiError(404, "invalid_request_error", f"No such {kind}: '{ident}'", code="resource_missing",
                             param="id")
    return table[ident]


def _paginate(url: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    """Newest first, ``limit`` (1-100, default 10) and ``starting_after`` as Stripe's lists
    (https://docs.stripe.com/api/pagination)."""
    items = sorted(items, key=lambda x: x.get("created", 0), reverse=True)
    after = params.get("starting_after")
    if after:
        ids = [x.get("id") for x in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    try:
        limit = max(1, min(100, int(params.get("limit", 10))))
    except ValueError:
        raise invalid("Invalid integer: limit", param="limit") from None
    return o.list_object(url, [public(x) for x in items[:limit]], has_more=len(items) > limit)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: _App) -> None:
        self.app = app
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ParleyStripeStandin/1.0"
    timeout = 120
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
        logger.debug("stripe stand-in: " + format, *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urllib.parse.urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            answer = self.server.app.handle(self.command, split.path, split.query, headers, body)
        except Exception as exc:  # a bug in the stand-in: answer as Stripe's api_error
            logger.exception("stripe stand-in: error handling %s %s", self.command, self.path)
            answer = _json(500, o.error("api_error", f"stand-in error: {exc.__class__.__name__}: {exc}"))
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


class RunningStandin:
    """A started stand-in: ``url`` to point ``STRIPE_API_BASE`` at, state for tests to read, and
    the control calls as methods."""

    def __init__(self, app: _App, server: _Server, thread: threading.Thread) -> None:
        self._app = app
        self._server = server
        self._thread = thread
        self.url = app.store.base_url
        self.store = app.store

    @property
    def requests(self) -> list[dict[str, Any]]:
        """API calls received, oldest first: method, path, params (decoded), status, idempotency_key."""
        with self.store.lock:
            return [dict(e) for e in self._app.requests]

    @property
    def meter_events(self) -> dict[str, dict[str, Any]]:
        """Accepted meter events by identifier (a repeated identifier is not counted again)."""
        with self.store.lock:
            return dict(self.store.meter_events)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        return self._app.sender.snapshot()

    def set_webhook(self, url: str | None, secret: str | None = None) -> None:
        self._app.sender.url = url
        if secret is not None:
            self._app.sender.secret = secret

    def fail_next(self, n: int) -> None:
        """Answer 500 (Stripe's api_error) to the next ``n`` API calls, without processing them."""
        with self.store.lock:
            self._app.fail_next = n

    def close_period(self, customer: str | None = None) -> list[dict[str, Any]]:
        with self.store.lock:
            return [public(i) for i in self.store.close_period(customer)]

    def resend(self, event_id: str) -> None:
        with self.store.lock:
            self._app.sender.send(self.store.events[event_id])

    def wait_for_webhooks(self, timeout: float = 30.0) -> None:
        if not self._app.sender.wait_idle(timeout):
            raise TimeoutError("webhook deliveries still pending")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._app.sender.stop()
        path = self._app.config.state_file
        if path:
            written = f"{path}.tmp"
            with open(written, "w", encoding="utf-8") as state:
                json.dump(self.store.state(), state)
            os.replace(written, path)  # a stop cut short leaves the last whole state, never half of one

    def __enter__(self) -> RunningStandin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_standin(config: StandinConfig | None = None) -> RunningStandin:
    """Start the stand-in in a background thread (an ephemeral port when ``config.port`` is 0)."""
    config = config or StandinConfig()
    app = _App(config)
    server = _Server((config.host, config.port), app)
    host, port = server.server_address[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    app.store.base_url = f"http://{shown}:{port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="stripe-standin", daemon=True)
    thread.start()
    return RunningStandin(app, server, thread)
