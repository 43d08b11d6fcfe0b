"""Tenants, memberships and API keys: everything that changes them.

Each service that changes a tenant's data takes the ``actor`` and checks its role itself, so the
dashboard, the API and the admin cannot disagree (viewer reads; member creates jobs and assets;
admin manages keys and members; owner billing). Two services take no actor because no tenant
exists yet to hold a role in: ``user_create`` and ``tenant_create`` (sign-up, whose user becomes
the new tenant's owner)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from config.errors import RoleForbidden

from .actors import Actor
from .models import ApiKey, ApiKeyMode, Membership, Role, Tenant, User, role_allows
from .signals import tenant_created

API_KEY_PREFIXES = {ApiKeyMode.LIVE: "prl_live_", ApiKeyMode.TEST: "prl_test_"}
# How stale last_used_at may get before a request writes it again (spares a write per call).
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_api_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def tenant_create(*, name: str, owner: User) -> Tenant:
    """A new tenant with ``owner`` as its owner (sign-up, or an operator's command)."""
    tenant = Tenant(name=name.strip() or owner.email)
    tenant.full_clean()
    tenant.save()
    Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
    tenant_created.send(sender=Tenant, tenant=tenant)  # billing grants the free allowance
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
    *, tenant: Tenant, actor: Actor, name: str, mode: str = ApiKeyMode.LIVE, role: str = Role.MEMBER,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored and never shown again.
    Admins and owners manage keys; a key never gets more rights than the actor who makes it."""
    actor.require(Role.ADMIN)
    if not role_allows(actor.role, role):
        raise RoleForbidden(
            f"A key cannot have more rights than whoever makes it: you are {Role(actor.role).label.lower()}, "
            f"the key would be {Role(role).label.lower()}."
        )
    secret = API_KEY_PREFIXES[ApiKeyMode(mode)] + secrets.token_urlsafe(32)
    key = ApiKey(
        tenant=tenant, name=name.strip() or "API key", prefix=secret[:13], hashed_key=hash_api_key(secret),
        mode=mode, role=role, created_by=actor.user,
    )
    key.full_clean()
    key.save()
    return key, secret


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, actor: Actor, key_id: int) -> ApiKey:
    """Revoke a key at once (revoking a revoked key changes nothing). Admins and owners only."""
    actor.require(Role.ADMIN)
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
