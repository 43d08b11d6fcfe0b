"""Cursor pages: the API answers ``{next, previous, results}`` with ``next`` a URL holding ``cursor``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from .types import Page

T = TypeVar("T")


def cursor_of(link: str | None) -> str | None:
    """The ``cursor`` parameter of a next/previous link (the client calls its own base URL, so a
    proxy's host in the link does not matter)."""
    if not link:
        return None
    values = parse_qs(urlsplit(link).query).get("cursor")
    return values[0] if values else None


def page_of(body: dict[str, Any], build: Callable[[dict[str, Any]], T]) -> Page[T]:
    return Page(results=[build(item) for item in body.get("results") or []], next_cursor=cursor_of(body.get("next")),
                previous_cursor=cursor_of(body.get("previous")))
