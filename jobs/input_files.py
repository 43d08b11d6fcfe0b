"""File inputs given as an https URL or a data: URI instead of an asset id. A URL is fetched
through the outbound-URL policy (outbound/policy.py), a data URI decoded (at most
DATA_URI_MAX_BYTES); either file is then sniffed and probed exactly as an upload, so that the
job's validation sees an asset like any other. ``job_create`` stores them as new assets of the
tenant together with the job; a refused job leaves none behind."""

from __future__ import annotations

import base64
import binascii
import os
import tempfile
import time
from collections.abc import Mapping
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

from accounts.models import Tenant
from outbound.policy import OutboundURLRefused, outbound_fetch, outbound_url_check
from providers.catalogue import ModelEntry

from .asset_files import ProbedFile, file_probe, human_bytes, largest_asset_bytes
from .input_paths import below_input
from .models import Asset
from .validation import slot_values


class InputFileRefused(Exception):
    """A URL or data URI we will not turn into a file; the message says why, for a person."""


def is_file_reference(value: object) -> bool:
    """A value that names a file by URL or carries it (data URI), rather than an asset id."""
    return isinstance(value, str) and value[:8].lower().startswith(("https://", "http://", "data:"))


class InputWorkdir:
    """The temporary folder the fetched and decoded files of one request live in, made only when a
    file is: the usual job, of uploaded assets, touches no disk (a folder made and removed per
    creation cost more than its SQL). Removed with everything in it on leaving the ``with``."""

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> InputWorkdir:
        return self

    def __exit__(self, *_: object) -> None:
        if self._folder is not None:
            self._folder.cleanup()

    @property
    def path(self) -> str:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="parley-inputs-")
        return self._folder.name


def input_files_fetch(*, entry: ModelEntry, tenant: Tenant, raw_input: object,
                      workdir: InputWorkdir) -> dict[str, ProbedFile]:
    """Fetch or decode each file reference in ``raw_input`` into ``workdir`` and probe it; answers
    the probed files by concrete path (``audio``, ``media[1].url``). Every refusal is reported at
    once, as a ValidationError naming ``input.<path>``."""
    if not isinstance(raw_input, dict):
        return {}
    deadline = time.monotonic() + settings.OUTBOUND_FETCH_TOTAL_S
    fetched: dict[str, ProbedFile] = {}
    errors: dict[str, list[str]] = {}
    for slot in entry.asset_slots:
        for concrete, value, _holder in slot_values(slot, raw_input):
            if not is_file_reference(value):
                continue
            path = below_input(concrete)
            dest = os.path.join(workdir.path, f"input-{len(fetched) + len(errors)}")
            try:
                name = input_file_read(value, dest, deadline=deadline)
                fetched[concrete] = file_probe(tenant=tenant, path=dest, original_name=name, field=path)
            except InputFileRefused as exc:
                errors.setdefault(path, []).append(str(exc))
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return fetched


def input_file_read(value: str, dest: str, *, deadline: float) -> str:
    """Write the file ``value`` names or carries to ``dest``; answers a name for it."""
    if value[:5].lower() == "data:":
        return _data_uri_decode(value, dest)
    return _url_fetch(value, dest, deadline=deadline)


def _url_fetch(url: str, dest: str, *, deadline: float) -> str:
    largest = largest_asset_bytes()
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise InputFileRefused(f"Not fetched: this request's URL inputs took longer than "
                               f"{settings.OUTBOUND_FETCH_TOTAL_S:g} s in all.")
    try:
        outbound_url_check(url, require_https=True)
        outbound_fetch(url, dest, max_bytes=largest, timeout=settings.OUTBOUND_FETCH_TIMEOUT_S,
                       total_timeout=remaining, require_https=True)
    except OutboundURLRefused as exc:
        if exc.code == "too_large":
            raise InputFileRefused(f"The file at this URL is larger than {human_bytes(largest)}, the limit.") from exc
        raise InputFileRefused(f"Cannot fetch this URL: {exc.message}.") from exc
    except httpx.HTTPStatusError as exc:
        raise InputFileRefused(f"Cannot fetch this URL: it answered HTTP {exc.response.status_code}.") from exc
    except httpx.HTTPError as exc:
        raise InputFileRefused(f"Cannot fetch this URL: {exc or exc.__class__.__name__}.") from exc
    return unquote(os.path.basename(urlsplit(url).path)) or (urlsplit(url).hostname or "")


def _data_uri_decode(value: str, dest: str) -> str:
    """``data:[<type>][;base64],<data>``; the declared type is ignored (the content is sniffed)."""
    cap = settings.DATA_URI_MAX_BYTES
    meta, comma, payload = value[5:].partition(",")
    if not comma:
        raise InputFileRefused("Is not a valid data: URI (no comma before the data).")
    is_base64 = meta.lower().endswith(";base64")
    approx = len(payload) * 3 // 4 if is_base64 else len(payload) // 3
    if approx > cap:
        raise InputFileRefused(f"The data: URI holds more than {human_bytes(cap)}, the limit for data URIs; "
                               "upload the file or give an https URL.")
    try:
        data = base64.b64decode("".join(payload.split()), validate=True) if is_base64 else unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as exc:
        raise InputFileRefused(f"Is not a valid data: URI ({exc}).") from exc
    if len(data) > cap:
        raise InputFileRefused(f"The data: URI holds {human_bytes(len(data))}; the limit for data URIs is "
                               f"{human_bytes(cap)}. Upload the file or give an https URL.")
    with open(dest, "wb") as fh:
        fh.write(data)
    return "data-uri"


def fetched_assets(fetched: Mapping[str, ProbedFile]) -> dict[str, Asset]:
    """The unsaved assets by concrete path, as ``job_input_validate`` takes them."""
    return {path: probed.asset for path, probed in fetched.items()}
