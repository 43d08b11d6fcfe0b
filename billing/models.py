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
