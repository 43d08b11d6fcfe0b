"""Reads of tenants, memberships and keys, always from a tenant or a user."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Model, QuerySet, Value, When

from .models import ROLE_RANK, ApiKey, Membership, Tenant, User


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    return (Membership.objects.filter(user=user, tenant__deactivated_at__isnull=True).select_related("tenant")
            .order_by("created_at"))


def membership_get_active(*, user: User, tenant_id: str | None) -> Membership | None:
    """The membership the dashboard acts through: the one chosen in the session, else the first."""
    memberships = membership_list_for_user(user=user)
    if tenant_id:
        chosen = memberships.filter(tenant_id=tenant_id).first()
        if chosen is not None:
            return chosen
    return memberships.first()


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).select_related("created_by").order_by("-created_at")


def membership_list(*, tenant: Tenant) -> QuerySet[Membership]:
    """The team's members, owners first, then by when they joined."""
    rank = Case(*[When(role=role, then=Value(-r)) for role, r in ROLE_RANK.items()], output_field=IntegerField())
    return (Membership.objects.for_tenant(tenant).select_related("user")
            .annotate(rank=rank).order_by("rank", "created_at"))


def tenant_holding(*, user: User, model: type[Model], pk: object) -> Tenant | None:
    """Which of the user's *other* teams holds the ``model`` row ``pk`` (a job or an asset), so a
    link to it can name the team instead of a bare 404; None when none of the user's teams does.
    Unscoped by design, but limited to tenants the user is a member of."""
    tenant_ids = Membership.objects.filter(user=user).values("tenant_id")
    try:
        tenant_id = model.objects.filter(pk=pk, tenant_id__in=tenant_ids).values_list("tenant_id", flat=True).first()
    except (ValueError, ValidationError):
        return None
    return Tenant.objects.filter(pk=tenant_id).first() if tenant_id else None
