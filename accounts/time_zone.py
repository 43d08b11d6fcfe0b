"""The viewer's time zone: the dashboard's script stores the browser's zone in the ``tz`` cookie
(static/js/parley.js) and every page shows times in it; an unknown or missing zone means UTC."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "tz"


@lru_cache(maxsize=512)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def viewer_time_zone(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The zone the ``tz`` cookie names, when it is a real IANA zone (never a path or a long string)."""
    name = unquote(request.COOKIES.get(COOKIE, ""))
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    return _zone(name)


class TimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = viewer_time_zone(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
