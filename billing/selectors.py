"""Every sum of money anyone sees, read from the ledger: balances, a period's spend, usage reports
grouped by day, model or API key, and the ledger's entries in order. The API, the dashboard and the
admin call these; none of them adds up money on its own.

Each entry counts on the day it was written: a refund lowers the spend of the period it was given
in (as the invoice that reports it), under the charge's model and API key."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from django.db.models import Count, F, QuerySet, Sum
from django.db.models.functions import TruncDate

from accounts.models import ApiKey, Tenant

from .models import (
    Budget,
    CreditGrant,
    Refund,
    Reservation,
    ReservationState,
    StripeAccount,
    StripeInvoice,
    UsageRecord,
)
from .money import CURRENCY, to_cents

ZERO = Decimal("0.00")
GROUP_BY = ("day", "model", "api_key")
GroupBy = Literal["day", "model", "api_key"]
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


# --- periods ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """A calendar month in UTC, [start, end)."""

    label: str  # "2026-11"
    start: datetime
    end: datetime


def period_parse(value: str) -> Period:
    """"YYYY-MM" -> the month it names; ValueError saying what is wrong otherwise."""
    match = _PERIOD.match(value or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise ValueError(f"'{value}' is not a month: use YYYY-MM, for example 2026-11.")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC) if month == 12 else datetime(year, month + 1, 1, tzinfo=UTC)
    return Period(label=f"{year:04d}-{month:02d}", start=start, end=end)


def period_current(*, now: datetime | None = None) -> Period:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return period_parse(f"{now.year:04d}-{now.month:02d}")


def period_days(period: Period) -> list[date]:
    days = calendar.monthrange(period.start.year, period.start.month)[1]
    return [date(period.start.year, period.start.month, d) for d in range(1, days + 1)]


# --- sums --------------------------------------------------------------------------------------
def _cents(total: Decimal | None) -> Decimal:
    """A database sum of cent amounts, as cents: SQLite sums decimals as floats (0.800000000000000),
    so the sum is brought back to the cent it already is."""
    return to_cents(total) if total is not None else ZERO


def _sum(queryset: QuerySet) -> Decimal:
    return _cents(queryset.aggregate(total=Sum("amount"))["total"])


def _between(queryset: QuerySet, start: datetime | None, end: datetime | None) -> QuerySet:
    if start is not None:
        queryset = queryset.filter(created_at__gte=start)
    if end is not None:
        queryset = queryset.filter(created_at__lt=end)
    return queryset


def period_charges(*, tenant: Tenant, livemode: bool, start: datetime | None, end: datetime | None) -> Decimal:
    return _sum(_between(UsageRecord.objects.for_tenant(tenant).filter(livemode=livemode), start, end))


def period_refunds(*, tenant: Tenant, livemode: bool, start: datetime | None, end: datetime | None) -> Decimal:
    return _sum(_between(Refund.objects.for_tenant(tenant).filter(livemode=livemode), start, end))


def period_credits(*, tenant: Tenant, livemode: bool, start: datetime | None, end: datetime | None) -> Decimal:
    """Credit granted in [start, end): live mode only (test mode is never billed)."""
    if not livemode:
        return ZERO
    return _sum(_between(CreditGrant.objects.for_tenant(tenant), start, end))


def period_spend(*, tenant: Tenant, livemode: bool, start: datetime | None, end: datetime | None) -> Decimal:
    """What the tenant spent in [start, end): charges less refunds (credit is counted apart)."""
    return (period_charges(tenant=tenant, livemode=livemode, start=start, end=end)
            - period_refunds(tenant=tenant, livemode=livemode, start=start, end=end))


@dataclass(frozen=True)
class LedgerBalance:
    """A tenant's ledger summed up to a moment (all of it by default), in one mode."""

    charges: Decimal
    refunds: Decimal
    credits: Decimal
    currency: str = CURRENCY

    @property
    def spend(self) -> Decimal:
        return self.charges - self.refunds

    @property
    def credit_remaining(self) -> Decimal:
        """Credit not yet used up by the spend."""
        return max(self.credits - self.spend, ZERO)

    @property
    def amount_due(self) -> Decimal:
        """Spend beyond the credit: what a payment method has to cover."""
        return max(self.spend - self.credits, ZERO)


