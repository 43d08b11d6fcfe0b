"""Signatures the emulator produces: WaveSpeed's and fal's webhook signatures, and the expiring
tokens of the output files it serves.

The webhook schemes are the providers' own (``docs/providers/wavespeed.md`` and
``docs/providers/fal.md`` describe them as the platform verifies them), so a client's verification
code is exercised for real against the emulator:

- WaveSpeed (https://wavespeed.ai/docs/docs-api/verifying_webhook): ``webhook-signature: v3,<hex>``,
  HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{raw body}"`` keyed with the account's
  webhook secret *without* its ``whsec_`` prefix, taken as UTF-8 bytes (not Standard Webhooks'
  base64 key).
- fal (https://docs.fal.ai/model-apis/model-endpoints/webhooks): ``X-Fal-Webhook-Signature`` = hex
  ED25519 signature over ``"{request_id}\\n{user_id}\\n{timestamp}\\n{sha256 hex of the raw
  body}"``; the public key is published as a JWKS (``kty OKP``, ``crv Ed25519``, ``x`` base64url
  without padding).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "FalSigner",
    "FileTokens",
    "InvalidToken",
    "fal_signed_message",
    "wavespeed_signature",
]


def wavespeed_signature(*, secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` header value WaveSpeed sends: ``v3,<hex HMAC>``."""
    key = secret.removeprefix("whsec_").encode("utf-8")
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v3," + hmac.new(key, signed, hashlib.sha256).hexdigest()


def fal_signed_message(*, request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """The bytes fal signs: request id, user id, timestamp and the body's SHA-256 hex,
    joined by newlines."""
    return "\n".join([request_id, user_id, timestamp, hashlib.sha256(body).hexdigest()]).encode("utf-8")


class FalSigner:
    """An ED25519 key pair standing in for fal's webhook key, with its JWKS.

    The key is ``private_key`` (32 bytes; other lengths are hashed to 32), fixed so that a restarted
    emulator publishes the same key and a client's cached JWKS stays valid; pass random bytes for
    a fresh key.
    """

    def __init__(self, private_key: bytes) -> None:
        if len(private_key) != 32:
            private_key = hashlib.sha256(private_key).digest()
        self._key = Ed25519PrivateKey.from_private_bytes(private_key)
        self.public_bytes = self._key.public_key().public_bytes(
            encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
        )
        self.kid = hashlib.sha256(self.public_bytes).hexdigest()[:16]

    def sign(self, *, request_id: str, user_id: str, timestamp: str, body: bytes) -> str:
        """Hex signature for the ``X-Fal-Webhook-Signature`` header."""
        message = fal_signed_message(request_id=request_id, user_id=user_id, timestamp=timestamp, body=body)
        return self._key.sign(message).hex()

    def jwks(self) -> dict:
        """The JWKS document served at ``/.well-known/jwks.json`` (fal's shape, an RFC 8037 OKP key)."""
        x = base64.urlsafe_b64encode(self.public_bytes).rstrip(b"=").decode("ascii")
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "use": "sig", "alg": "EdDSA"}]}


class InvalidToken(ValueError):
    """A file token that is malformed, forged or expired (``expired`` tells which)."""

    def __init__(self, message: str, *, expired: bool = False, task_id: str | None = None) -> None:
        super().__init__(message)
        self.expired = expired
        self.task_id = task_id


class FileTokens:
    """HMAC-signed, expiring tokens for ``GET /_emulator/files/<token>``, standing in for a CDN's
    or OSS's signed URLs (ours: the providers' URL formats are their own business)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def mint(self, *, task_id: str, expires_at: float) -> str:
        payload = json.dumps({"t": task_id, "e": round(expires_at, 3)}, separators=(",", ":")).encode()
        encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")
        return f"{encoded}.{self._mac(encoded)}"

    def verify(self, token: str, *, now: float | None = None) -> str:
        """The task id the token names; InvalidToken when forged, malformed or past its expiry."""
        encoded, _, mac = token.partition(".")
        if not encoded or not mac or not hmac.compare_digest(mac, self._mac(encoded)):
            raise InvalidToken("signature does not match")
        try:
            payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
            task_id, expires_at = str(payload["t"]), float(payload["e"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("malformed token") from exc
        if (time.time() if now is None else now) >= expires_at:
            raise InvalidToken("the URL has expired", expired=True, task_id=task_id)
        return task_id

    def _mac(self, encoded: str) -> str:
        return hmac.new(self._key, encoded.encode("ascii"), hashlib.sha256).hexdigest()[:32]
