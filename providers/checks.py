"""System checks for provider configuration that would otherwise fail only at the first job."""

from __future__ import annotations

from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Warning, register

from .registry import hosted_provider_names, provider_is_emulated

_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


@register()
def public_base_url_reachable(app_configs, **kwargs):  # noqa: ANN001, ANN201 - Django's check signature
    """A real provider downloads our inputs from PUBLIC_BASE_URL and posts webhooks to it: a
    loopback address works for the emulator only."""
    host = urlparse(settings.PUBLIC_BASE_URL).hostname or ""
    real = [p for p in hosted_provider_names() if not provider_is_emulated(p)]
    if not real or host not in _LOCAL_HOSTS:
        return []
    return [Warning(
        f"PUBLIC_BASE_URL is {settings.PUBLIC_BASE_URL}, but {', '.join(real)} is called for real: the "
        "provider cannot download inputs from, or send webhooks to, a loopback address.",
        hint="Set PUBLIC_BASE_URL to the platform's public https address.",
        id="providers.W001",
    )]
