"""The Stripe stand-in, started in the test and reached by the real ``stripe`` SDK over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from billing.stripe_standin import RunningStandin, StandinConfig, start_standin


@pytest.fixture
def stripe_standin(settings) -> Iterator[RunningStandin]:
    """A running stand-in the platform's Stripe client talks to; no webhook endpoint until a test
    sets one (``stripe_standin.set_webhook(url)``). SDK retries are off, so each fault shows."""
    running = start_standin(StandinConfig(port=0, webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
                                          webhook_retry_delays_s=(0.2, 0.5)))
    settings.STRIPE_API_BASE = running.url
    settings.STRIPE_API_KEY = "sk_test_parley_tests"
    settings.STRIPE_STANDIN = True
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_S = 5.0
    try:
        yield running
    finally:
        running.stop()
