from django import forms
from django.http import HttpRequest

from .models import User
from .services import tenant_create


class SignupForm(forms.Form):
    """allauth's signup form plus the team name; signing up creates the tenant and the owner
    membership (allauth calls ``signup`` after saving the user)."""

    team_name = forms.CharField(max_length=200, required=False, label="Team name",
                                help_text="You can rename it later. Defaults to your email address.")

    def signup(self, request: HttpRequest, user: User) -> None:
        tenant_create(name=self.cleaned_data.get("team_name") or user.email, owner=user)
