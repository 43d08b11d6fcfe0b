"""A job's deadline (``cancel_after``, as Replicate's ``Cancel-After``): reading the duration a
job asks for, within the operator's limits, and the moment it becomes. A job not finished by its
deadline is canceled by the poller (``jobs/pipeline/deadline.py``), never charged."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError

_UNITS = {"h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([hms])")


def _limits_text() -> str:
    low, high = settings.JOB_CANCEL_AFTER_MIN_S, settings.JOB_CANCEL_AFTER_MAX_S
    return (f"between {low} and {high} seconds ({high / 3600:g} h): a number of seconds or a duration such as "
            f"\"90s\", \"10m\", \"1h\" or \"1h30m\"")


def cancel_after_seconds(value: object) -> Decimal:
    """The seconds a ``cancel_after`` asks for (None: the operator's maximum, JOB_CANCEL_AFTER_MAX_S).
    Raises a ValidationError on ``cancel_after`` naming the limits."""
    if value is None:
        return Decimal(settings.JOB_CANCEL_AFTER_MAX_S)
    seconds: Decimal | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = Decimal(text) if re.fullmatch(r"\d+(?:\.\d+)?", text) else None
        except InvalidOperation:
            seconds = None
        if seconds is None and text and re.fullmatch(r"(?:\d+(?:\.\d+)?[hms])+", text):
            seconds = sum((Decimal(n) * _UNITS[u] for n, u in _DURATION.findall(text)), Decimal(0))
    if seconds is None or not seconds.is_finite():
        raise ValidationError({"cancel_after": [f"{value!r} is not a duration: give one {_limits_text()}."]})
    if not settings.JOB_CANCEL_AFTER_MIN_S <= seconds <= settings.JOB_CANCEL_AFTER_MAX_S:
        raise ValidationError({"cancel_after": [f"{value!r} is {seconds:g} seconds; it must be {_limits_text()}."]})
    return seconds


def job_deadline(*, created_at: datetime, cancel_after: object) -> datetime:
    """When a job created at ``created_at`` with this ``cancel_after`` is canceled if unfinished."""
    return created_at + timedelta(seconds=float(cancel_after_seconds(cancel_after)))
