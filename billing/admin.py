from django.contrib import admin

from .models import UsageRecord


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
