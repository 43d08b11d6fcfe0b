"""Rendering a task's video (its picture held over its audio, an MP4) and publishing it as an
output file behind an expiring URL, standing in for the providers' CDN and OSS links."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from .config import EmulatorConfig
from .signing import FileTokens

if TYPE_CHECKING:
    from providers.renderer import RenderResult

FILES_PATH = "/_emulator/files/"


@dataclass(frozen=True)
class RenderPlan:
    """What to render for a task, decided by its provider handler after downloading the inputs."""

    image_path: Path
    audio_path: Path | None
    duration_s: Decimal | None  # None: the audio's length
    resolution: str = "480p"


@dataclass
class OutputFile:
    path: Path
    size: int
    url: str
    expires_at: float
    duration_s: Decimal
    width: int
    height: int
    frames: int
    file_name: str
    content_type: str = "video/mp4"


class Renderer:
    """Renders plans into ``<work_dir>/outputs`` and mints the expiring URLs of the results."""

    def __init__(self, config: EmulatorConfig, *, out_dir: Path, tokens: FileTokens) -> None:
        self._config = config
        self._out_dir = out_dir
        self.tokens = tokens

    def render(self, task_id: str, plan: RenderPlan) -> RenderResult:
        """Render the video; the renderer's MediaError or PyAV's errors when it cannot."""
        from providers.renderer import render_still_video

        self._out_dir.mkdir(parents=True, exist_ok=True)
        return render_still_video(
            image_path=str(plan.image_path),
            audio_path=None if plan.audio_path is None else str(plan.audio_path),
            out_path=str(self._out_dir / f"{task_id}.mp4"),
            duration_s=plan.duration_s,
            resolution=plan.resolution,
            fps=self._config.render_fps,
        )

    def publish(self, task_id: str, result: RenderResult, *, base_url: str, expired: bool) -> OutputFile:
        """The output file of a rendered video, its URL valid for ``output_ttl_s`` (or minted
        already expired, for the ``expired_output`` fault)."""
        path = Path(result.path)
        now = time.time()
        expires_at = now - 1 if expired else now + self._config.output_ttl_s
        token = self.tokens.mint(task_id=task_id, expires_at=expires_at)
        return OutputFile(
            path=path,
            size=path.stat().st_size,
            url=f"{base_url}{FILES_PATH}{token}",
            expires_at=expires_at,
            duration_s=Decimal(result.duration_s),
            width=int(result.width),
            height=int(result.height),
            frames=int(result.frames),
            file_name=f"{task_id}.mp4",
        )
