"""The accounts app: registers the OpenAPI description of API-key auth, and records each sign-in in
the audit log (Django's ``user_logged_in``, which allauth's sign-in sends too)."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import schema  # noqa: F401 - registers the OpenAPI description of API-key auth
        from .audit import audit_signed_in

        def record_sign_in(sender: object, *, request: object, user: object, **kwargs: object) -> None:
            audit_signed_in(user=user, ip=getattr(request, "META", {}).get("REMOTE_ADDR"))

        user_logged_in.connect(record_sign_in, dispatch_uid="accounts.audit_signed_in", weak=False)
