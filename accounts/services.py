"""Tenants, memberships and API keys: everything that changes them.

Each service that changes a tenant's data takes the ``actor`` and checks its role itself, so the
dashboard, the API and the admin cannot disagree (viewer reads; member creates jobs and assets;
admin manages keys and members; owner billing). Changes are audited (``accounts.audit``); team
management beyond removal is in ``accounts.teams`` and ``accounts.invitations``. Two services
take no actor because no tenant exists yet to hold a role in: ``user_create`` and
``tenant_create`` (sign-up, whose user becomes the new tenant's owner)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from config.errors import Conflict, RoleForbidden, Unauthenticated

from .actors import Actor
from .audit import AuditAction, audit_record
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
    shown_later: bool = False,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored and never shown again
    (``shown_later``: the caller shows it after a redirect, once, see ``accounts.key_reveal``).
    Admins and owners manage keys; a key never gets more rights than the actor who makes it, and a
    key makes only keys of its own mode (a test key must not reach live data). A key made by a key
    borrows the same person's rights, so it gets that key's creator."""
    actor.require(Role.ADMIN)
    if not role_allows(actor.role, role):
        raise RoleForbidden(
            f"A key cannot have more rights than whoever makes it: you are {Role(actor.role).label.lower()}, "
            f"the key would be {Role(role).label.lower()}."
        )
    if actor.api_key is not None and ApiKeyMode(mode) != actor.api_key.mode:
        raise RoleForbidden(
            f"An API key creates only keys of its own mode: this is a {actor.api_key.mode} key, so it cannot "
            f"create a {ApiKeyMode(mode).value} key."
        )
    creator_id = actor.user.pk if actor.user is not None else None
    if actor.api_key is not None:
        creator_id = actor.api_key.created_by_id
    secret = API_KEY_PREFIXES[ApiKeyMode(mode)] + secrets.token_urlsafe(32)
    key = ApiKey(
        tenant=tenant, name=name.strip() or "API key", prefix=secret[:13], hashed_key=hash_api_key(secret),
        mode=mode, role=role, created_by_id=creator_id, secret_shown_at=None if shown_later else timezone.now(),
    )
    key.full_clean()
    key.save()
    audit_record(actor, tenant, AuditAction.API_KEY_CREATED, f"{key.name} ({key.prefix}…, {key.mode}, {key.role})")
    return key, secret


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, actor: Actor, key_id: int) -> ApiKey:
    """Revoke a key at once (revoking a revoked key changes nothing). Admins and owners only."""
    actor.require(Role.ADMIN)
    key = ApiKey.objects.for_tenant(tenant).get(pk=key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(actor, tenant, AuditAction.API_KEY_REVOKED, f"{key.name} ({key.prefix}…)")
    return key


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key with this secret, or None; marks it used (at most once a minute). The key
    comes with ``creator_role``, its creator's current role in the key's tenant, read in the same
    query (``Actor.from_api_key`` acts with the lower of the two). Raises ``Unauthenticated``,
    saying why, for a key whose creator is no longer a member of its tenant."""
    if not secret.startswith(tuple(API_KEY_PREFIXES.values())):
        return None
    creator_role = Membership.objects.filter(tenant=OuterRef("tenant"), user=OuterRef("created_by")).values("role")
    key = (
        ApiKey.objects.select_related("tenant").annotate(creator_role=Subquery(creator_role[:1]))
        .filter(hashed_key=hash_api_key(secret)).first()
    )
    if key is None or key.revoked_at is not None:
        return None
    if key.created_by_id is not None and key.creator_role is None:
        raise Unauthenticated(
            "This API key no longer works: the person who created it is no longer a member of this team. "
            "Ask an admin of the team for a new key."
        )
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership, revoke_keys: bool) -> list[ApiKey]:
    """Remove a member from the actor's tenant and return the keys this revoked. Admins remove
    members; only an owner removes an admin or an owner; the last owner stays. The member's keys
    stop working either way (a key works only while its creator is a member); ``revoke_keys``
    makes that final, so the keys do not come back if the person is added again. Another
    tenant's membership is ``Membership.DoesNotExist``, as a missing one."""
    tenant = actor.tenant
    membership = Membership.objects.for_tenant(tenant).select_related("user").get(pk=membership.pk)
    actor.require(Role.ADMIN)
    if membership.role in (Role.ADMIN, Role.OWNER) and not role_allows(actor.role, Role.OWNER):
        raise RoleForbidden(f"Only an owner can remove an {Role(membership.role).label.lower()} from the team.")
    if membership.role == Role.OWNER:
        owners = list(Membership.objects.for_tenant(tenant).filter(role=Role.OWNER).select_for_update()
                      .values_list("pk", flat=True))
        if owners == [membership.pk]:
            raise Conflict("The last owner of a team cannot be removed: make another member owner first.")
    revoked: list[ApiKey] = []
    if revoke_keys:
        revoked = list(ApiKey.objects.for_tenant(tenant).filter(created_by=membership.user, revoked_at__isnull=True)
                       .select_for_update())
        now = timezone.now()
        ApiKey.objects.filter(pk__in=[key.pk for key in revoked]).update(revoked_at=now)
        for key in revoked:
            key.revoked_at = now
    membership.delete()
    audit_record(actor, tenant, AuditAction.MEMBER_REMOVED,
                 f"{membership.user.email} ({membership.role}){'; keys revoked' if revoked else ''}")
    return revoked
