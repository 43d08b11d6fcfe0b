"""What accounts announces to the apps built on it: ``tenant_created``.

Billing depends on accounts (its ledger entries are tenant-owned), so accounts cannot call billing
without an import cycle; it announces a new tenant instead, and billing (``billing.apps``) grants
the free allowance in the same transaction."""

from django.dispatch import Signal

# Sent by accounts.services.tenant_create inside its transaction, with ``tenant``.
tenant_created = Signal()
