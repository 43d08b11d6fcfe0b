"""Downloading a task's inputs over HTTP for real (a timeout, a size cap; ``data:`` URIs decoded)
and checking that each is the image, audio or video its field asks for."""

from __future__ import annotations

import base64
import mimetypes
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .config import EmulatorConfig
from .outbound_http import outbound_client
from .tasks import TaskFailure

if TYPE_CHECKING:
    from providers.media import MediaInfo


class Fetcher:
    """Downloads a task's input URLs for real (httpx, with a timeout and a size cap), so the
    platform's signed, expiring asset URLs are exercised; ``data:`` URIs are decoded."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._max = config.max_download_bytes
        self._http = outbound_client(timeout_s=config.download_timeout_s, follow_redirects=True,
                                     headers={"User-Agent": "parley-provider-emulator/1"})

    def close(self) -> None:
        self._http.close()

    def fetch(self, url: Any, *, dest_dir: Path, name: str, field_name: str) -> Path:
        """Download ``url`` into ``dest_dir``; TaskFailure(kind="download") when it cannot."""
        if not isinstance(url, str) or not url:
            raise TaskFailure("download", f"{field_name} is not a URL", field=field_name, url=str(url))
        dest_dir.mkdir(parents=True, exist_ok=True)
        if url.startswith("data:"):
            return self._data_uri(url, dest_dir=dest_dir, name=name, field_name=field_name)
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise TaskFailure("download", f"{field_name}: unsupported URL scheme {scheme or '(none)'!r}",
                              field=field_name, url=url)
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise TaskFailure(
                        "download",
                        f"failed to download {field_name} from {_short(url)}: HTTP {response.status_code}",
                        field=field_name, url=url,
                    )
                suffix = _suffix(response.headers.get("content-type"), urllib.parse.urlsplit(url).path)
                path = dest_dir / f"{name}{suffix}"
                written = 0
                with open(path, "wb") as out:
                    for chunk in response.iter_bytes():
                        written += len(chunk)
                        if written > self._max:
                            raise TaskFailure("download", f"{field_name} is larger than {self._max} bytes",
                                              field=field_name, url=url)
                        out.write(chunk)
        except httpx.HTTPError as exc:
            reason = str(exc) or exc.__class__.__name__
            raise TaskFailure("download", f"failed to download {field_name} from {_short(url)}: {reason}",
                              field=field_name, url=url) from exc
        return path

    def _data_uri(self, url: str, *, dest_dir: Path, name: str, field_name: str) -> Path:
        header, sep, data = url[5:].partition(",")
        if not sep:
            raise TaskFailure("download", f"{field_name}: malformed data URI", field=field_name, url=url[:64])
        media_type = header.split(";")[0] or "application/octet-stream"
        try:
            raw = base64.b64decode(data, validate=False) if header.endswith(";base64") else (
                urllib.parse.unquote_to_bytes(data)
            )
        except ValueError as exc:
            raise TaskFailure("download", f"{field_name}: malformed base64 in data URI", field=field_name,
                              url=url[:64]) from exc
        if len(raw) > self._max:
            raise TaskFailure("download", f"{field_name} is larger than {self._max} bytes", field=field_name)
        path = dest_dir / f"{name}{_suffix(media_type, '')}"
        path.write_bytes(raw)
        return path


def _short(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _suffix(content_type: str | None, url_path: str) -> str:
    ext = Path(url_path).suffix.lower()
    if ext and len(ext) <= 6:
        return ext
    if content_type:
        guessed = mimetypes.guess_extension(content_type.split(";")[0].strip())
        if guessed:
            return guessed
    return ".bin"


def probe_input(path: Path, *, field_name: str, kinds: tuple[str, ...], url: str | None = None) -> MediaInfo:
    """Sniff and probe a downloaded input; TaskFailure(kind="media") when it is not one of ``kinds``."""
    from providers.media import MediaError, sniff_and_probe

    try:
        info = sniff_and_probe(path)
    except MediaError as exc:
        raise TaskFailure("media", f"{field_name}: {exc}", field=field_name, url=url) from exc
    if info.kind not in kinds:
        raise TaskFailure("media", f"{field_name}: expected {' or '.join(kinds)}, got {info.kind}",
                          field=field_name, url=url)
    return info


@dataclass(frozen=True)
class TaskInputs:
    """A task's inputs as its handler's ``plan()`` gets them: fetched into the task's own
    directory (``dir``), removed once the task has run."""

    fetcher: Fetcher
    dir: Path

    def media(self, url: Any, *, name: str, field_name: str, kinds: tuple[str, ...]) -> tuple[Path, MediaInfo]:
        """Download ``url`` as ``<dir>/<name>.<ext>`` and check it is one of ``kinds``
        (TaskFailure ``download`` or ``media`` naming ``field_name`` when not)."""
        path = self.fetcher.fetch(url, dest_dir=self.dir, name=name, field_name=field_name)
        return path, probe_input(path, field_name=field_name, kinds=kinds, url=url)
