"""Parley's django-allauth adapter: the sign-in lockout answers 429."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import render


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth refuses a sign-in past its ``login_failed`` rate limit with a form error, which
        its page shows with HTTP 200; answer 429 with a page saying what to do instead (allauth's
        middleware sends the response of ``ImmediateHttpResponse``)."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            if exc.code != "too_many_login_attempts":
                raise
            response = render(request, "account/429.html", {"lockout_minutes": settings.SIGN_IN_LOCKOUT_S // 60},
                              status=429)
            response["Retry-After"] = str(settings.SIGN_IN_LOCKOUT_S)
            raise ImmediateHttpResponse(response) from None