def ledger_balance(*, tenant: Tenant, livemode: bool = True, end: datetime | None = None) -> LedgerBalance:
    return LedgerBalance(
        charges=period_charges(tenant=tenant, livemode=livemode, start=None, end=end),
        refunds=period_refunds(tenant=tenant, livemode=livemode, start=None, end=end),
        credits=period_credits(tenant=tenant, livemode=livemode, start=None, end=end),
    )


# --- usage reports -----------------------------------------------------------------------------
@dataclass
class UsageGroup:
    key: str | None  # the day (ISO date), the model id, or the API key's id (None: made without a key)
    label: str
    jobs: int = 0  # charges in the group
    charged: Decimal = ZERO
    refunded: Decimal = ZERO

    @property
    def amount(self) -> Decimal:
        return self.charged - self.refunded


@dataclass
class UsageReport:
    period: Period
    group_by: GroupBy
    livemode: bool
    groups: list[UsageGroup] = field(default_factory=list)
    currency: str = CURRENCY

    @property
    def total(self) -> Decimal:
        return sum((g.amount for g in self.groups), ZERO)

    @property
    def charged(self) -> Decimal:
        return sum((g.charged for g in self.groups), ZERO)

    @property
    def refunded(self) -> Decimal:
        return sum((g.refunded for g in self.groups), ZERO)


_CHARGE_KEYS = {"day": TruncDate("created_at", tzinfo=UTC), "model": F("model_id"), "api_key": F("api_key_id")}
_REFUND_KEYS = {"day": TruncDate("created_at", tzinfo=UTC), "model": F("usage_record__model_id"),
                "api_key": F("usage_record__api_key_id")}


def _key(value: object) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def usage_report(*, tenant: Tenant, livemode: bool, period: Period, group_by: GroupBy) -> UsageReport:
    """One mode's usage in a month, grouped; every day of the month when grouped by day (a chart's
    bars), only the models or keys that have entries otherwise (largest amount first)."""
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}")
    charges = (
        _between(UsageRecord.objects.for_tenant(tenant).filter(livemode=livemode), period.start, period.end)
        .order_by().values(k=_CHARGE_KEYS[group_by]).annotate(total=Sum("amount"), n=Count("id"))
    )
    refunds = (
        _between(Refund.objects.for_tenant(tenant).filter(livemode=livemode), period.start, period.end)
        .order_by().values(k=_REFUND_KEYS[group_by]).annotate(total=Sum("amount"))
    )
    groups: dict[str | None, UsageGroup] = {}
    if group_by == "day":
        groups = {d.isoformat(): UsageGroup(key=d.isoformat(), label=d.isoformat()) for d in period_days(period)}
    for row in charges:
        group = groups.setdefault(_key(row["k"]), UsageGroup(key=_key(row["k"]), label=str(row["k"])))
        group.charged += _cents(row["total"])
        group.jobs += row["n"]
    for row in refunds:
        group = groups.setdefault(_key(row["k"]), UsageGroup(key=_key(row["k"]), label=str(row["k"])))
        group.refunded += _cents(row["total"])
    if group_by == "api_key":
        _label_keys(tenant=tenant, groups=groups.values())
    ordered = list(groups.values())
    if group_by != "day":
        ordered.sort(key=lambda g: (-g.amount, g.label))
    return UsageReport(period=period, group_by=group_by, livemode=livemode, groups=ordered)


def _label_keys(*, tenant: Tenant, groups: Iterable[UsageGroup]) -> None:
    groups = list(groups)
    ids = [int(g.key) for g in groups if g.key is not None]
    keys = {k.pk: k for k in ApiKey.objects.for_tenant(tenant).filter(pk__in=ids).only("name", "prefix")} \
        if ids else {}
    for group in groups:
        key = keys.get(int(group.key)) if group.key is not None else None
        if group.key is None:
            group.label = "no API key (dashboard)"
        elif key is None:
            group.label = f"API key {group.key}"
        else:
            group.label = f"{key.name} ({key.prefix}…)"


# --- the ledger's entries ----------------------------------------------------------------------
@dataclass(frozen=True)
class LedgerLine:
    """One ledger entry for display: a charge, a refund or a credit, with its signed effect on the
    spend (charges +, refunds and credits -)."""

    kind: Literal["charge", "refund", "credit"]
    created_at: datetime
    amount: Decimal
    currency: str
    livemode: bool
    description: str
    job_id: str | None = None
    operator: str | None = None
    entry_id: int | None = None


