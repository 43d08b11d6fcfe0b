"""The CLI's progress display on stderr: one bar redrawn in place on a terminal, one line per change
otherwise (logs, pipes, tests)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .types import Job

WIDTH = 28


def _bar(fraction: float | None) -> str:
    if fraction is None:
        return "[" + " " * WIDTH + "]"
    filled = max(0, min(WIDTH, round(fraction * WIDTH)))
    return "[" + "#" * filled + "." * (WIDTH - filled) + "]"


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    value = count / 1024
    for unit in ("KB", "MB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class Progress:
    """Follows a job (``job(...)``) then its download (``download(...)``); ``done()`` ends the line."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._last_key: object = None
        self._drawn = False
        self._moves_shown = 0

    def _emit(self, key: object, text: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        line = f"{text}  {int(elapsed // 60):02d}:{int(elapsed % 60):02d}"
        if self.tty:
            self.stream.write("\r\033[K" + line)
            self._drawn = True
        elif key != self._last_key:
            self.stream.write(line + "\n")
        self._last_key = key
        self.stream.flush()

    def job(self, job: Job) -> None:
        """Show the job's state; a status it passed through between two polls (the timeline has
        every transition) is shown too, in order, so no stage is skipped silently."""
        moves = [e.to_status for e in job.events if e.to_status != e.from_status]
        for passed in moves[self._moves_shown:]:
            if passed != job.status:
                self._emit(passed, f"{_bar(1.0 if passed == 'succeeded' else None)} {passed}")
        self._moves_shown = max(self._moves_shown, len(moves))
        status = job.status
        if status == "queued":
            where = f" (position {job.queue_position})" if job.queue_position is not None else ""
            self._emit((status, job.queue_position), f"{_bar(None)} queued{where}")
        elif status == "running":
            pct = None if job.progress is None else max(0.0, min(1.0, job.progress))
            label = "running" if pct is None else f"running {pct * 100:3.0f}%"
            self._emit((status, None if pct is None else int(pct * 10)), f"{_bar(pct)} {label}")
        elif status == "succeeded":
            self._emit(status, f"{_bar(1.0)} succeeded")
        else:
            self._emit(status, f"{_bar(None)} {status}")

    def download(self, done: int, total: int | None) -> None:
        fraction = done / total if total else None
        label = f"downloading {_size(done)}" + (f" / {_size(total)}" if total else "")
        self._emit(("downloading", None if fraction is None else int(fraction * 4)), f"{_bar(fraction)} {label}")

    def done(self) -> None:
        if self.enabled and self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
