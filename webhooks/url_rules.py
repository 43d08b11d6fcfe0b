"""Which URLs may receive webhooks: the outbound-URL policy's (public addresses only, unless the
operator allows a network with OUTBOUND_ALLOWED_NETWORKS), and https only in production (http is
allowed while DEBUG is on, or with WEBHOOK_ALLOW_HTTP)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from outbound.policy import OutboundURLRefused, outbound_url_check

MAX_URL_LENGTH = 2000


def webhook_https_required() -> bool:
    return not (settings.DEBUG or settings.WEBHOOK_ALLOW_HTTP)


def webhook_url_check(url: object, *, field: str) -> str:
    """The URL, stripped, or a ValidationError keyed by ``field`` naming the rule it broke."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError({field: ["Must be a URL (https://...)."]})
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError({field: [f"Must be at most {MAX_URL_LENGTH} characters long (got {len(url)})."]})
    try:
        outbound_url_check(url, require_https=webhook_https_required())
    except OutboundURLRefused as exc:
        raise ValidationError({field: [f"This URL cannot receive webhooks: {exc} ({exc.code})."]}) from None
    except (UnicodeError, ValueError):  # a host name the resolver cannot encode (a label over 63 characters)
        raise ValidationError({field: ["This URL's host is not a valid host name."]}) from None
    return url
