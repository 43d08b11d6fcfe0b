"""The billing app: on ``accounts.signals.tenant_created`` it grants the new tenant's free allowance."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from accounts.signals import tenant_created

        from .services import credit_allowance_grant

        def grant_allowance(sender: object, *, tenant: object, **kwargs: object) -> None:
            credit_allowance_grant(tenant=tenant)

        tenant_created.connect(grant_allowance, dispatch_uid="billing.credit_allowance_grant", weak=False)
