"""Dashboard pages of a team: its members and invitations (``/settings/team/``), the actions on them
(each a POST that calls one service and redirects), the audit log (``/settings/team/audit/``) and
the invitation link's page (``/invitations/<token>/``). The pages hide what the member's role
cannot do; the services refuse it anyway (403 page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import ParleyError, RoleForbidden

from .audit import audit_list
from .forms import SESSION_INVITATION_KEY
from .invitations import (
    InvitationInvalid,
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_from_token,
    invitation_list_open,
    invitation_revoke,
)
from .middleware import SESSION_TENANT_KEY
from .models import Invitation, Membership, Role, role_allows
from .selectors import membership_list
from .services import membership_remove
from .teams import (
    member_controls,
    membership_leave,
    membership_role_change,
    ownership_transfer,
    roles_grantable,
    tenant_delete,
    tenant_rename,
)
from .views import dashboard_render, forbidden, tenant_required


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in (Role.ADMIN, Role.MEMBER, Role.VIEWER)],
                             initial=Role.MEMBER,
                             help_text="Viewers read; members also create jobs and assets; admins also manage "
                                       "keys and members.")


def _refusal_message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _act(request: HttpRequest, action: Callable[[], str]) -> HttpResponse:
    """Run one service call for a POST: its success message, or its refusal (a 403 page for a role
    that lacks the right, a message for anything else), then back to the team page."""
    try:
        done = action()
    except RoleForbidden as exc:
        return forbidden(request, exc.message)
    except (Membership.DoesNotExist, Invitation.DoesNotExist):
        raise Http404("No such member or invitation in this team.") from None
    except ParleyError as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, _refusal_message(exc))
    else:
        messages.success(request, done)
    return redirect("accounts:team")


@require_GET
@tenant_required
def team(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    members = list(membership_list(tenant=request.tenant))
    owners = sum(member.role == Role.OWNER for member in members)
    for member in members:
        member.controls = member_controls(actor=actor, membership=member, owners=owners)
    is_admin = role_allows(actor.role, Role.ADMIN)
    return dashboard_render(request, "accounts/team.html", {
        "nav": "team",
        "members": members,
        "invitations": list(invitation_list_open(tenant=request.tenant)) if is_admin else [],
        "invite_form": InviteForm() if is_admin else None,
        "roles": roles_grantable(actor=actor),
        "is_admin": is_admin,
        "is_owner": role_allows(actor.role, Role.OWNER),
    })


@require_POST
@tenant_required
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(f"{form.fields[name].label}: {' '.join(errors)}"
                                         for name, errors in form.errors.items()))
        return redirect("accounts:team")

    def action() -> str:
        sent = invitation_create(tenant=request.tenant, actor=request.actor, **form.cleaned_data)
        return f"Invited {sent.email} as {sent.get_role_display().lower()}; the email with the link is on its way."

    return _act(request, action)


@require_POST
@tenant_required
def invitation_withdraw(request: HttpRequest, invitation_id: int) -> HttpResponse:
    def action() -> str:
        withdrawn = invitation_revoke(tenant=request.tenant, actor=request.actor, invitation_id=invitation_id)
        return f"Withdrew the invitation to {withdrawn.email}; its link no longer works."

    return _act(request, action)


@require_POST
@tenant_required
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    def action() -> str:
        changed = membership_role_change(actor=request.actor, membership_id=membership_id,
                                         role=request.POST.get("role", ""))
        return f"{changed.user.email} is now {changed.get_role_display().lower()}."

    return _act(request, action)


@require_POST
@tenant_required
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    def action() -> str:
        membership = Membership(pk=membership_id)
        membership_remove(actor=request.actor, membership=membership, revoke_keys=True)
        return "Removed the member from the team; the API keys they made are revoked."

    return _act(request, action)


@require_POST
@tenant_required
def transfer(request: HttpRequest, membership_id: int) -> HttpResponse:
    def action() -> str:
        owner = ownership_transfer(actor=request.actor, membership_id=membership_id)
        return f"{owner.user.email} now owns the team; you are an admin."

    return _act(request, action)


@require_POST
@tenant_required
def rename(request: HttpRequest) -> HttpResponse:
    def action() -> str:
        renamed = tenant_rename(actor=request.actor, name=request.POST.get("name", ""))
        return f"The team is now called {renamed.name}."

    return _act(request, action)


@require_POST
@tenant_required
def leave(request: HttpRequest) -> HttpResponse:
    name = request.tenant.name
    try:
        membership_leave(actor=request.actor)
    except ParleyError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:team")
    request.session.pop(SESSION_TENANT_KEY, None)
    messages.success(request, f"You left {name}; the API keys you made there are revoked.")
    return redirect("accounts:home")


@require_POST
@tenant_required
def delete(request: HttpRequest) -> HttpResponse:
    name = request.tenant.name
    try:
        tenant_delete(actor=request.actor, confirm_name=request.POST.get("confirm", ""))
    except RoleForbidden as exc:
        return forbidden(request, exc.message)
    except ValidationError as exc:
        messages.error(request, _refusal_message(exc))
        return redirect("accounts:team")
    request.session.pop(SESSION_TENANT_KEY, None)
    messages.success(request, f"Deleted the team {name}: its running jobs were canceled and its keys revoked.")
    return redirect("accounts:home")


@require_GET
@tenant_required
def audit(request: HttpRequest) -> HttpResponse:
    """The team's audit log, newest first, 50 a page (admins and owners)."""
    if not role_allows(request.actor.role, Role.ADMIN):
        return forbidden(request, "Only admins and owners of the team can read its audit log.")
    page = Paginator(audit_list(tenant=request.tenant), 50).get_page(request.GET.get("page"))
    return dashboard_render(request, "accounts/audit.html", {"nav": "team", "page": page})


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: shows the team and the role, with Accept and Decline. Accepting needs
    the invited address's account: a visitor is offered to sign in or sign up first (and comes back
    here); declining needs nothing."""
    try:
        invited = invitation_from_token(token)
    except InvitationInvalid as exc:
        request.session.pop(SESSION_INVITATION_KEY, None)
        return dashboard_render(request, "accounts/invitation.html", {"error": exc.message}, status=404)
    context: dict[str, Any] = {"invitation": invited, "here": reverse("accounts:invitation", args=[token])}
    if request.method == "POST":
        if request.POST.get("answer") == "decline":
            invitation_decline(token=token)
            request.session.pop(SESSION_INVITATION_KEY, None)
            messages.info(request, f"You declined the invitation to {invited.tenant.name}.")
            return redirect("accounts:home" if request.user.is_authenticated else "account_login")
        if not request.user.is_authenticated:
            return redirect(f"{reverse('account_login')}?next={context['here']}")
        try:
            membership = invitation_accept(token=token, user=request.user)
        except RoleForbidden as exc:
            context["error"] = exc.message
            return dashboard_render(request, "accounts/invitation.html", context, status=403)
        request.session[SESSION_TENANT_KEY] = str(membership.tenant_id)
        request.session.pop(SESSION_INVITATION_KEY, None)
        messages.success(request, f"Welcome to {membership.tenant.name}: you joined as "
                                  f"{membership.get_role_display().lower()}.")
        return redirect("accounts:home")
    if not request.user.is_authenticated:
        request.session[SESSION_INVITATION_KEY] = token
    return dashboard_render(request, "accounts/invitation.html", context)


