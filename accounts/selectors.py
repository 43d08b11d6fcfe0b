"""Reads of tenants, memberships and keys, always from a tenant or a user."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import ApiKey, Membership, Tenant, User


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("tenant").order_by("created_at")


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
