"""The console's jobs and assets: read-only records (no field of a job or an asset is edited here),
jobs across tenants filtered by status, provider, model, mode and age, with actions to retry a
stuck job and cancel (``jobs.operator``, through the same writers as the pipeline)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from config.errors import ParleyError
from config.read_only_admin import ReadOnlyAdmin

from .models import ACTIVE_STATUSES, Asset, Job, JobEvent
from .operator import job_cancel_by_operator, job_retry_now


@admin.register(Asset)
class AssetAdmin(ReadOnlyAdmin):
    list_display = ["id", "tenant", "kind", "content_type", "size_bytes", "duration_s", "created_at"]
    list_filter = ["kind"]
    search_fields = ["id", "tenant__name", "original_name", "sha256"]
    list_select_related = ["tenant"]


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "to_status", "message"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


class ProviderDuplicatesFilter(admin.SimpleListFilter):
    """Jobs whose lost submit answer may have cost us a second provider task (a provider cost of
    ours, never charged to the tenant): see docs/architecture.md, "A submit whose fate is unknown"."""

    title = "provider duplicates"
    parameter_name = "duplicates"

    def lookups(self, request, model_admin):  # noqa: ANN001, ANN201
        return [("yes", "With duplicate provider tasks")]

    def queryset(self, request, queryset):  # noqa: ANN001, ANN201
        return queryset.filter(provider_duplicates__gt=0) if self.value() == "yes" else queryset


class AgeFilter(admin.SimpleListFilter):
    """How long ago the job was created; "stuck" is unfinished and older than 15 minutes."""

    title = "age"
    parameter_name = "age"
    AGES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request, model_admin):  # noqa: ANN001, ANN201
        return [("1h", "Last hour"), ("1d", "Last day"), ("7d", "Last 7 days"), ("older", "Older than 7 days"),
                ("stuck", "Unfinished, older than 15 minutes")]

    def queryset(self, request, queryset):  # noqa: ANN001, ANN201
        now = timezone.now()
        value = self.value()
        if value in self.AGES:
            return queryset.filter(created_at__gte=now - self.AGES[value])
        if value == "older":
            return queryset.filter(created_at__lt=now - self.AGES["7d"])
        if value == "stuck":
            return queryset.filter(status__in=ACTIVE_STATUSES, created_at__lt=now - timedelta(minutes=15))
        return queryset


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Read-only: a job's state changes only through the pipeline's compare-and-set (the actions
    below call the operator's services, which use it)."""

    list_display = ["id", "tenant", "provider", "model_id", "status", "emulated", "livemode", "quote_amount",
                    "provider_duplicates", "created_at", "completed_at"]
    list_filter = ["status", "provider", "model_id", AgeFilter, "emulated", "livemode", ProviderDuplicatesFilter]
    list_select_related = ["tenant"]
    search_fields = ["id", "tenant__name", "provider_request_id"]
    inlines = [JobEventInline]
    date_hierarchy = "created_at"
    actions = ["retry_now", "cancel"]

    @admin.action(description="Retry the selected stuck jobs now (their next step becomes due)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._each(request, queryset, job_retry_now, "Retried")

    @admin.action(description="Cancel the selected jobs (never charged; the provider is asked to stop)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._each(request, queryset, job_cancel_by_operator, "Canceled")

    def _each(self, request: HttpRequest, queryset: QuerySet[Job], service: object, done: str) -> None:
        count = 0
        for job_id in queryset.values_list("pk", flat=True):
            try:
                service(job_id=job_id, operator=request.user)
            except (ParleyError, PermissionDenied) as exc:
                self.message_user(request, f"Job {job_id}: {getattr(exc, 'message', exc)}", messages.ERROR)
                continue
            count += 1
        if count:
            self.message_user(request, f"{done} {count} job(s).", messages.SUCCESS)
