"""Tenants, memberships and API keys: everything that changes them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import ApiKey, ApiKeyMode, Membership, Role, Tenant, User

API_KEY_PREFIXES = {ApiKeyMode.LIVE: "prl_live_", ApiKeyMode.TEST: "prl_test_"}
# How stale last_used_at may get before a request writes it again (spares a write per call).
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_api_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def tenant_create(*, name: str, owner: User) -> Tenant:
    tenant = Tenant(name=name.strip() or owner.email)
    tenant.full_clean()
    tenant.save()
    Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
    return tenant


@transaction.atomic
def user_create(*, email: str, password: str | None) -> User:
    user = User(email=User.objects.normalize_email(email).lower())
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def api_key_create(
    *, tenant: Tenant, name: str, created_by: User | None = None, mode: str = ApiKeyMode.LIVE,
    role: str = Role.MEMBER,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored and never shown again."""
    secret = API_KEY_PREFIXES[ApiKeyMode(mode)] + secrets.token_urlsafe(32)
    key = ApiKey(
        tenant=tenant, name=name.strip() or "API key", prefix=secret[:13], hashed_key=hash_api_key(secret),
        mode=mode, role=role, created_by=created_by,
    )
    key.full_clean()
    key.save()
    return key, secret


def api_key_revoke(*, tenant: Tenant, key_id: int) -> ApiKey:
    key = ApiKey.objects.for_tenant(tenant).get(pk=key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key with this secret, or None. Marks it used (at most once a minute)."""
    if not secret.startswith(tuple(API_KEY_PREFIXES.values())):
        return None
    key = ApiKey.objects.select_related("tenant").filter(hashed_key=hash_api_key(secret)).first()
    if key is None or key.revoked_at is not None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
