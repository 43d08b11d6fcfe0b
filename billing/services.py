"""Everything that writes the ledger: the charge of a succeeded job, refunds, credit grants.

Billing prices and records plain values (a tenant, a job's id, its key's id, its model, input and
quote), so the job layer calls billing and billing never imports the job layer. Refunds and
operator grants are the operator's (a staff user), never a tenant's."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from accounts.audit import AuditAction, audit_record
from accounts.models import Tenant, User
from config.errors import RoleForbidden
from providers.catalogue import catalogue_get

from .models import CreditGrant, CreditKind, Refund, UsageRecord
from .money import CURRENCY, to_cents
from .pricing import price_for_tenant


def usage_record_create(
    *,
    tenant: Tenant,
    job_id: uuid.UUID | str,
    model_id: str,
    livemode: bool,
    inputs: Mapping[str, Any],
    quote_amount: Decimal,
    seconds: Decimal,
    input_video_seconds: Decimal = Decimal("0"),
    api_key_id: int | None = None,
) -> UsageRecord:
    """Meter a succeeded job from its delivered video's probed duration; never above its quote.

    Called inside the transaction that marks the job succeeded; the unique constraint on the job
    makes a second call fail instead of charging twice."""
    entry = catalogue_get(model_id=model_id)
    price = price_for_tenant(
        rule=entry.pricing, inputs=inputs, seconds=seconds, price_multiplier=tenant.price_multiplier,
        input_video_seconds=input_video_seconds,
    )
    amount = min(price.amount, quote_amount)
    record = UsageRecord(
        tenant=tenant, job_id=job_id, api_key_id=api_key_id, model_id=model_id, livemode=livemode, seconds=seconds,
        billable_seconds=price.billable_seconds, unit_price=price.unit_price, multiplier=price.multiplier,
        provider_amount=price.provider_amount, price_multiplier=price.price_multiplier, amount=amount,
        capped_by_quote=price.amount > quote_amount, currency=price.currency,
    )
    record.save(force_insert=True)
    return record


def _require_operator(user: User) -> None:
    if not (user.is_active and user.is_staff):
        raise RoleForbidden("Only an operator (a staff user) gives refunds and credit.")


def _amount_clean(amount: Decimal) -> Decimal:
    """A positive amount in whole cents, refused (not rounded) otherwise: the operator typed it."""
    amount = Decimal(amount)
    if amount <= 0:
        raise ValidationError({"amount": f"The amount must be positive; got {amount}."})
    if to_cents(amount) != amount:
        raise ValidationError({"amount": f"The amount must be in whole cents; got {amount}."})
    return amount


def refund_remaining(*, usage_record: UsageRecord) -> Decimal:
    """What can still be refunded of a charge: its amount less its refunds so far."""
    refunded = usage_record.refunds.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return to_cents(usage_record.amount - refunded)  # cents already; SQLite sums decimals as floats


@transaction.atomic
def refund_create(
    *, usage_record_id: int, operator: User, reason: str, amount: Decimal | None = None,
) -> Refund:
    """Give back ``amount`` (all that remains if None) of a charge. The charge's row is locked first,
    so concurrent refunds of one charge queue up and never add up to more than it."""
    _require_operator(operator)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "A refund needs a reason."})
    record = UsageRecord.objects.select_for_update().get(pk=usage_record_id)
    remaining = refund_remaining(usage_record=record)
    if remaining <= 0:
        raise ValidationError({"amount": f"This charge of {record.amount} {record.currency.upper()} is already "
                                         f"refunded in full."})
    amount = _amount_clean(remaining if amount is None else amount)
    if amount > remaining:
        raise ValidationError({"amount": f"A refund of {amount} {record.currency.upper()} is more than what remains "
                                         f"of this charge: {remaining} of {record.amount}."})
    refund = Refund(tenant_id=record.tenant_id, usage_record=record, livemode=record.livemode, amount=amount,
                    currency=record.currency, reason=reason, operator=operator)
    refund.full_clean()
    refund.save(force_insert=True)
    audit_record(operator, record.tenant, AuditAction.REFUND_CREATED,
                 f"{amount} {record.currency.upper()} on job {record.job_id}: {reason}")
    return refund


@transaction.atomic
def credit_grant_create(*, tenant: Tenant, operator: User, amount: Decimal, reason: str) -> CreditGrant:
    """An operator's grant of credit to a tenant (live mode)."""
    _require_operator(operator)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "A credit grant needs a reason."})
    grant = CreditGrant(tenant=tenant, kind=CreditKind.GRANT, amount=_amount_clean(amount), currency=CURRENCY,
                        reason=reason, operator=operator)
    grant.full_clean()
    grant.save(force_insert=True)
    return grant


@transaction.atomic
def credit_allowance_grant(*, tenant: Tenant) -> CreditGrant | None:
    """The free allowance (settings.FREE_ALLOWANCE_USD), granted once per tenant, when it is
    created; None when the allowance is zero or was granted already."""
    amount = to_cents(Decimal(settings.FREE_ALLOWANCE_USD))
    if amount <= 0 or CreditGrant.objects.for_tenant(tenant).filter(kind=CreditKind.ALLOWANCE).exists():
        return None
    grant = CreditGrant(tenant=tenant, kind=CreditKind.ALLOWANCE, amount=amount, currency=CURRENCY,
                        reason="Free allowance for a new tenant.")
    grant.full_clean()
    grant.save(force_insert=True)
    return grant
