"""A provider for the pipeline's tests: a real ``ProviderClient`` answering from a script, and
the fixture that makes it every job's client through the public ``providers.registry.client_for``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from providers import registry
from providers.clients.base import ProviderClient
from providers.clients.results import CancelResult, ClientConfig, PollResult, Submission, WebhookEvent

Answer = Any  # a value to return, an exception to raise, or a callable whose result is returned


class ScriptedProvider(ProviderClient):
    """A provider on the real client interface that answers each operation from a script, in
    order (the last answer repeats), and records its calls and how often it was closed."""

    provider = "fal"

    def __init__(self, *, submit: list[Answer] = (), status: list[Answer] = (), cancel: list[Answer] = (),
                 webhook: list[Answer] = ()) -> None:
        super().__init__(ClientConfig(base_url="http://provider.invalid", api_key="test"))
        self.script = {"submit": list(submit), "status": list(status), "cancel": list(cancel),
                       "webhook": list(webhook)}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.closes = 0

    def auth_headers(self) -> dict[str, str]:
        return {}

    def _answer(self, operation: str, **arguments: Any) -> Any:
        self.calls.append((operation, arguments))
        script = self.script[operation]
        answer = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(answer, Exception):
            raise answer
        return answer() if callable(answer) else answer

    def submit(self, *, model_path: str, inputs: Any, webhook_url: str | None = None) -> Submission:
        return self._answer("submit", model_path=model_path)

    def status(self, *, handle: Any) -> PollResult:
        return self._answer("status", handle=handle)

    def cancel(self, *, handle: Any) -> CancelResult:
        return self._answer("cancel", handle=handle)

    def parse_webhook(self, *, headers: Any, body: bytes) -> WebhookEvent:
        return self._answer("webhook", body=body)

    def close(self) -> None:
        self.closes += 1
        super().close()


@pytest.fixture
def provider(monkeypatch) -> Callable[[ScriptedProvider], ScriptedProvider]:
    """Makes ``fake`` the client of every job: the pipeline gets its clients from the public
    ``providers.registry.client_for``, which this replaces for the test."""

    def install(fake: ScriptedProvider) -> ScriptedProvider:
        monkeypatch.setattr(registry, "client_for", lambda provider, **kwargs: fake)
        return fake

    return install
