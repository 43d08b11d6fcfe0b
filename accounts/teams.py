"""A team's members as its admins and owners manage them: change a role, leave, transfer
ownership, rename and delete the team. (Removing a member is ``services.membership_remove``;
invitations are in ``accounts.invitations``.)

The rules, checked here whatever page or API calls: admins manage members below admin and may
make someone admin; only an owner changes or removes an admin or an owner; a team always keeps
an owner; only an owner transfers ownership or deletes the team. Each change is audited."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, RoleForbidden

from .actors import Actor
from .audit import AuditAction, audit_record
from .models import ApiKey, Invitation, Membership, Role, Tenant, role_allows
from .signals import tenant_closing


def _label(role: str) -> str:
    return Role(role).label.lower()


def _other_owner_exists(*, tenant: Tenant, besides: Membership) -> bool:
    owners = (Membership.objects.for_tenant(tenant).filter(role=Role.OWNER).select_for_update()
              .values_list("pk", flat=True))
    return any(pk != besides.pk for pk in owners)


@transaction.atomic
def membership_role_change(*, actor: Actor, membership_id: int, role: str) -> Membership:
    """Give a member another role. Another tenant's membership is Membership.DoesNotExist."""
    tenant = actor.tenant
    membership = Membership.objects.for_tenant(tenant).select_related("user").select_for_update().get(pk=membership_id)
    actor.require(Role.ADMIN)
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}: use one of {', '.join(Role.values)}."})
    if membership.role in (Role.ADMIN, Role.OWNER) and not role_allows(actor.role, Role.OWNER):
        raise RoleForbidden(f"Only an owner can change the role of an {_label(membership.role)}.")
    if not role_allows(actor.role, role):
        raise RoleForbidden(f"You cannot give a role above your own: you are {_label(actor.role)}.")
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and not _other_owner_exists(tenant=tenant, besides=membership):
        raise Conflict("The team's last owner cannot lose the owner role: transfer ownership first.",
                       code="last_owner")
    was = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(actor, tenant, AuditAction.MEMBER_ROLE_CHANGED, f"{membership.user.email}: {was} -> {role}")
    return membership


@transaction.atomic
def membership_leave(*, actor: Actor) -> None:
    """The acting person leaves the team; their API keys are revoked. The last owner cannot leave
    (transfer ownership or delete the team first)."""
    if actor.user is None:
        raise RoleForbidden("Only a person can leave a team (not an API key).")
    tenant = actor.tenant
    membership = Membership.objects.for_tenant(tenant).select_for_update().get(user=actor.user)
    if membership.role == Role.OWNER and not _other_owner_exists(tenant=tenant, besides=membership):
        raise Conflict("You are this team's last owner: transfer ownership to another member, or delete the "
                       "team, before leaving.", code="last_owner")
    ApiKey.objects.for_tenant(tenant).filter(created_by=actor.user, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    membership.delete()
    audit_record(actor, tenant, AuditAction.MEMBER_LEFT, actor.user.email)


@transaction.atomic
def ownership_transfer(*, actor: Actor, membership_id: int) -> Membership:
    """Make another member the owner; the acting owner becomes an admin."""
    tenant = actor.tenant
    target = Membership.objects.for_tenant(tenant).select_related("user").select_for_update().get(pk=membership_id)
    actor.require(Role.OWNER)
    if actor.user is None:
        raise RoleForbidden("Ownership is transferred by a person, the owner, not by an API key.")
    if target.user_id == actor.user.pk:
        raise ValidationError({"member": "Choose another member: you are the owner already."})
    target.role = Role.OWNER
    target.save(update_fields=["role"])
    Membership.objects.for_tenant(tenant).filter(user=actor.user).update(role=Role.ADMIN)
    audit_record(actor, tenant, AuditAction.OWNERSHIP_TRANSFERRED, f"{actor.user.email} -> {target.user.email}")
    return target


@transaction.atomic
def tenant_rename(*, actor: Actor, name: str) -> Tenant:
    """Rename the team (admins and owners)."""
    actor.require(Role.ADMIN)
    tenant = Tenant.objects.select_for_update().get(pk=actor.tenant.pk)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A team needs a name."})
    if len(name) > 200:
        raise ValidationError({"name": f"A team's name is at most 200 characters; this one has {len(name)}."})
    was = tenant.name
    if name != was:
        tenant.name = name
        tenant.save(update_fields=["name"])
        audit_record(actor, tenant, AuditAction.TEAM_RENAMED, f"{was} -> {name}")
    return tenant


@transaction.atomic
def tenant_delete(*, actor: Actor, confirm_name: str) -> bool:
    """Delete the team (its owner, typing its name to confirm). Its running jobs are canceled (a
    canceled job is never charged; one already delivering its video finishes), its keys revoked,
    its invitations withdrawn and its members removed. A tenant the ledger refers to is kept,
    deactivated (the ledger is append-only and invoices must still add up); one nothing refers to
    is erased. Returns True when the row was erased."""
    actor.require(Role.OWNER)
    tenant = Tenant.objects.select_for_update().get(pk=actor.tenant.pk)
    if confirm_name.strip() != tenant.name:
        raise ValidationError({"confirm": f"Type the team's name, {tenant.name}, to confirm."})
    keep = [reason for _, reason in tenant_closing.send(sender=Tenant, tenant=tenant, actor=actor) if reason]
    now = timezone.now()
    ApiKey.objects.for_tenant(tenant).filter(revoked_at__isnull=True).update(revoked_at=now)
    Invitation.objects.for_tenant(tenant).filter(accepted_at__isnull=True, declined_at__isnull=True,
                                                 revoked_at__isnull=True).update(revoked_at=now)
    Membership.objects.for_tenant(tenant).delete()
    target = f"{tenant.name} ({tenant.pk})"
    if keep:
        tenant.deactivated_at = now
        tenant.save(update_fields=["deactivated_at"])
        audit_record(actor, tenant, AuditAction.TEAM_DELETED, f"{target}; kept, deactivated, for {', '.join(keep)}")
        return False
    tenant.delete()
    audit_record(actor, None, AuditAction.TEAM_DELETED, f"{target}; erased")
    return True


def member_controls(*, actor: Actor, membership: Membership, owners: int) -> dict[str, bool]:
    """Which controls the team page shows the actor for one member (``owners``: how many the team
    has): the same rules the services above enforce, so a page never offers what would be refused
    (the services still decide)."""
    is_self = actor.user is not None and membership.user_id == actor.user.pk
    senior = membership.role in (Role.ADMIN, Role.OWNER)
    manages = role_allows(actor.role, Role.ADMIN) and (not senior or role_allows(actor.role, Role.OWNER))
    sole_owner = membership.role == Role.OWNER and owners <= 1
    return {
        "change_role": manages and not sole_owner,
        "remove": manages and not is_self,
        "transfer": role_allows(actor.role, Role.OWNER) and not is_self and actor.user is not None,
    }


def roles_grantable(*, actor: Actor) -> list[tuple[str, str]]:
    """The roles the actor may give (never above its own)."""
    return [(role.value, role.label) for role in (Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER)
            if role_allows(actor.role, role)]
