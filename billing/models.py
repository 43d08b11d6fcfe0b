"""The ledger: append-only entries of what tenants owe and are owed. A charge (``UsageRecord``, one
per succeeded job), refunds that point at the charge they correct, and credit grants (the free
allowance of a new tenant, an operator's grant). Nothing here is ever edited or deleted: a
correction is a new entry (docs/architecture.md, "Money")."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from accounts.models import TenantOwned, TenantQuerySet


class LedgerEntryEdited(Exception):
    """An attempt to edit or delete a ledger entry: the ledger only grows."""


class LedgerQuerySet(TenantQuerySet):
    """Refuses bulk edits and deletes, which bypass ``save()``/``delete()``."""

    def update(self, **kwargs: object) -> int:
        raise LedgerEntryEdited(f"{self.model.__name__} entries are never edited; add a correcting entry.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise LedgerEntryEdited(f"{self.model.__name__} entries are never deleted; add a correcting entry.")


class LedgerEntry(TenantOwned):
    """Abstract base of the ledger's entries: written once, by ``save(force_insert=True)`` in a service."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise LedgerEntryEdited(f"{type(self).__name__} entries are never edited; add a correcting entry.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise LedgerEntryEdited(f"{type(self).__name__} entries are never deleted; add a correcting entry.")


class UsageRecord(LedgerEntry):
    """The charge of a succeeded job. Never edited; a refund corrects it."""

    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="usage_record")
    # The key that created the job, as a plain value (billing is told it; it never reads jobs).
    api_key_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    model_id = models.CharField(max_length=100)
    livemode = models.BooleanField(default=True)
    seconds = models.DecimalField(max_digits=10, decimal_places=3)  # probed from the delivered video
    billable_seconds = models.DecimalField(max_digits=10, decimal_places=3)
    unit_price = models.DecimalField(max_digits=12, decimal_places=6)
    multiplier = models.DecimalField(max_digits=8, decimal_places=4)
    provider_amount = models.DecimalField(max_digits=14, decimal_places=6)
    price_multiplier = models.DecimalField(max_digits=6, decimal_places=3)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    capped_by_quote = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, default="usd")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["job"], name="usage_record_one_per_job"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="usage_record_amount_nonnegative"),
        ]
        indexes = [models.Index(fields=["tenant", "livemode", "created_at"], name="usage_tenant_mode_created")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for job {self.job_id}"


class Budget(TenantOwned):
    """A monthly spend limit: the tenant's own (``api_key`` null) or one API key's.

    The owner sets ``monthly_limit``; the operator may set ``limit_cap`` (admin) on the tenant's,
    and the lower of the two applies. The row also remembers which alert emails went out this
    month. Reservations against it are serialized on the tenant's row (``billing.admission``)."""

    api_key = models.OneToOneField("accounts.ApiKey", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    monthly_limit = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    limit_cap = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="Set by the operator: the tenant's limit never exceeds this, whatever its owner sets.",
    )
    currency = models.CharField(max_length=3, default="usd")
    alerted_80_month = models.DateField(null=True, blank=True)  # first day of the month the email went out
    alerted_100_month = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], condition=models.Q(api_key__isnull=True),
                                    name="budget_one_per_tenant"),
            models.CheckConstraint(condition=models.Q(monthly_limit__gte=0) | models.Q(monthly_limit__isnull=True),
                                   name="budget_limit_nonnegative"),
            models.CheckConstraint(condition=models.Q(limit_cap__gte=0) | models.Q(limit_cap__isnull=True),
                                   name="budget_cap_nonnegative"),
        ]

    def __str__(self) -> str:
        scope = f"key {self.api_key_id}" if self.api_key_id else "tenant"
        return f"{scope} budget of {self.tenant_id}: {self.effective_limit}"

    @property
    def effective_limit(self) -> Decimal | None:
        """The limit that applies: the owner's, lowered to the operator's cap."""
        limits = [x for x in (self.monthly_limit, self.limit_cap) if x is not None]
        return min(limits) if limits else None