def ledger_lines(*, tenant: Tenant, livemode: bool | None = None, limit: int | None = None) -> list[LedgerLine]:
    """The tenant's ledger, newest first (one mode, or both when ``livemode`` is None)."""
    charges = UsageRecord.objects.for_tenant(tenant)
    refunds = Refund.objects.for_tenant(tenant).select_related("usage_record", "operator")
    credits = CreditGrant.objects.for_tenant(tenant).select_related("operator")
    if livemode is not None:
        charges, refunds = charges.filter(livemode=livemode), refunds.filter(livemode=livemode)
        if not livemode:
            credits = credits.none()
    if limit is not None:
        charges, refunds, credits = charges[:limit], refunds[:limit], credits[:limit]
    lines = [
        LedgerLine(kind="charge", created_at=c.created_at, amount=c.amount, currency=c.currency, livemode=c.livemode,
                   description=f"{c.model_id}: {c.billable_seconds} billable s", job_id=str(c.job_id),
                   entry_id=c.pk)
        for c in charges
    ] + [
        LedgerLine(kind="refund", created_at=r.created_at, amount=-r.amount, currency=r.currency, livemode=r.livemode,
                   description=r.reason, job_id=str(r.usage_record.job_id), operator=r.operator.email,
                   entry_id=r.pk)
        for r in refunds
    ] + [
        LedgerLine(kind="credit", created_at=g.created_at, amount=-g.amount, currency=g.currency, livemode=True,
                   description=f"{g.get_kind_display()}: {g.reason}",
                   operator=g.operator.email if g.operator else None, entry_id=g.pk)
        for g in credits
    ]
    lines.sort(key=lambda line: line.created_at, reverse=True)
    return lines[:limit] if limit is not None else lines



# --- budgets -----------------------------------------------------------------------------------
def month_start(now: datetime | None = None) -> datetime:
    """The first instant of the current month: budgets run on the ledger's periods (UTC months)."""
    return period_current(now=now).start


def budget_amounts(*, tenant: Tenant, api_key_id: int | None, since: datetime) -> tuple[Decimal, Decimal]:
    """(spend since ``since``: live charges less refunds, from the ledger; reserved by unfinished
    live jobs) for the tenant, or for one key."""
    charges = UsageRecord.objects.for_tenant(tenant).filter(livemode=True, created_at__gte=since)
    refunds = Refund.objects.for_tenant(tenant).filter(livemode=True, created_at__gte=since)
    held = Reservation.objects.for_tenant(tenant).filter(state=ReservationState.RESERVED)
    if api_key_id is not None:
        charges = charges.filter(api_key_id=api_key_id)
        refunds = refunds.filter(usage_record__api_key_id=api_key_id)
        held = held.filter(api_key_id=api_key_id)
    return _sum(charges) - _sum(refunds), _sum(held)


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


def key_spend_this_month(*, tenant: Tenant, livemode: bool) -> dict[int, Decimal]:
    """Each API key's spend this month (charges less refunds, from the ledger) in one mode, by key id;
    keys that spent nothing are absent. Two queries whatever the number of keys."""
    since = month_start()
    charges = (UsageRecord.objects.for_tenant(tenant).filter(livemode=livemode, created_at__gte=since,
                                                             api_key_id__isnull=False)
               .order_by().values("api_key_id").annotate(total=Sum("amount")))
    refunds = (Refund.objects.for_tenant(tenant).filter(livemode=livemode, created_at__gte=since,
                                                        usage_record__api_key_id__isnull=False)
               .order_by().values("usage_record__api_key_id").annotate(total=Sum("amount")))
    spend: dict[int, Decimal] = {row["api_key_id"]: _cents(row["total"]) for row in charges}
    for row in refunds:
        key_id = row["usage_record__api_key_id"]
        spend[key_id] = spend.get(key_id, ZERO) - _cents(row["total"])
    return spend


def ledger_refers_to(*, tenant: Tenant) -> bool:
    """Whether any ledger entry or Stripe record names the tenant (then its row must stay)."""
    return any(model.objects.filter(tenant=tenant).exists()
               for model in (UsageRecord, Refund, CreditGrant, StripeAccount, StripeInvoice))
