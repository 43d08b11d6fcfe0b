"""The audit log: ``audit_record`` writes one ``AuditEvent`` (who did what, to what, in which
tenant, from which address); ``audit_list`` reads a tenant's.

Services call ``audit_record`` in their own transaction, so an event exists exactly when the change
it describes was committed. The address is the request's: ``ActiveTenantMiddleware`` puts it in a
context variable for the length of each request (dashboard and API alike), so services need no
``request`` parameter; worker tasks and management commands have none (``ip`` is then null).
Other apps (webhooks, billing, jobs) call ``audit_record`` with their own ``action`` words."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.db.models import QuerySet

from .actors import Actor
from .models import AuditEvent, Membership, Tenant, User


class AuditAction:
    """The actions recorded today; a plain string is accepted too (another app's own words)."""

    SIGNED_IN = "signed_in"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    MEMBER_INVITED = "member.invited"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_ACCEPTED = "invitation.accepted"
    INVITATION_DECLINED = "invitation.declined"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    MEMBER_LEFT = "member.left"
    OWNERSHIP_TRANSFERRED = "team.ownership_transferred"
    TEAM_RENAMED = "team.renamed"
    TEAM_DELETED = "team.deleted"
    TENANT_SUSPENDED = "tenant.suspended"
    TENANT_UNSUSPENDED = "tenant.unsuspended"
    TENANT_SETTINGS_CHANGED = "tenant.settings_changed"
    JOB_CANCELED = "job.canceled"
    REFUND_CREATED = "refund.created"
    WEBHOOK_ENDPOINT_CHANGED = "webhook_endpoint.changed"


# The address of the request being served (set and reset by ActiveTenantMiddleware).
request_ip: ContextVar[str | None] = ContextVar("parley_request_ip", default=None)


def _actor_fields(actor: Actor | User | str | None) -> dict[str, Any]:
    if actor is None:
        return {"actor_label": "system"}
    if isinstance(actor, str):  # someone known only by what they hold (an invitation link's address)
        return {"actor_label": actor}
    if isinstance(actor, User):  # an operator in the console, or a person outside any tenant
        return {"actor_user_id": actor.pk, "actor_label": f"operator {actor.email}" if actor.is_staff else actor.email}
    if actor.api_key is not None:  # a key acts for the person who made it (None: the system's key)
        return {"actor_user_id": actor.api_key.created_by_id, "actor_api_key_id": actor.api_key.pk,
                "actor_label": actor.label}
    return {"actor_user_id": actor.user.pk if actor.user else None, "actor_label": actor.label}


def audit_record(
    actor: Actor | User | str | None, tenant: Tenant | None, action: str, target: str = "", ip: str | None = None,
) -> AuditEvent:
    """Record that ``actor`` did ``action`` to ``target`` (a short description: "key CI (prl_live_ab…)",
    "bob@example.com: member -> admin") in ``tenant``. ``ip`` defaults to the current request's."""
    return AuditEvent.objects.create(
        tenant=tenant, action=action, target=str(target)[:300], ip=ip if ip is not None else request_ip.get(),
        **_actor_fields(actor),
    )


def audit_list(*, tenant: Tenant) -> QuerySet[AuditEvent]:
    """The tenant's events, newest first."""
    return AuditEvent.objects.filter(tenant=tenant).order_by("-created_at", "-id")


def audit_signed_in(*, user: User, ip: str | None) -> None:
    """A sign-in, recorded in each of the user's teams (so their admins see it), or once without a
    tenant for someone in none (an operator)."""
    tenant_ids = list(Membership.objects.filter(user=user, tenant__deactivated_at__isnull=True)
                      .values_list("tenant_id", flat=True))
    for tenant_id in tenant_ids or [None]:
        AuditEvent.objects.create(tenant_id=tenant_id, action=AuditAction.SIGNED_IN, target=user.email, ip=ip,
                                  **_actor_fields(user))
