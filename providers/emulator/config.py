"""The emulator's configuration (``EmulatorConfig``) and the providers it speaks for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROVIDER_NAMES: tuple[str, ...] = ("wavespeed", "fal", "dashscope")


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
    fal_signing_key: bytes | None = None  # fal's ED25519 private key; None: derived from webhook_secret
    queued_s: float = 0.3
    running_s: float = 1.0
    running_spread: float = 0.0  # each task runs running_s x uniform(1 - spread, 1 + spread)
    reuse_renders: bool = False  # render identical inputs once (benchmarks of thousands of tasks)
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
