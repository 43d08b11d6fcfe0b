"""Showing a new API key's secret once, after a redirect, without storing it on the server.

The dashboard creates a key with a POST and answers with a redirect (post/redirect/get), so a
reload repeats the harmless GET, never the POST. The secret must cross that redirect: it travels in
a cookie the POST's answer sets, encrypted and authenticated (Fernet, keyed from SECRET_KEY),
bound to the key's id and to the session, valid for ``API_KEY_REVEAL_MAX_AGE_S`` seconds, scoped
to the keys page's path, HttpOnly and SameSite=Strict. The GET decrypts it, claims the key's
``secret_shown_at`` (a compare-and-set: only the first GET wins, so a second tab or a replayed
cookie shows nothing) and deletes the cookie in its answer.

Why not the alternatives: the session or the cache would store the secret server-side; a query
string would put it in access logs, browser history and Referer headers. The cookie holds only
what the browser is about to display anyway, cannot be read by scripts, and is gone on the
next response."""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.utils import timezone

from .models import ApiKey, Tenant

COOKIE_NAME = "parley_new_key"
_SALT = b"parley.accounts.key_reveal"


def _fernet() -> Fernet:
    digest = hashlib.sha256(_SALT + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _session_tag(session_key: str | None) -> str:
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def reveal_seal(*, key: ApiKey, secret: str, session_key: str | None) -> str:
    """The cookie's value: the secret, encrypted, bound to the key and the session."""
    payload = json.dumps({"k": key.pk, "s": secret, "t": _session_tag(session_key)}).encode()
    return _fernet().encrypt(payload).decode()


def reveal_open(*, tenant: Tenant, value: str | None, session_key: str | None) -> tuple[ApiKey, str] | None:
    """The key and its secret, the first time a valid cookie is opened for the tenant's key that
    has not been shown yet; None otherwise (expired, tampered, another session, shown already)."""
    if not value:
        return None
    try:
        data = json.loads(_fernet().decrypt(value.encode(), ttl=settings.API_KEY_REVEAL_MAX_AGE_S))
    except (InvalidToken, ValueError):
        return None
    if data.get("t") != _session_tag(session_key):
        return None
    claimed = ApiKey.objects.for_tenant(tenant).filter(pk=data.get("k"), secret_shown_at__isnull=True,
                                                       revoked_at__isnull=True).update(secret_shown_at=timezone.now())
    if not claimed:
        return None
    return ApiKey.objects.for_tenant(tenant).get(pk=data["k"]), data["s"]
