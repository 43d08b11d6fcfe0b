"""The billing app: on ``accounts.signals.tenant_created`` it grants the new tenant's free allowance;
on ``accounts.signals.tenant_closing`` it asks to keep a tenant its ledger refers to."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from accounts.signals import tenant_closing, tenant_created

        from .selectors import ledger_refers_to
        from .services import credit_allowance_grant

        def grant_allowance(sender: object, *, tenant: object, **kwargs: object) -> None:
            credit_allowance_grant(tenant=tenant)

        def keep_for_ledger(sender: object, *, tenant: object, **kwargs: object) -> str | None:
            return "its ledger" if ledger_refers_to(tenant=tenant) else None

        tenant_created.connect(grant_allowance, dispatch_uid="billing.credit_allowance_grant", weak=False)
        tenant_closing.connect(keep_for_ledger, dispatch_uid="billing.keep_for_ledger", weak=False)
