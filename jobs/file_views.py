"""Serving files to providers through signed, expiring URLs (local storage only)."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from .models import Asset
from .signed_urls import SignedUrlInvalid, asset_id_from_token


@require_GET
def signed_file_view(request: HttpRequest, token: str, ext: str = "") -> HttpResponse:
    try:
        asset_id = asset_id_from_token(token)
    except SignedUrlInvalid:
        return HttpResponse("This link is invalid or has expired.", status=403, content_type="text/plain")
    # An unscoped lookup is right here: the signature is the authorization, made for this asset.
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    return FileResponse(asset.file.open("rb"), content_type=asset.content_type)
