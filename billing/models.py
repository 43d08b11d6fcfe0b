"""The usage ledger: append-only, one record per succeeded job."""

from __future__ import annotations

from django.db import models

from accounts.models import TenantOwned


class UsageRecord(TenantOwned):
    """What a succeeded job costs the tenant. Never edited; corrections are new records."""

    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="usage_record")
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
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["job"], name="usage_record_one_per_job"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="usage_record_amount_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for job {self.job_id}"


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


class MeterEventOutbox(TenantOwned):
    """One Stripe meter event per live usage record, sent until Stripe acknowledges it. The
    record's id is the event's identifier, so a resend after a crash or timeout is not counted twice."""

    usage_record = models.OneToOneField(UsageRecord, on_delete=models.PROTECT, related_name="meter_event")
    identifier = models.CharField(max_length=100, unique=True)
    value = models.PositiveBigIntegerField()  # the amount in cents: the meter sums cents
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)  # a sender's lease on the row

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
