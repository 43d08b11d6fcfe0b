"""The admin site for users, tenants with their memberships, and API keys (keys change only
through the services, acting as the system)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from .actors import Actor
from .models import ApiKey, Membership, Tenant, User
from .services import api_key_revoke


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "is_staff", "is_active", "date_joined"]
    search_fields = ["email"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "id", "price_multiplier", "created_at"]
    search_fields = ["name", "id"]
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "tenant", "mode", "role", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["mode", "role"]
    search_fields = ["name", "prefix", "tenant__name"]
    # Only the name is edited here; a key's tenant, mode, role and revocation change through the
    # services (revoke with the action below), never by editing the row.
    readonly_fields = ["tenant", "prefix", "hashed_key", "mode", "role", "created_by", "created_at",
                       "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001 - keys are made by the service (secret shown once)
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.select_related("tenant"))
        for key in keys:
            api_key_revoke(tenant=key.tenant, actor=Actor.system(key.tenant), key_id=key.pk)
        self.message_user(request, f"Revoked {len(keys)} key(s).", messages.SUCCESS)
