"""The usage ledger: append-only, one record per succeeded job."""

from __future__ import annotations

from decimal import Decimal

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


class Budget(TenantOwned):
    """A monthly spend limit: the tenant's own (``api_key`` null) or one API key's.

    The owner sets ``monthly_limit``; the operator may set ``limit_cap`` (admin) on the tenant's,
    and the lower of the two applies. The row is also the lock that serializes the reservations of
    its tenant (see ``billing.budgets.budget_reserve``), and remembers which alert emails went out
    this month."""

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
