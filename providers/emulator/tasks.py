"""A task as the emulator keeps it, provider-neutral: its states, why it failed, and the time
format of its log lines. Each provider handler translates a ``Task`` into its own wire words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .rendering import OutputFile

TaskState = Literal["queued", "running", "succeeded", "failed", "canceled"]
FINAL_STATES: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})


class TaskFailure(Exception):
    """Why a task failed, provider-neutral; each handler renders it in its provider's shape.

    ``kind``: ``download`` (an input URL could not be fetched), ``media`` (the file is not a
    usable image/audio/video), ``limit`` (e.g. audio longer than the model takes), ``fault``
    (injected with ``fail_task``), ``render`` (the renderer failed), ``canceled``.
    """

    def __init__(self, kind: str, message: str, *, field: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field
        self.url = url

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "field": self.field, "url": self.url}


@dataclass(eq=False)
class Task:
    id: str
    provider: str
    model: str
    input: dict[str, Any]
    params: dict[str, Any]
    webhook_url: str | None
    seq: int
    created_at: float
    created_mono: float
    state: TaskState = "queued"
    started_at: float | None = None
    started_mono: float | None = None
    finished_at: float | None = None
    cancel_requested: bool = False
    force_fail: bool = False
    deleted: bool = False
    failure: TaskFailure | None = None
    output: OutputFile | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def inference_ms(self) -> int:
        if self.started_at is None or self.finished_at is None:
            return 0
        return int((self.finished_at - self.started_at) * 1000)


def iso_utc(ts: float) -> str:
    """``2023-04-01T12:34:56.789Z``: WaveSpeed's ``created_at`` and the time of fal's log lines."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
