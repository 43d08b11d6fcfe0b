"""Monthly spend limits: setting them, checking a live job's quote against them, settling the
reservation when the job ends, and the 80% / 100% emails to the tenant's owners.

A reservation is checked and taken inside the transaction that creates the job, while the
tenant's live creations are serialized on its row (``admission.live_job_admission``). Two
concurrent creations therefore never both see room that only one of them fits in."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.audit import AuditAction, audit_record
from accounts.models import ApiKey, Membership, Role, Tenant
from config.errors import ParleyError

from .models import Budget, Reservation, ReservationState
from .selectors import budget_amounts, month_start

ALERT_THRESHOLDS = (Decimal("0.8"), Decimal("1"))


class BudgetExceeded(ParleyError):
    """A live job whose quote does not fit in what is left of a monthly limit."""

    status_code = 402
    code = "budget_exceeded"

    def __init__(self, message: str, *, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


def budget_set(
    *, tenant: Tenant, actor: Actor, monthly_limit: Decimal | None, api_key_id: int | None = None
) -> Budget:
    """Set (or clear, with None) the tenant's monthly limit, or one of its API keys'. Owners only."""
    actor.require(Role.OWNER)
    if monthly_limit is not None and monthly_limit < 0:
        raise ValidationError({"monthly_limit": ["The limit cannot be negative."]})
    with transaction.atomic():
        if api_key_id is None:
            budget, _ = Budget.objects.select_for_update().get_or_create(tenant=tenant, api_key=None)
        else:
            key = ApiKey.objects.for_tenant(tenant).get(pk=api_key_id)  # another tenant's key: 404
            budget, _ = Budget.objects.select_for_update().get_or_create(tenant=tenant, api_key=key)
        was = budget.monthly_limit
        budget.monthly_limit = monthly_limit
        budget.full_clean()
        budget.save()
        if was != monthly_limit:
            scope = "the team's" if api_key_id is None else f"key {api_key_id}'s"
            audit_record(actor, tenant, AuditAction.TENANT_SETTINGS_CHANGED,
                         f"{scope} monthly limit: {was if was is not None else 'none'} -> "
                         f"{monthly_limit if monthly_limit is not None else 'none'}")
    return budget


def budget_reservation(
    *, tenant: Tenant, job_id: uuid.UUID, api_key_id: int | None, amount: Decimal, currency: str,
    budgets: list[Budget],
) -> Reservation:
    """Check that a live job's quote fits in each of ``budgets`` (the tenant's, then its key's;
    BudgetExceeded if not) and return the reservation that holds it, unsaved. Called by
    ``admission.live_job_admission``, which read the budgets under the lock that serializes the
    tenant's live creations; the caller inserts the reservation before the commit that releases it."""
    now = timezone.now()
    month = month_start(now)
    for budget in budgets:
        limit = budget.effective_limit
        if limit is None:
            continue
        spend, reserved = budget_amounts(tenant=tenant, api_key_id=budget.api_key_id, since=month)
        if spend + reserved + amount > limit:
            scope = "this API key's" if budget.api_key_id else "the team's"
            raise BudgetExceeded(
                f"This job's quote ({amount} {currency.upper()}) does not fit in {scope} monthly limit of "
                f"{limit} {budget.currency.upper()}: {spend} spent and {reserved} reserved by unfinished jobs "
                f"this month. Raise the limit (PUT /api/v1/budget, owners) or wait for next month.",
                details={"scope": "api_key" if budget.api_key_id else "tenant", "limit": str(limit),
                         "spend": str(spend), "reserved": str(reserved), "quote": str(amount),
                         "currency": budget.currency},
            )
        _alert_if_crossed(budget=budget, limit=limit, committed=spend + reserved + amount, month=month.date())
    return Reservation(tenant=tenant, job_id=job_id, api_key_id=api_key_id, amount=amount, currency=currency)


def budget_settle(*, job_id: uuid.UUID | str, succeeded: bool) -> None:
    """A job reached a final status: its reservation becomes its charge (the usage record written in
    the same transaction is what is counted from then on) or is released. No reservation (a test-mode
    job, or one created before budgets existed): nothing to do; settling twice changes nothing."""
    Reservation.objects.filter(job_id=job_id, state=ReservationState.RESERVED).update(
        state=ReservationState.CHARGED if succeeded else ReservationState.RELEASED, settled_at=timezone.now(),
    )


def _alert_if_crossed(*, budget: Budget, limit: Decimal, committed: Decimal, month: Any) -> None:
    """Email the owners once per month when spend plus reservations reaches 80%, and once at 100%
    (crossing both at once sends only the 100% one). The caller holds the lock on the tenant's live
    creations, so two creations never both send it."""
    if limit <= 0:
        return
    share = committed / limit
    updates = []
    if share >= ALERT_THRESHOLDS[1] and budget.alerted_100_month != month:
        budget.alerted_100_month = budget.alerted_80_month = month
        updates, percent = ["alerted_100_month", "alerted_80_month"], 100
    elif share >= ALERT_THRESHOLDS[0] and budget.alerted_80_month != month and budget.alerted_100_month != month:
        budget.alerted_80_month = month
        updates, percent = ["alerted_80_month"], 80
    if not updates:
        return
    budget.save(update_fields=updates)
    recipients = list(
        Membership.objects.for_tenant(budget.tenant_id).filter(role=Role.OWNER)
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return
    scope = f"the API key {budget.api_key.prefix}…" if budget.api_key_id else "your team"
    subject = f"Parley: {percent}% of the monthly limit of {scope} is used"
    body = (
        f"{scope[0].upper()}{scope[1:]} has used {committed} {budget.currency.upper()} of its monthly limit of "
        f"{limit} {budget.currency.upper()} ({percent}% reached; counting jobs still running).\n\n"
        + ("New live jobs are refused until the limit is raised or the month ends.\n"
           if percent == 100 else "New live jobs are refused once the limit is reached.\n")
        + "The limit is on the dashboard's Billing page.\n"
    )
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients))
