"""fal's webhook signatures: the ``X-Fal-Webhook-*`` headers, the signed message, the Ed25519
check against the keys fal publishes as a JWKS, and the JWKS fetch and its cache.

Webhooks page: https://docs.fal.ai/model-apis/model-endpoints/webhooks (the protocol as we use it:
docs/providers/fal.md). Reading a verified webhook's body is wire translation and stays in
``providers.clients.fal``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .base import check_webhook_timestamp, json_answer, webhook_headers
from .errors import ProviderUnavailable, WebhookVerificationError

PROVIDER = "fal"

# Webhooks page: signed with keys published as a JWKS. We keep them ~10 minutes (our choice) and
# refetch at most once per JWKS_MIN_REFETCH_S after a signature that no cached key verifies (key
# rotation), so that forged webhooks cannot make us hammer the JWKS URL.
JWKS_TTL_S = 600.0
JWKS_MIN_REFETCH_S = 30.0
SIGNATURE_HEADERS = (
    "X-Fal-Webhook-Request-Id",
    "X-Fal-Webhook-User-Id",
    "X-Fal-Webhook-Timestamp",
    "X-Fal-Webhook-Signature",
)


def webhook_message(*, request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """Webhooks page: ``{request_id}\\n{user_id}\\n{timestamp}\\n{sha256 hex of the raw body}``, UTF-8."""
    return "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode("utf-8")


def public_keys_from_jwks(jwks: Any) -> list[Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS (webhooks page: ``{"keys": [{"kty": "OKP", "crv": "Ed25519", "x":
    <base64url>}]}``); other or malformed keys are skipped."""
    keys: list[Ed25519PublicKey] = []
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    for entry in entries or []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        x = entry.get("x")
        if not isinstance(x, str):
            continue
        try:
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (ValueError, binascii.Error):
            continue
    return keys


def signed_headers(headers: Mapping[str, str]) -> tuple[str, str, str, bytes]:
    """(request id, user id, timestamp, signature bytes) from the ``X-Fal-Webhook-*`` headers
    (webhooks page); WebhookVerificationError when one is missing or the signature is not hex."""
    request_id, user_id, timestamp, signature_hex = webhook_headers(headers, *SIGNATURE_HEADERS)
    try:
        signature = bytes.fromhex(signature_hex.strip())
    except ValueError:
        raise WebhookVerificationError("X-Fal-Webhook-Signature is not hex.") from None
    return request_id, user_id, timestamp, signature


def signature_valid(keys: Sequence[Ed25519PublicKey], signature: bytes, message: bytes) -> bool:
    """True when ANY of ``keys`` verifies ``signature`` over ``message``."""
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


def verify_signature(
    *,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    cache: JwksCache,
    fetch: Callable[[], list[Ed25519PublicKey]],
) -> None:
    """Ed25519 against fal's JWKS (cached; refetched once after a failure: key rotation).
    WebhookVerificationError on a missing header, stale timestamp or bad signature;
    ProviderUnavailable when the JWKS cannot be fetched (we answer 5xx: fal retries)."""
    request_id, user_id, timestamp, signature = signed_headers(headers)
    check_webhook_timestamp(timestamp, now=now, header="X-Fal-Webhook-Timestamp")
    message = webhook_message(request_id=request_id, user_id=user_id, timestamp=timestamp, body=body)
    if not signature_valid(cache.get(fetch), signature, message):
        fresh = cache.refresh(fetch)
        if fresh is None or not signature_valid(fresh, signature, message):
            raise WebhookVerificationError("The webhook signature does not match any of fal's keys.")


def fetch_jwks(http: httpx.Client, jwks_url: str) -> list[Ed25519PublicKey]:
    """GET ``jwks_url`` with ``http`` but without our Authorization header (the JWKS is public)."""
    if not jwks_url:
        raise ProviderUnavailable("No fal JWKS URL is configured.", provider=PROVIDER)
    request = http.build_request("GET", jwks_url)
    request.headers.pop("Authorization", None)
    try:
        response = http.send(request)
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"could not fetch fal's JWKS: {exc}", provider=PROVIDER) from exc
    if response.status_code >= 400:
        raise ProviderUnavailable(
            f"fal's JWKS answered HTTP {response.status_code}",
            provider=PROVIDER,
            http_status=response.status_code,
        )
    keys = public_keys_from_jwks(json_answer(response, provider=PROVIDER))
    if not keys:
        raise ProviderUnavailable("fal's JWKS holds no Ed25519 key", provider=PROVIDER)
    return keys


class JwksCache:
    """fal's webhook keys, fetched with ``fetch`` and kept ``ttl_s``; thread-safe. One instance per
    client by default; ``providers.registry`` shares one per JWKS URL (via ``config.extra``) so
    that short-lived clients do not refetch for every webhook."""

    def __init__(
        self,
        *,
        ttl_s: float = JWKS_TTL_S,
        min_refetch_s: float = JWKS_MIN_REFETCH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.min_refetch_s = min_refetch_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[Ed25519PublicKey] = []
        self._fetched_at: float | None = None

    def get(self, fetch: Callable[[], list[Ed25519PublicKey]]) -> list[Ed25519PublicKey]:
        with self._lock:
            if self._fetched_at is None or self._clock() - self._fetched_at > self.ttl_s:
                self._store(fetch())
            return list(self._keys)

    def refresh(self, fetch: Callable[[], list[Ed25519PublicKey]]) -> list[Ed25519PublicKey] | None:
        """Refetch after a failed verification; None when the keys are too fresh to refetch."""
        with self._lock:
            if self._fetched_at is not None and self._clock() - self._fetched_at < self.min_refetch_s:
                return None
            self._store(fetch())
            return list(self._keys)

    def _store(self, keys: list[Ed25519PublicKey]) -> None:
        self._keys = keys
        self._fetched_at = self._clock()
