"""``ProviderHandler``, the base the per-provider modules (``wavespeed``, ``fal``, ``dashscope``)
subclass: what every provider's API does alike lives here once (the key check, the task lookup,
``Retry-After``, the truncated answer, the status table, the signed webhook), so a provider
module holds only its wire words: paths, shapes, messages and status words."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .http_messages import ApiRequest, ApiResponse, truncated_json
from .input_fetch import TaskInputs
from .rendering import RenderPlan
from .tasks import Task, TaskState
from .webhooks import WebhookRequest

if TYPE_CHECKING:
    from .task_store import TaskStore


class ProviderHandler:
    """HTTP in the provider's wire format on one side, the provider-neutral ``Task`` on the other.

    A subclass names its provider (``name``), the paths it answers (``prefixes``), its
    ``Authorization`` scheme and its status words, and implements ``route``, ``unauthorized``,
    the fault answers and ``plan``.
    """

    name: ClassVar[str] = ""
    prefixes: ClassVar[tuple[str, ...]] = ()
    auth_scheme: ClassVar[str] = "Bearer"
    auth_scheme_exact: ClassVar[bool] = False  # True: the scheme word must match its case too
    status_words: ClassVar[Mapping[TaskState, str]] = {}

    def __init__(self, store: TaskStore) -> None:
        self.store = store
        self.config = store.config

    def owns(self, path: str) -> bool:
        return path.startswith(self.prefixes)

    # -- what every provider's API does alike -------------------------------------------------------
    def has_api_key(self, request: ApiRequest) -> bool:
        """Whether ``Authorization: <auth_scheme> <the account's key>`` was sent."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        same = scheme == self.auth_scheme if self.auth_scheme_exact else scheme.lower() == self.auth_scheme.lower()
        return same and key.strip() == self.config.api_key

    def find(self, task_id: str) -> Task | None:
        """This provider's task ``task_id``; None when unknown, another provider's or deleted."""
        return self.store.get(self.name, task_id)

    def status_word(self, task: Task) -> str:
        return self.status_words[task.state]

    # -- the API -------------------------------------------------------------------------------------
    def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one API call: the key is checked first, then the call is routed."""
        if not self.has_api_key(request):
            return self.unauthorized(request)
        return self.route(request)

    def route(self, request: ApiRequest) -> ApiResponse:
        """Answer an authorized API call (submit, read, cancel...)."""
        raise NotImplementedError

    def unauthorized(self, request: ApiRequest) -> ApiResponse:
        """The provider's 401 for a missing or wrong key."""
        raise NotImplementedError

    # -- faults: the answer in the provider's shape --------------------------------------------------
    def rate_limited(self, request: ApiRequest, retry_after_s: float) -> ApiResponse:
        """The provider's 429, with ``Retry-After`` in whole seconds."""
        response = self.rate_limit_answer(request)
        response.headers["Retry-After"] = str(max(0, math.ceil(retry_after_s)))
        return response

    def rate_limit_answer(self, request: ApiRequest) -> ApiResponse:
        """The provider's 429 without ``Retry-After`` (``rate_limited`` adds it)."""
        raise NotImplementedError

    def server_error(self, request: ApiRequest, status: int | None) -> ApiResponse:
        """The provider's 5xx (``status``, or the provider's usual one when None)."""
        raise NotImplementedError

    def malformed(self, request: ApiRequest) -> ApiResponse:
        """A 200 whose JSON is cut in the middle (the ``malformed_json`` fault)."""
        return ApiResponse(200, truncated_json(self.submit_example()))

    def submit_example(self) -> dict[str, Any]:
        """A plausible answer to a submit, which ``malformed`` cuts in half."""
        raise NotImplementedError

    def expired_body(self) -> ApiResponse:
        """The answer of the provider's file host to an expired URL (a plain 403 by default)."""
        return ApiResponse(403, b"Forbidden: the URL has expired\n", content_type="text/plain; charset=utf-8")

    # -- the task ------------------------------------------------------------------------------------
    def plan(self, task: Task, inputs: TaskInputs) -> RenderPlan:
        """Download and check the task's inputs; say what to render. Raises TaskFailure."""
        raise NotImplementedError

    def webhook(self, task: Task) -> WebhookRequest | None:
        """The webhook to POST for a finished task that asked for one (None: the provider sends none)."""
        return None

    def signed_webhook(self, task: Task, message: Any, *, delivery_id: str,
                       signature_headers: Callable[[str, bytes], dict[str, str]]) -> WebhookRequest:
        """``message`` as a JSON webhook to the task's URL; each attempt gets a fresh timestamp
        (Unix seconds) and the headers ``signature_headers(timestamp, body)`` sign it with."""
        assert task.webhook_url is not None
        body = json.dumps(message).encode("utf-8")

        def headers() -> dict[str, str]:
            return {"Content-Type": "application/json", **signature_headers(str(int(time.time())), body)}

        return WebhookRequest(provider=self.name, task_id=task.id, url=task.webhook_url, body=body,
                              headers=headers, delivery_id=delivery_id)
