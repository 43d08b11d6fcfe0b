"""How the dashboard writes lengths of time and money: in the words a person uses ("6 s",
"2 min 5 s", "0.15 USD"), never "0 minutes" or a bare number."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def seconds(value: Any) -> str:
    """A length in seconds: "0.4 s" and "6 s" under a minute, "2 min 5 s" under an hour, "1 h 3 min"."""
    if value is None or value == "":
        return ""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    try:
        total = Decimal(str(value))
    except InvalidOperation:
        return ""
    if total < 10:
        shown = total.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize()
        return f"{shown:f} s"
    whole = int(total.to_integral_value(rounding=ROUND_HALF_UP))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@register.filter
def run_time(job: Any) -> str:
    """How long the provider has been (or was) at work on the job: from its start to its end, or to
    now while it runs; "" before it started."""
    started: datetime | None = getattr(job, "started_at", None)
    if started is None:
        return ""
    ended: datetime | None = getattr(job, "completed_at", None)
    return seconds(((ended or timezone.now()) - started).total_seconds())


@register.filter
def money(amount: Any, currency: str = "usd") -> str:
    """``0.15|money:"usd"`` -> "0.15 USD": every amount with its currency."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return ""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)} {str(currency or 'usd').upper()}"
