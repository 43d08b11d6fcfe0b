"""``@idempotent``: the Idempotency-Key header on the API's creating POSTs (Stripe's semantics).

A request carrying ``Idempotency-Key`` claims the key in its tenant and mode before the endpoint
runs. A repeat with the same method, path and body gets the first answer again (status and body)
with ``Idempotent-Replayed: true``; a concurrent repeat waits for that answer. The same key with a
different request is a 409 naming the key.

Kept for repeats: 2xx answers and 400 (the body was refused: the same body always will be).
Not kept, so a retry runs the endpoint again: 5xx (and exceptions), and other 4xx, whose cause
may pass (402 budget or payment, 403 role, 404, 409 conflict, 413, 429). A request refused before
the endpoint runs (401, 429 rate limit, an unparseable body, an invalid key) claims nothing."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .keys import idempotency_claim, idempotency_complete, idempotency_release

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX_LENGTH = 255
PARAMETER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, location=OpenApiParameter.HEADER, required=False,
    description="Makes a retry safe: a repeat with the same key and body answers the first answer again "
                "(with `Idempotent-Replayed: true`); the key with a different request is a 409. Kept 24 h, "
                "per team and mode; 1 to 255 printable ASCII characters (a UUID).")


def _key_of(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > KEY_MAX_LENGTH or not key.isprintable() or not key.isascii():
        raise ValidationError({HEADER: [f"The key must be 1 to {KEY_MAX_LENGTH} printable ASCII characters "
                                        f"(a UUID is a good key)."]})
    return key


def request_fingerprint(request: Request) -> str:
    """SHA-256 of what makes two requests the same: the method, the path with its query, and the
    body: a JSON body as its canonical JSON (key order and spacing do not count), a multipart or
    form body as its fields and each file's name and content (the boundary does not count)."""
    digest = hashlib.sha256(f"{request.method} {request.get_full_path()}\n".encode())
    if request.content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        fields = sorted((name, value) for name in request.POST for value in request.POST.getlist(name))
        digest.update(json.dumps(fields).encode())
        for name in sorted(request.FILES):
            for upload in request.FILES.getlist(name):
                content = hashlib.sha256()
                for chunk in upload.chunks():  # chunks() starts at the beginning; the view reads it again
                    content.update(chunk)
                digest.update(json.dumps([name, upload.name, content.hexdigest()]).encode())
    else:
        digest.update(json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str).encode())
    return digest.hexdigest()


def _kept(status_code: int) -> bool:
    return 200 <= status_code < 300 or status_code == 400


def _body_of(response: HttpResponseBase) -> bytes:
    if isinstance(response, Response):  # not rendered yet: rendered as DRF will render it
        return b"" if response.data is None else JSONRenderer().render(response.data)
    return response.content


def idempotent(method: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Decorate a creating API view's ``post`` (a ``TenantApi``: the tenant and mode are known)."""

    @functools.wraps(method)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        key = _key_of(request)
        if key is None:
            return method(view, request, *args, **kwargs)
        claim = idempotency_claim(tenant=request.tenant, livemode=request.actor.livemode, key=key,
                                  fingerprint=request_fingerprint(request), method=request.method,
                                  path=request.get_full_path())
        if not claim.owned:
            replay = HttpResponse(claim.body, status=claim.status_code, content_type="application/json")
            replay[REPLAYED_HEADER] = "true"
            return replay
        try:
            try:
                response = method(view, request, *args, **kwargs)
            except Exception as exc:
                response = view.handle_exception(exc)  # the error's answer, as DRF would give it
        except BaseException:
            idempotency_release(claim=claim)
            raise
        if _kept(response.status_code):
            idempotency_complete(claim=claim, status_code=response.status_code, body=_body_of(response))
        else:
            idempotency_release(claim=claim)
        return response

    return extend_schema(parameters=[PARAMETER])(wrapper)
