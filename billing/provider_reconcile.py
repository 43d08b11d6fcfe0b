"""Reconciling what providers report with what we measured: a job's output length as the provider
reports (and bills) it against our probe of the delivered video, and the price a provider answers
for a delivered job's inputs against the provider amount we metered. A difference beyond the tolerance
becomes a ``ReconciliationDifference`` row for the operator; nothing is corrected, since our charge
follows our probe and which side is wrong takes a person to judge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from accounts.models import Tenant

from .models import ReconciliationDifference, ReconciliationKind


def provider_duration_tolerance() -> Decimal:
    """``PROVIDER_DURATION_TOLERANCE_S``: a difference up to this many seconds is not listed."""
    return Decimal(str(settings.PROVIDER_DURATION_TOLERANCE_S))


def provider_duration_reconcile(
    *, tenant: Tenant, job_id: UUID | str, model_id: str, ours: Decimal, theirs: Decimal | None
) -> ReconciliationDifference | None:
    """Compare a job's probed output seconds (``ours``) with the provider's (``theirs``; None when
    the provider reports none). Returns the job's difference row, or None when they agree. Called by
    the job layer with plain values; running it again for the same job adds no second row."""
    if theirs is None or abs(Decimal(ours) - Decimal(theirs)) <= provider_duration_tolerance():
        return None
    return _job_difference(tenant=tenant, kind=ReconciliationKind.PROVIDER_DURATION, job_id=job_id,
                           day=timezone.now().date(), model_id=model_id, ours_seconds=ours, theirs_seconds=theirs)


def provider_price_tolerance() -> Decimal:
    """``PROVIDER_PRICE_TOLERANCE``: a price difference up to this amount (the rule's currency, e.g.
    half a cent) is not listed; providers answer prices as JSON floats."""
    return Decimal(str(settings.PROVIDER_PRICE_TOLERANCE))


def provider_price_reconcile(
    *, tenant: Tenant, job_id: UUID | str, model_id: str, day: date, ours: Decimal, theirs: Decimal
) -> ReconciliationDifference | None:
    """Compare the provider amount we metered for a job (``ours``: billable seconds x the rule's
    price x its multipliers, before the tenant's multiplier) with the provider's own price for the
    same inputs (``theirs``). Returns the job's difference row, or None when they agree; running it
    again for the same job adds no second row. ``day`` is the day the job was charged."""
    if abs(Decimal(ours) - Decimal(theirs)) <= provider_price_tolerance():
        return None
    return _job_difference(tenant=tenant, kind=ReconciliationKind.PROVIDER_PRICE, job_id=job_id, day=day,
                           model_id=model_id, ours_amount=Decimal(ours).quantize(Decimal("0.000001")),
                           theirs_amount=Decimal(theirs).quantize(Decimal("0.000001")))


def _job_difference(*, tenant: Tenant, kind: str, job_id: UUID | str, **fields: object) -> ReconciliationDifference:
    """The job's one row of this kind: the one already listed, or a new one with ``fields``."""
    known = ReconciliationDifference.objects.filter(tenant=tenant, kind=kind, job_id=job_id).first()
    if known is not None:
        return known
    difference = ReconciliationDifference(tenant=tenant, kind=kind, job_id=job_id, ours_cents=0, theirs_cents=0,
                                          **fields)
    difference.full_clean()
    difference.save()
    return difference
