"""What a job hands its provider: the input with asset ids turned into URLs the provider can
fetch, and the URL the provider reports back to."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from providers.catalogue import catalogue_get

from ..models import Asset, Job
from ..signed_urls import asset_signed_url

_WEBHOOK_TOKEN_SALT = "parley.jobs.provider-webhook"


def resolved_inputs(*, job: Job) -> dict[str, Any]:
    """The job's input with every asset id replaced by a URL the provider can fetch."""
    entry = catalogue_get(model_id=job.model_id)
    data = {k: (list(v) if isinstance(v, list) else v) for k, v in job.input.items()}
    assets = {str(a.id): a for a in job.assets.all()}

    def url_for(asset_id: str) -> str:
        asset = assets.get(str(asset_id))
        if asset is None:
            raise Asset.DoesNotExist(f"asset {asset_id} no longer exists")
        if job.provider == "local" and settings.STORAGE_BACKEND != "s3":
            return "file://" + asset.file.path
        return asset_signed_url(asset=asset)

    for slot in entry.asset_slots:
        if "[]." in slot.path:
            list_name, key = slot.path.split("[].", 1)
            data[list_name] = [
                {**item, key: url_for(item[key])} if isinstance(item, dict) and item.get(key) else item
                for item in data.get(list_name, [])
            ]
        elif data.get(slot.path):
            data[slot.path] = url_for(data[slot.path])
    return data


def webhook_url_for(job: Job) -> str | None:
    """Where the provider reports the job's end, or None when the model's provider sends no webhooks.

    The mode in the URL tells which keys verify it (the emulator's or the real provider's); the
    job's id and token let a task whose submit answer was lost report itself to its job."""
    entry = catalogue_get(model_id=job.model_id)
    if not entry.capabilities.webhook:
        return None
    mode = "emulator" if job.emulated else "live"
    kwargs = {"provider": job.provider, "mode": mode, "job_id": job.pk, "token": job_webhook_token(job_id=job.pk)}
    return settings.PUBLIC_BASE_URL + reverse("provider-job-webhook", kwargs=kwargs)


def job_webhook_token(*, job_id: object) -> str:
    """The token in a job's webhook URL: an HMAC of its id under SECRET_KEY, so that only we can
    name a job in a provider's callback (its signature is still checked)."""
    return salted_hmac(_WEBHOOK_TOKEN_SALT, str(job_id), algorithm="sha256").hexdigest()[:32]


def job_webhook_token_valid(*, job_id: object, token: str) -> bool:
    return constant_time_compare(job_webhook_token(job_id=job_id), token)
