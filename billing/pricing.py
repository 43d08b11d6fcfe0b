"""Price arithmetic: a model's PriceRule applied to a duration. Pure functions, no rounding of
money except through ``to_cents`` at the very end of ``price_for_tenant``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from providers.catalogue import PriceRule

from .money import to_cents


@dataclass(frozen=True)
class Price:
    seconds: Decimal  # the video's seconds the price was computed from
    billable_seconds: Decimal  # after increments, minimum and maximum
    unit_price: Decimal  # provider price per billable second, before multipliers
    multiplier: Decimal  # resolution x frames multipliers
    provider_amount: Decimal  # unrounded
    price_multiplier: Decimal  # the tenant's plan multiplier
    amount: Decimal  # what the tenant pays: rounded once, to the cent
    currency: str

    def as_dict(self) -> dict[str, str]:
        return {
            "seconds": str(self.seconds),
            "billable_seconds": str(self.billable_seconds),
            "unit_price": str(self.unit_price),
            "multiplier": str(self.multiplier),
            "provider_amount": str(self.provider_amount),
            "price_multiplier": str(self.price_multiplier),
            "amount": str(self.amount),
            "currency": self.currency,
        }


def billable_seconds(*, rule: PriceRule, seconds: Decimal, input_video_seconds: Decimal = Decimal("0")) -> Decimal:
    total = seconds + (input_video_seconds if rule.bills_input_video else Decimal("0"))
    # Durations are known to the millisecond; round up to whole increments ("per started second").
    total = total.quantize(Decimal("0.001"))
    increments = (total / rule.increment_s).to_integral_value(rounding=ROUND_CEILING)
    total = increments * rule.increment_s
    total = max(total, rule.minimum_s)
    if rule.maximum_s is not None:
        total = min(total, rule.maximum_s)
    return total


def multiplier_parts(*, rule: PriceRule, inputs: Mapping[str, Any]) -> dict[str, Decimal]:
    """Each multiplier the rule applies to these inputs, by name (their product is the multiplier)."""
    parts = {}
    if rule.resolution_field:
        parts["resolution"] = rule.resolution_multipliers.get(str(inputs.get(rule.resolution_field)), Decimal("1"))
    if rule.frames_field and rule.frames_threshold is not None:
        frames = inputs.get(rule.frames_field)
        over = isinstance(frames, int) and frames > rule.frames_threshold
        parts["frames"] = rule.frames_multiplier if over else Decimal("1")
    return parts


def rule_multiplier(*, rule: PriceRule, inputs: Mapping[str, Any]) -> Decimal:
    multiplier = Decimal("1")
    for part in multiplier_parts(rule=rule, inputs=inputs).values():
        multiplier *= part
    return multiplier


def price_breakdown(*, rule: PriceRule, inputs: Mapping[str, Any], price: Price,
                    input_video_seconds: Decimal = Decimal("0")) -> dict[str, Any]:
    """How ``price`` was reached, as decimal strings: the rule, the provider price, each multiplier
    and the tenant's price multiplier (what ``POST /api/v1/quotes`` answers)."""
    return {
        "rule": {
            "per_second": str(rule.per_second), "currency": rule.currency, "increment_s": str(rule.increment_s),
            "minimum_s": str(rule.minimum_s), "maximum_s": None if rule.maximum_s is None else str(rule.maximum_s),
            "bills_input_video": rule.bills_input_video, "source": rule.source,
        },
        "seconds": str(price.seconds),
        "input_video_seconds": str(input_video_seconds),
        "billable_seconds": str(price.billable_seconds),
        "unit_price": str(price.unit_price),
        "multipliers": {name: str(value) for name, value in multiplier_parts(rule=rule, inputs=inputs).items()},
        "multiplier": str(price.multiplier),
        "provider_amount": str(price.provider_amount),
        "price_multiplier": str(price.price_multiplier),
        "amount": str(price.amount),
    }


def price_for_tenant(
    *,
    rule: PriceRule,
    inputs: Mapping[str, Any],
    seconds: Decimal,
    price_multiplier: Decimal,
    input_video_seconds: Decimal = Decimal("0"),
) -> Price:
    """The one price computation, used for quotes and for charges alike."""
    billable = billable_seconds(rule=rule, seconds=seconds, input_video_seconds=input_video_seconds)
    multiplier = rule_multiplier(rule=rule, inputs=inputs)
    provider_amount = billable * rule.per_second * multiplier
    return Price(
        seconds=seconds,
        billable_seconds=billable,
        unit_price=rule.per_second,
        multiplier=multiplier,
        provider_amount=provider_amount,
        price_multiplier=Decimal(price_multiplier),
        amount=to_cents(provider_amount * Decimal(price_multiplier)),
        currency=rule.currency,
    )
