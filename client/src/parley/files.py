"""Local files given as job inputs. The rule: a ``parley.File`` or a ``pathlib.Path`` anywhere in a
job's ``input`` (nested lists and objects too) is uploaded as an asset and replaced by the asset's
id; a ``str`` is always sent as it is (an asset id, a URL, a prompt), never guessed to be a path."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import ValidationError

__all__ = ["File", "collect_files", "replace_files"]


@dataclass(frozen=True)
class File:
    """A file to upload: a path, or bytes / a binary file object with a ``filename``.

    ``parley.File("photo.png")`` in a job's input uploads photo.png and sends its asset id."""

    source: str | os.PathLike[str] | bytes | IO[bytes]
    filename: str | None = None

    @property
    def path(self) -> Path | None:
        return Path(os.fspath(self.source)) if isinstance(self.source, str | os.PathLike) else None

    @property
    def name(self) -> str:
        if self.filename:
            return self.filename
        if self.path is not None:
            return self.path.name
        return os.path.basename(getattr(self.source, "name", "") or "") or "upload"

    def opened(self) -> tuple[str, IO[bytes] | _Unclosable | bytes, str]:
        """A fresh (name, content, content type) triple for one multipart attempt: a path is opened
        again each time and a file object rewound, so a retried upload sends the whole file."""
        content_type = mimetypes.guess_type(self.name)[0] or "application/octet-stream"
        source = self.source
        if isinstance(source, str | os.PathLike):
            return self.name, open(source, "rb"), content_type  # noqa: SIM115 - closed by the transport
        if isinstance(source, bytes):
            return self.name, source, content_type
        if source.seekable():
            source.seek(0)
        return self.name, _Unclosable(source), content_type

    def key(self) -> object:
        """Equal for two references to the same local file, so one upload serves both."""
        return ("path", str(self.path.resolve())) if self.path is not None else ("object", id(self.source))


class _Unclosable:
    """A caller's file object lent to an upload: read it, but leave closing it to its owner."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner

    def read(self, *args: Any) -> bytes:
        return self._inner.read(*args)

    def __iter__(self) -> Iterator[bytes]:
        return iter(lambda: self._inner.read(65536), b"")


def _as_file(value: object) -> File | None:
    if isinstance(value, File):
        return value
    if isinstance(value, Path):
        return File(value)
    return None


def collect_files(value: Any, path: str = "input") -> list[tuple[str, File]]:
    """Every (field path, File) in an input, in order; refuses missing paths before any upload, with
    a ValidationError naming each such field, so a typo uploads nothing."""
    found: list[tuple[str, File]] = []

    def walk(node: Any, at: str) -> None:
        marker = _as_file(node)
        if marker is not None:
            found.append((at, marker))
        elif isinstance(node, dict):
            for key, item in node.items():
                walk(item, f"{at}.{key}")
        elif isinstance(node, list | tuple):
            for index, item in enumerate(node):
                walk(item, f"{at}[{index}]")

    walk(value, path)
    missing = {at: [f"No such file: {f.path}"] for at, f in found if f.path is not None and not f.path.is_file()}
    if missing:
        first = next(iter(missing))
        raise ValidationError(f"{first}: {missing[first][0]}", code="invalid", fields=missing)
    return found


def replace_files(value: Any, upload: Callable[[File], str]) -> Any:
    """A copy of ``value`` with every File / Path replaced by ``upload(file)`` (an asset id); the
    same local file referenced twice is uploaded once."""
    collect_files(value)
    done: dict[object, str] = {}

    def swap(node: Any) -> Any:
        marker = _as_file(node)
        if marker is not None:
            key = marker.key()
            if key not in done:
                done[key] = upload(marker)
            return done[key]
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [swap(v) for v in node]
        return node

    return swap(value)
