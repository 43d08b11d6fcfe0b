"""Reads of budgets: a month's spend (from the usage ledger) and what unfinished jobs reserve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from accounts.models import ApiKey, Tenant

from .models import Budget, Reservation, ReservationState, UsageRecord
from .money import to_cents


def month_start(now: datetime | None = None) -> datetime:
    """The first instant of the current month, in the project's time zone."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def budget_amounts(*, tenant: Tenant, api_key_id: int | None, since: datetime) -> tuple[Decimal, Decimal]:
    """(spend since ``since``, reserved by unfinished live jobs) for the tenant, or for one key."""
    usage = UsageRecord.objects.for_tenant(tenant).filter(livemode=True, created_at__gte=since)
    held = Reservation.objects.for_tenant(tenant).filter(state=ReservationState.RESERVED)
    if api_key_id is not None:
        usage = usage.filter(job__api_key_id=api_key_id)
        held = held.filter(api_key_id=api_key_id)
    # Sums of cent amounts: to_cents only normalizes the representation (SQLite sums as floats' digits).
    spend = to_cents(Decimal(usage.aggregate(total=Sum("amount"))["total"] or 0))
    reserved = to_cents(Decimal(held.aggregate(total=Sum("amount"))["total"] or 0))
    return spend, reserved


@dataclass(frozen=True)
class BudgetStatus:
    monthly_limit: Decimal | None  # what the owner set
    limit_cap: Decimal | None  # what the operator allows at most
    limit: Decimal | None  # what applies
    spend: Decimal
    reserved: Decimal
    currency: str
    period: str  # YYYY-MM
    api_key_id: int | None = None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.limit is None else max(self.limit - self.spend - self.reserved, Decimal("0.00"))

    @property
    def used_percent(self) -> int | None:
        if not self.limit:
            return None
        return min(int((self.spend + self.reserved) * 100 / self.limit), 100)


def budget_get(*, tenant: Tenant, api_key_id: int | None = None) -> BudgetStatus:
    """The limit, this month's spend and the reserved amount; for one key when ``api_key_id``
    (another tenant's key: ApiKey.DoesNotExist, a 404)."""
    if api_key_id is not None:
        ApiKey.objects.for_tenant(tenant).get(pk=api_key_id)
    budget = Budget.objects.for_tenant(tenant).filter(api_key_id=api_key_id).first() if api_key_id else \
        Budget.objects.for_tenant(tenant).filter(api_key__isnull=True).first()
    since = month_start()
    spend, reserved = budget_amounts(tenant=tenant, api_key_id=api_key_id, since=since)
    return BudgetStatus(
        monthly_limit=budget.monthly_limit if budget else None,
        limit_cap=budget.limit_cap if budget else None,
        limit=budget.effective_limit if budget else None,
        spend=spend, reserved=reserved, currency=budget.currency if budget else "usd",
        period=since.strftime("%Y-%m"), api_key_id=api_key_id,
    )
