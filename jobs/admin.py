from django.contrib import admin

from .models import Asset, Job, JobEvent


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "kind", "content_type", "size_bytes", "duration_s", "created_at"]
    list_filter = ["kind"]
    search_fields = ["id", "tenant__name", "original_name", "sha256"]
    readonly_fields = [f.name for f in Asset._meta.fields]


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "to_status", "message"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
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


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """Read-only: a job's state changes only through the pipeline's compare-and-set."""

    list_display = ["id", "tenant", "model_id", "status", "emulated", "livemode", "quote_amount",
                    "provider_duplicates", "created_at", "completed_at"]
    list_filter = ["status", "provider", "model_id", "emulated", "livemode", ProviderDuplicatesFilter]
    search_fields = ["id", "tenant__name", "provider_request_id"]
    readonly_fields = [f.name for f in Job._meta.fields]
    inlines = [JobEventInline]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False
