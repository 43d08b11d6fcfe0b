"""Reading what a file really is, and storing it as a tenant's asset: an upload, a file fetched
for a URL input and a decoded data URI all pass here, with the same sniffing, probing and
per-kind size limits (never the name or the declared type)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File

from accounts.actors import Actor
from accounts.models import Tenant
from providers.media import MediaError, ProbeLimits, sniff_and_probe

from .models import Asset


@dataclass(frozen=True)
class ProbedFile:
    """A file read and probed but not stored yet: ``asset`` is unsaved (its id already chosen),
    its bytes are at ``path``."""

    asset: Asset
    path: str


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def largest_asset_bytes() -> int:
    return max(settings.ASSET_MAX_BYTES.values())


def file_probe(*, tenant: Tenant, path: str, original_name: str, field: str) -> ProbedFile:
    """Sniff and probe the file at ``path`` (bounded in time and packets); a file that is empty,
    not a medium we take, or over its kind's limit is a ValidationError naming ``field``."""
    size = os.path.getsize(path)
    if not size:
        raise ValidationError({field: ["The file is empty."]})
    limits = ProbeLimits(time_budget_s=settings.MEDIA_PROBE_TIME_BUDGET_S, max_packets=settings.MEDIA_PROBE_MAX_PACKETS)
    try:
        info = sniff_and_probe(path, limits=limits)
    except MediaError as exc:
        raise ValidationError({field: [str(exc)]}) from exc
    limit = settings.ASSET_MAX_BYTES[info.kind]
    if size > limit:
        raise ValidationError({field: [
            f"This {info.kind} is {human_bytes(size)}; the limit for {info.kind} files is {human_bytes(limit)}."
        ]})
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    asset = Asset(
        tenant=tenant, kind=info.kind, original_name=original_name.replace("\x00", "")[:255],
        extension=info.extension, content_type=info.content_type, size_bytes=size, sha256=digest.hexdigest(),
        width=info.width, height=info.height, duration_s=info.duration_s,
    )
    return ProbedFile(asset=asset, path=path)


def probed_file_store(*, probed: ProbedFile, actor: Actor) -> Asset:
    """Store the file and save its asset row; no stored file is left without its row."""
    asset = probed.asset
    asset.created_by = actor.user
    with open(probed.path, "rb") as fh:
        asset.file.save(f"{asset.id}{asset.extension}", File(fh), save=False)
    try:
        asset.full_clean(exclude=["file"])
        asset.save(force_insert=True)
    except Exception:
        asset.file.delete(save=False)
        raise
    return asset