class ReservationState(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    RELEASED = "released", "Released"  # the job failed or was canceled
    CHARGED = "charged", "Charged"  # the job succeeded: its usage record is the charge


class Reservation(TenantOwned):
    """A live job's quote held against its tenant's (and key's) budget until the job ends.

    Holds the job's id as a plain value: billing never imports the job layer."""

    job_id = models.UUIDField(unique=True)
    api_key_id = models.BigIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="usd")
    state = models.CharField(max_length=10, choices=ReservationState.choices, default=ReservationState.RESERVED)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "state"], name="reservation_tenant_state")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="reservation_amount_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} {self.state} for job {self.job_id}"
class Refund(LedgerEntry):
    """Money given back on a charge, in full or in part, by an operator with a reason. The refunds
    of a charge never add up to more than it (``billing.services.refund_create`` locks the charge)."""

    usage_record = models.ForeignKey(UsageRecord, on_delete=models.PROTECT, related_name="refunds")
    livemode = models.BooleanField()  # the charge's
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")]
        indexes = [models.Index(fields=["tenant", "livemode", "created_at"], name="refund_tenant_mode_created")]

    def __str__(self) -> str:
        return f"refund of {self.amount} {self.currency} on job {self.usage_record.job_id}"


class CreditKind(models.TextChoices):
    ALLOWANCE = "allowance", "Free allowance"
    GRANT = "grant", "Operator grant"


class CreditGrant(LedgerEntry):
    """Credit the tenant may spend before paying: the free allowance (once, when the tenant is
    created) or an operator's grant. Credit is live money only: test mode is never billed."""

    kind = models.CharField(max_length=10, choices=CreditKind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")  # None for the free allowance

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="credit_grant_amount_positive"),
            models.UniqueConstraint(fields=["tenant"], condition=models.Q(kind="allowance"),
                                    name="credit_grant_one_allowance_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display().lower()} of {self.amount} {self.currency}"
# --- Stripe: the tenant's customer and plan, the meter-event outbox, webhook events seen ----------
class StripeAccount(TenantOwned):
    """The tenant's Stripe customer and the billing state Stripe's webhooks keep up to date."""

    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    subscription_id = models.CharField(max_length=255, blank=True)
    subscription_status = models.CharField(max_length=40, blank=True)  # Stripe's word: active, past_due...
    # Invoices whose payment failed and that are not paid since; any makes the tenant past due.
    unpaid_invoice_ids = models.JSONField(default=list, blank=True)
    paid_invoice_ids = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="stripe_account_one_per_tenant")]

    @property
    def past_due(self) -> bool:
        return bool(self.unpaid_invoice_ids)

    def __str__(self) -> str:
        return f"{self.stripe_customer_id or 'no customer'} ({self.subscription_status or 'no plan'})"


class OutboxEntry(TenantOwned):
    """What both Stripe outboxes keep per entry: the amount in cents and the delivery bookkeeping
    (sent when Stripe acknowledged it; attempts, last error and the next try; a sender's lease)."""

    value = models.PositiveBigIntegerField()  # cents
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)  # a sender's lease on the row

    class Meta:
        abstract = True


class MeterEventOutbox(OutboxEntry):
    """One Stripe meter event per live usage record, sent until Stripe acknowledges it. The
    record's id is the event's identifier, so a resend after a crash or timeout is not counted twice."""

    usage_record = models.OneToOneField(UsageRecord, on_delete=models.PROTECT, related_name="meter_event")
    identifier = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"meter event {self.identifier} ({'sent' if self.sent_at else 'pending'})"


