"""DRF authentication by ``Authorization: Bearer <api key>``, with failed attempts limited per
client IP and per key prefix (``accounts.auth_limits``)."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from rest_framework import authentication, exceptions

from config.errors import Unauthenticated

from .auth_limits import api_key_failure_record, api_key_failures_check
from .models import ApiKey
from .services import api_key_authenticate


class ApiKeyPrincipal:
    """The request.user of an API-key request: authenticated, but not a person."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return f"api key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):  # noqa: ANN001, ANN201 - DRF's signature
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        secret = secret.strip()
        # The client's address as the sign-in limits see it (allauth's, honouring
        # ALLAUTH_TRUSTED_PROXY_COUNT behind a proxy), so one setting serves both.
        ip = get_adapter(request._request).get_client_ip(request._request)
        api_key_failures_check(ip=ip, secret=secret)
        try:
            if scheme.lower() != self.keyword.lower() or not secret:
                raise Unauthenticated("Use the header 'Authorization: Bearer <api key>'.")
            key = api_key_authenticate(secret=secret)
            if key is None:
                raise Unauthenticated("This API key is unknown or has been revoked.")
        except Unauthenticated as exc:
            api_key_failure_record(ip=ip, secret=secret)
            raise exceptions.AuthenticationFailed(exc.message) from None
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:  # noqa: ANN001
        return self.keyword
