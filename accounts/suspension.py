"""An operator's suspension of a tenant: ``tenant_suspend`` / ``tenant_unsuspend`` (the console's
actions), and ``tenant_usable_check``, which the services that start new work (``job_create``) call
first. A suspended tenant's new jobs are refused at once (403 ``tenant_suspended``); jobs already
running are left to finish, and everything can still be read."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from config.errors import ParleyError

from .audit import AuditAction, audit_record
from .models import Tenant, User


class TenantSuspended(ParleyError):
    """The tenant may not start new work: suspended by an operator, or deleted by its owner."""

    status_code = 403
    code = "tenant_suspended"


def tenant_usable_check(*, tenant: Tenant) -> None:
    """Raise TenantSuspended if the tenant is suspended or deactivated. Reads the tenant as the
    request loaded it (with its API key, or with the dashboard's membership, at the start of this
    very request), so a suspension takes effect on the next request without a query of its own.
    Callers outside a request pass a tenant they have just read."""
    if tenant.deactivated_at is not None:
        raise TenantSuspended("This team was deleted; it can no longer start jobs.", code="tenant_deactivated")
    if tenant.suspended_at is not None:
        reason = tenant.suspension_reason or "no reason was given"
        raise TenantSuspended(
            f"This team is suspended ({reason}), so new jobs are refused; jobs already running will finish. "
            "Contact support to have it reinstated."
        )


def _require_operator(operator: User) -> None:
    if not (operator.is_active and operator.is_staff):
        raise PermissionDenied("Only an operator (staff) can suspend or reinstate a tenant.")


@transaction.atomic
def tenant_suspend(*, tenant: Tenant, operator: User, reason: str) -> Tenant:
    """Suspend a tenant with a reason the tenant is shown. Suspending a suspended tenant updates
    the reason."""
    _require_operator(operator)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "A suspension needs a reason (the tenant is shown it)."})
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    tenant.suspended_at = tenant.suspended_at or timezone.now()
    tenant.suspension_reason = reason[:500]
    tenant.save(update_fields=["suspended_at", "suspension_reason"])
    audit_record(operator, tenant, AuditAction.TENANT_SUSPENDED, f"reason: {reason}")
    return tenant


@transaction.atomic
def tenant_unsuspend(*, tenant: Tenant, operator: User) -> Tenant:
    """Lift a suspension (lifting none changes nothing and records nothing)."""
    _require_operator(operator)
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.suspended_at is not None:
        was = tenant.suspension_reason
        tenant.suspended_at = None
        tenant.suspension_reason = ""
        tenant.save(update_fields=["suspended_at", "suspension_reason"])
        audit_record(operator, tenant, AuditAction.TENANT_UNSUSPENDED, f"was suspended: {was}")
    return tenant
