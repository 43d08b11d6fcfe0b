from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Tenant

from .models import UsageRecord


def usage_record_list(*, tenant: Tenant) -> QuerySet[UsageRecord]:
    return UsageRecord.objects.for_tenant(tenant).order_by("-created_at")
