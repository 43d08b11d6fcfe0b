"""The plain values a provider client is configured with and answers: ClientConfig, Submission,
PollResult, CancelResult and WebhookEvent (no HTTP, no behaviour beyond a state check)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

PollState = Literal["queued", "running", "succeeded", "failed", "canceled"]


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs from settings; built by ``providers.registry``."""

    base_url: str
    api_key: str
    emulated: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    webhook_secret: str = ""  # WaveSpeed: the account's webhook secret (whsec_...)
    jwks_url: str = ""  # fal: where its webhook signing keys are published
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    """What a provider answered to a submit. ``handle`` is stored on the job verbatim and given
    back to ``poll``/``cancel``: it holds whatever the provider's later calls need (the request
    id, and for fal the status/response/cancel URLs the submit answered)."""

    request_id: str
    handle: dict[str, Any]
    raw: Any = None
    # Set when the provider finished during the submit itself (the local renderer does).
    result: PollResult | None = None


@dataclass(frozen=True)
class PollResult:
    state: PollState
    video_url: str | None = None
    progress: float | None = None  # 0..1 when the provider tells it
    queue_position: int | None = None
    error: str | None = None  # the provider's own message when state == "failed"
    error_code: str | None = None
    logs: tuple[str, ...] = ()
    raw: Any = None
    # The output's length as the provider reports (and bills) it, where it reports one (DashScope's
    # ``usage``); compared with our probe by the reconciliation, never used to charge.
    provider_seconds: Decimal | None = None

    @property
    def is_final(self) -> bool:
        return self.state in ("succeeded", "failed", "canceled")


@dataclass(frozen=True)
class CancelResult:
    """What the provider answered to a cancel, in its own words; the job layer notes it on the job.
    Whether the task really stopped is learned the usual way, by polling it (or its webhook)."""

    status: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    request_id: str
    result: PollResult
    delivery_id: str = ""
