"""Short-lived URLs through which a provider fetches a tenant's asset. With S3 storage they are
the bucket's own presigned URLs; with local storage they point at ``signed_file_view``, which
checks the signature and the expiry."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Asset

_SALT = "parley.asset-url"


class SignedUrlInvalid(Exception):
    pass


def asset_signed_url(*, asset: Asset, ttl_s: int | None = None) -> str:
    ttl = ttl_s or settings.SIGNED_URL_TTL_S
    if settings.STORAGE_BACKEND == "s3":
        return asset.file.storage.url(asset.file.name, expire=ttl)
    token = signing.dumps({"a": str(asset.id), "t": ttl}, salt=_SALT)
    return settings.PUBLIC_BASE_URL + reverse("signed-file", kwargs={"token": token}) + asset.extension


def asset_id_from_token(token: str) -> str:
    """The asset id a token grants, or SignedUrlInvalid if it is forged or has expired."""
    try:
        unsigned = signing.loads(token, salt=_SALT, max_age=None)
        payload = signing.loads(token, salt=_SALT, max_age=int(unsigned["t"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise SignedUrlInvalid(str(exc)) from exc
    return payload["a"]
