from django.contrib import admin

from .models import Budget, Reservation, UsageRecord


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """The ledger is append-only: nothing here can be edited or deleted."""

    list_display = ["job", "tenant", "model_id", "seconds", "billable_seconds", "amount", "currency", "livemode",
                    "created_at"]
    list_filter = ["livemode", "model_id"]
    search_fields = ["job__id", "tenant__name"]
    readonly_fields = [f.name for f in UsageRecord._meta.fields]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    """The operator caps a tenant's limit here (``limit_cap``); the owner's own limit is theirs to set."""

    list_display = ["tenant", "api_key", "monthly_limit", "limit_cap", "currency", "updated_at"]
    search_fields = ["tenant__name"]
    fields = ["tenant", "api_key", "monthly_limit", "limit_cap", "currency", "alerted_80_month", "alerted_100_month"]
    readonly_fields = ["monthly_limit", "alerted_80_month", "alerted_100_month"]
    raw_id_fields = ["tenant", "api_key"]


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """Reservations are written by job creation and settled when the job ends: read-only here."""

    list_display = ["job_id", "tenant", "api_key_id", "amount", "currency", "state", "created_at", "settled_at"]
    list_filter = ["state"]
    search_fields = ["job_id", "tenant__name"]
    readonly_fields = [f.name for f in Reservation._meta.fields]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
