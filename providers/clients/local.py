"""The local renderer behind the provider interface: it renders during ``submit``, in the
worker, and answers an already finished task whose video is a file on this machine."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlparse

import httpx

from ..media import MediaError
from ..renderer import render_still_video
from .base import ProviderClient
from .errors import ProviderRejected, ProviderUnavailable
from .results import CancelResult, ClientConfig, PollResult, Submission


class LocalClient(ProviderClient):
    provider = "local"

    def __init__(self, config: ClientConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config or ClientConfig(base_url="", api_key=""), **kwargs)

    def auth_headers(self) -> dict[str, str]:
        return {}

    def submit(self, *, model_path: str, inputs: Mapping[str, Any], webhook_url: str | None = None) -> Submission:
        workdir = tempfile.mkdtemp(prefix="parley-local-")
        try:
            image = self._fetch(inputs["image"], os.path.join(workdir, "image"))
            audio = self._fetch(inputs["audio"], os.path.join(workdir, "audio"))
            out = os.path.join(workdir, "output.mp4")
            render_still_video(image_path=image, audio_path=audio, out_path=out,
                               resolution=inputs.get("resolution", "480p"))
        except MediaError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise ProviderRejected(str(exc), provider=self.provider) from exc
        except Exception:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        request_id = f"local-{uuid.uuid4()}"
        video_url = "file://" + out
        return Submission(
            request_id=request_id,
            handle={"request_id": request_id, "video_url": video_url},
            result=PollResult(state="succeeded", video_url=video_url),
        )

    def status(self, *, handle: Mapping[str, Any]) -> PollResult:
        return PollResult(state="succeeded", video_url=handle["video_url"])

    def cancel(self, *, handle: Mapping[str, Any]) -> CancelResult:
        return CancelResult(status="already rendered")

    def _fetch(self, url: str, dest: str) -> str:
        """A local path for ``url``: a file:// URL as is, an http(s) URL (S3) downloaded."""
        parsed = urlparse(url)
        if parsed.scheme == "file":
            return unquote(parsed.path)
        try:
            with self._http.stream("GET", url) as response:
                response.raise_for_status()
                with open(dest, "wb") as fh:
                    for chunk in response.iter_bytes():
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"could not read an input: {exc}", provider=self.provider) from exc
        return dest
