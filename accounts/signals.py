"""What accounts announces to the apps built on it: ``tenant_created``.

Billing depends on accounts (its ledger entries are tenant-owned), so accounts cannot call billing
without an import cycle; it announces a new tenant instead, and billing (``billing.apps``) grants
the free allowance in the same transaction."""

from django.dispatch import Signal

# Sent by accounts.services.tenant_create inside its transaction, with ``tenant``.
tenant_created = Signal()

# Sent by accounts.teams.tenant_delete inside its transaction, with ``tenant`` and ``actor``, before
# the team's members and keys go: the jobs app cancels the running jobs; a receiver returns a
# reason (a short phrase, "its ledger") to keep the tenant's row, which is then deactivated
# rather than erased.
tenant_closing = Signal()
