from django import forms
from django.http import HttpRequest

from .invitations import InvitationInvalid, invitation_from_token
from .models import User
from .services import tenant_create

# The invitation a visitor opened before signing up (its token), kept in the session by the
# invitation page so that signing up joins that team instead of creating one.
SESSION_INVITATION_KEY = "pending_invitation"


class SignupForm(forms.Form):
    """allauth's signup form plus the team name; signing up creates the tenant and the owner
    membership (allauth calls ``signup`` after saving the user), unless the person came from an
    invitation to their address: then they join that team on the invitation's page instead."""

    team_name = forms.CharField(max_length=200, required=False, label="Team name",
                                help_text="You can rename it later. Defaults to your email address. "
                                          "Leave it empty if you were invited to a team.")

    def signup(self, request: HttpRequest, user: User) -> None:
        token = request.session.get(SESSION_INVITATION_KEY)
        if token and not self.cleaned_data.get("team_name"):
            try:
                invitation = invitation_from_token(token)
            except InvitationInvalid:
                invitation = None
            if invitation is not None and invitation.email.lower() == user.email.lower():
                return  # the invitation page (allauth's ``next``) accepts it
        tenant_create(name=self.cleaned_data.get("team_name") or user.email, owner=user)
