"""Webhook signing secrets: made (``whsec_`` + 24 random bytes, base64, as the Standard Webhooks
specification has them), encrypted at rest with Fernet, and read back to sign.

We must sign with the secret, so it cannot be hashed like an API key. The Fernet key is
``WEBHOOK_SECRET_KEY`` when set, else derived from ``SECRET_KEY``; keys derived from
``SECRET_KEY_FALLBACKS`` still decrypt, so a rotated SECRET_KEY does not lose the secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

from .models import SigningSecrets

PREFIX = "whsec_"


def secret_generate() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _fernet_key(material: str) -> bytes:
    digest = hmac.new(material.encode(), b"parley webhook signing secrets", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=4)
def _fernet(primary: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(k)) for k in (primary, *fallbacks)])


def _cipher() -> MultiFernet:
    primary = settings.WEBHOOK_SECRET_KEY or settings.SECRET_KEY
    fallbacks = tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ()) or ())
    return _fernet(primary, fallbacks)


def secret_encrypt(secret: str) -> str:
    return _cipher().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    return _cipher().decrypt(token.encode()).decode()


def signing_secrets(holder: SigningSecrets, *, now: datetime) -> list[str]:
    """The secrets that sign a message now: the current one, and the previous one during its
    rotation's overlap window (the receiver accepts a message if any signature matches)."""
    found = [secret_decrypt(holder.secret_encrypted)]
    if holder.previous_secret_active(now):
        found.append(secret_decrypt(holder.previous_secret_encrypted))
    return found