class StripeWebhookEvent(models.Model):
    """A Stripe event handled; the unique id makes a redelivery a no-op."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    customer_id = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class BalanceCreditOutbox(OutboxEntry):
    """One Stripe customer balance credit per live refund or credit grant, sent until Stripe
    acknowledges it (https://docs.stripe.com/api/customer_balance_transactions/create). The entry's
    ``idempotency_key`` (the ledger entry's kind and id) goes with every attempt, so a resend after
    a crash or a timeout replays Stripe's first answer instead of crediting twice."""

    refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="balance_credit")
    credit_grant = models.OneToOneField(CreditGrant, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="balance_credit")
    idempotency_key = models.CharField(max_length=100, unique=True)  # value: cents, sent as a negative amount
    stripe_transaction_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(refund__isnull=False, credit_grant__isnull=True)
                           | models.Q(refund__isnull=True, credit_grant__isnull=False)),
                name="balance_credit_one_source",
            ),
        ]

    def __str__(self) -> str:
        return f"balance credit {self.idempotency_key} ({'sent' if self.sent_at else 'pending'})"


class ReconciliationKind(models.TextChoices):
    MISSING_IN_STRIPE = "missing_in_stripe", "Missing in Stripe"  # we charged, Stripe's meter has nothing
    UNKNOWN_TO_US = "unknown_to_us", "Unknown to us"  # Stripe's meter has usage our ledger lacks
    AMOUNT_MISMATCH = "amount_mismatch", "Amounts differ"
    # the provider reports a job's output length unlike our probe of the delivered video
    PROVIDER_DURATION = "provider_duration", "Provider duration differs"
    # the provider's own price for a delivered job (WaveSpeed's price endpoint) unlike what we metered
    PROVIDER_PRICE = "provider_price", "Provider price differs"


class ReconciliationDifference(TenantOwned):
    """A day on which a tenant's live charges in our ledger and Stripe's meter disagree, or a job
    whose length the provider reports unlike our probe, as reconciliation found it. Listed for the
    operator; nothing fixes it automatically."""

    day = models.DateField(db_index=True)
    ours_cents = models.BigIntegerField()  # live charges of the day in our ledger (0 for a job's row)
    theirs_cents = models.BigIntegerField()  # the meter's sum for the tenant's customer that day
    kind = models.CharField(max_length=20, choices=ReconciliationKind.choices)
    # A job's row (provider duration): the job's id as a plain value (billing never reads jobs),
    # its model, our probed seconds and the provider's reported seconds.
    job_id = models.UUIDField(null=True, blank=True, db_index=True)
    model_id = models.CharField(max_length=100, blank=True)
    ours_seconds = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    theirs_seconds = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)
    # A job's provider-price row: the provider amount we metered (before the tenant's multiplier,
    # unrounded) and the price the provider answers for the same inputs, in the rule's currency.
    ours_amount = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    theirs_amount = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "-created_at"]

    def __str__(self) -> str:
        if self.kind == ReconciliationKind.PROVIDER_DURATION:
            return (f"{self.get_kind_display()} for job {self.job_id}: ours {self.ours_seconds} s, "
                    f"provider {self.theirs_seconds} s")
        if self.kind == ReconciliationKind.PROVIDER_PRICE:
            return (f"{self.get_kind_display()} for job {self.job_id}: ours {self.ours_amount}, "
                    f"provider {self.theirs_amount}")
        return f"{self.get_kind_display()} on {self.day}: ours {self.ours_cents}, Stripe {self.theirs_cents}"


class StripeInvoice(TenantOwned):
    """An invoice Stripe issued to the tenant, as its ``invoice.*`` webhooks last described it:
    the number, amount, state and the hosted page where it is read and paid
    (https://docs.stripe.com/api/invoices/object#invoice_object-hosted_invoice_url)."""

    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=100, blank=True)
    amount_due = models.DecimalField(max_digits=14, decimal_places=2)  # in the currency's units, not cents
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20)  # Stripe's word: draft, open, paid, uncollectible, void
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    issued_at = models.DateTimeField()  # Stripe's ``created``
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return f"{self.number or self.stripe_invoice_id} ({self.status})"
