"""Invitations to a team: an admin invites an email address with a role; the email carries a link
with a signed token (``django.core.signing``, salted, expiring after ``INVITATION_MAX_AGE_S``) that
names the invitation row. Whoever opens the link may decline; accepting needs the invited
address's account (signing up first if there is none), so a forwarded link cannot make someone
else a member. The row records the answer, so a link works once."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from config.errors import ParleyError, RoleForbidden

from .actors import Actor
from .audit import AuditAction, audit_record
from .models import Invitation, Membership, Role, Tenant, User, role_allows

_SALT = "parley.accounts.invitation"


class InvitationInvalid(ParleyError):
    """A link that does not (or no longer) lead to an open invitation; the message says why."""

    status_code = 404
    code = "invitation_invalid"


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk}, salt=_SALT, compress=True)


def invitation_url(invitation: Invitation) -> str:
    return settings.PUBLIC_BASE_URL + reverse("accounts:invitation", args=[invitation_token(invitation)])


def invitation_from_token(token: str) -> Invitation:
    """The open invitation a link names, or InvitationInvalid saying why not."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.INVITATION_MAX_AGE_S)
    except signing.SignatureExpired:
        raise InvitationInvalid("This invitation has expired. Ask the team's admin for a new one.") from None
    except signing.BadSignature:
        raise InvitationInvalid("This invitation link is not valid: check that it was copied whole.") from None
    invitation = Invitation.objects.select_related("tenant", "invited_by").filter(pk=data.get("i")).first()
    if invitation is None or invitation.revoked_at is not None or invitation.tenant.deactivated_at is not None:
        raise InvitationInvalid("This invitation was withdrawn.")
    if invitation.accepted_at is not None or invitation.declined_at is not None:
        raise InvitationInvalid("This invitation was already answered.")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("This invitation has expired. Ask the team's admin for a new one.")
    return invitation


def _send(invitation: Invitation, inviter: str) -> None:
    url = invitation_url(invitation)
    send_mail(
        subject=f"You are invited to join {invitation.tenant.name} on Parley",
        message=(f"{inviter} invited you to join the team {invitation.tenant.name} on Parley as "
                 f"{Role(invitation.role).label.lower()}.\n\nAccept or decline here (the link works for "
                 f"{settings.INVITATION_MAX_AGE_S // 86400} days):\n{url}\n\n"
                 "If you have no Parley account yet, you can create one from that page.\n"),
        from_email=None, recipient_list=[invitation.email],
    )


@transaction.atomic
def invitation_create(*, tenant: Tenant, actor: Actor, email: str, role: str = Role.MEMBER) -> Invitation:
    """Invite ``email`` with ``role`` (admins and owners; never above the inviter's role, never
    owner: ownership is transferred). An open invitation to the same address is replaced. The email
    goes out once the transaction commits."""
    actor.require(Role.ADMIN)
    email = User.objects.normalize_email(email.strip()).lower()
    if role not in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        raise ValidationError({"role": "Invite as admin, member or viewer; make someone owner by transferring "
                                       "ownership."})
    if not role_allows(actor.role, role):
        raise RoleForbidden(f"You cannot invite with a role above your own: you are {Role(actor.role).label.lower()}.")
    if Membership.objects.for_tenant(tenant).filter(user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of this team."})
    now = timezone.now()
    invitation = Invitation(tenant=tenant, email=email, role=role, invited_by=actor.user,
                            expires_at=now + timedelta(seconds=settings.INVITATION_MAX_AGE_S))
    invitation.full_clean()
    Invitation.objects.for_tenant(tenant).filter(email=email, accepted_at__isnull=True, declined_at__isnull=True,
                                                 revoked_at__isnull=True).update(revoked_at=now)
    invitation.save()
    audit_record(actor, tenant, AuditAction.MEMBER_INVITED, f"{email} as {role}")
    inviter = actor.label
    transaction.on_commit(lambda: _send(invitation, inviter))
    return invitation


@transaction.atomic
def invitation_revoke(*, tenant: Tenant, actor: Actor, invitation_id: int) -> Invitation:
    """Withdraw an open invitation (admins and owners); its link stops working."""
    actor.require(Role.ADMIN)
    invitation = Invitation.objects.for_tenant(tenant).select_for_update().get(pk=invitation_id)
    if invitation.revoked_at is None and invitation.accepted_at is None and invitation.declined_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(actor, tenant, AuditAction.INVITATION_REVOKED, invitation.email)
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the team with the invited role. Only the invited address's account may accept."""
    Invitation.objects.select_for_update().filter(pk=invitation_from_token(token).pk).first()
    invitation = invitation_from_token(token)  # again, under the lock: a concurrent answer is seen
    if user.email.lower() != invitation.email.lower():
        raise RoleForbidden(f"This invitation is for {invitation.email}; you are signed in as {user.email}. "
                            "Sign in with the invited address to accept it.")
    membership, created = Membership.objects.get_or_create(tenant=invitation.tenant, user=user,
                                                           defaults={"role": invitation.role})
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    if created:
        audit_record(Actor(tenant=invitation.tenant, role=membership.role, user=user), invitation.tenant,
                     AuditAction.INVITATION_ACCEPTED, f"{user.email} joined as {membership.role}")
    return membership


@transaction.atomic
def invitation_decline(*, token: str) -> Invitation:
    """Decline: whoever holds the link may (declining grants nothing)."""
    Invitation.objects.select_for_update().filter(pk=invitation_from_token(token).pk).first()
    invitation = invitation_from_token(token)  # again, under the lock
    invitation.declined_at = timezone.now()
    invitation.save(update_fields=["declined_at"])
    audit_record(invitation.email, invitation.tenant, AuditAction.INVITATION_DECLINED, invitation.email)
    return invitation


def invitation_list_open(*, tenant: Tenant) -> QuerySet[Invitation]:
    """The tenant's invitations still waiting for an answer, newest first."""
    return (Invitation.objects.for_tenant(tenant)
            .filter(accepted_at__isnull=True, declined_at__isnull=True, revoked_at__isnull=True,
                    expires_at__gt=timezone.now())
            .select_related("invited_by").order_by("-created_at"))
