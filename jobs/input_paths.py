"""Paths into a job's input, as errors and pages name them (``input.media[1].url``): written and read here only.

A path is a list of parts: a key (``str``) or a list index (``int``). Written out, a key follows a
dot and an index sits in brackets; under ``root`` (``"input"`` for the API's error paths, ``""``
for a path relative to the input, as the catalogue's checks and ``assets_by_path`` use them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PathPart = str | int

INPUT = "input"  # the root of the paths an API error names

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def format_path(parts: Sequence[PathPart], *, root: str = INPUT) -> str:
    """``["media", 1, "url"]`` -> ``input.media[1].url`` (``media[1].url`` with ``root=""``). A key
    that cannot be encoded is shown escaped, so that an error naming it can itself be sent."""
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part.encode("utf-8", "backslashreplace").decode("utf-8")
            out += f".{key}" if out else key
    return out


def parse_path(path: str, *, root: str = INPUT) -> list[PathPart] | None:
    """``input.media[1].url`` -> ``["media", 1, "url"]``; None when ``path`` is not below ``root``
    (``[]`` for the root itself)."""
    if root:
        if path == root:
            return []
        if not path.startswith(root + "."):
            return None
        path = path[len(root) + 1:]
    return [name if name else int(index) for name, index in _PART.findall(path)]


def below_input(path: str) -> str:
    """A path relative to the input (``media[1].url``) as an API error names it; one already under
    ``input`` is kept."""
    if path == INPUT or path.startswith((INPUT + ".", INPUT + "[")):
        return path
    return f"{INPUT}.{path}"
