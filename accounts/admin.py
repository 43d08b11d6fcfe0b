"""The admin site for users (with their email addresses: allauth's own "Accounts" section is folded
in here, so the console has one), memberships and API keys (keys change and members leave only
through the services, acting as the system). Tenants are the console's (``console.admin``), which
shows what billing knows of them."""

from allauth.account.models import EmailAddress
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from config.errors import ParleyError

from .actors import Actor
from .models import ApiKey, Membership, Role, User
from .services import api_key_revoke, membership_remove
from .teams import membership_role_change


class EmailAddressInline(admin.TabularInline):
    """allauth's email addresses of the user (verified or not), shown on the user's page."""

    model = EmailAddress
    extra = 0
    fields = ["email", "verified", "primary"]


if admin.site.is_registered(EmailAddress):
    admin.site.unregister(EmailAddress)  # one "Accounts" section: addresses are on the user's page


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
    inlines = [EmailAddressInline]


class MembershipInline(admin.TabularInline):
    """A tenant's members, read-only here: people join by invitation, and an operator changes a
    role on the membership's own page (audited)."""

    model = Membership
    extra = 0
    fields = readonly_fields = ["user", "role", "created_at"]

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001 - members join by invitation
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001 - members leave by the service
        return False


class MembershipRoleForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["role"]

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        was = self.instance.role
        if was == Role.OWNER and role != Role.OWNER and not Membership.objects.for_tenant(self.instance.tenant) \
                .filter(role=Role.OWNER).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This is the team's last owner: make another member owner first.")
        return role


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Members are removed with the two actions (through ``membership_remove``, which keeps the
    last owner and can revoke the member's API keys), never by deleting the row."""

    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__name"]
    fields = ["user", "tenant", "role", "created_at"]
    readonly_fields = ["user", "tenant", "created_at"]  # only the role changes here, and it is audited
    actions = ["remove_from_team", "remove_from_team_and_revoke_keys"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001 - members join by invitation
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    form = MembershipRoleForm

    def save_model(self, request: HttpRequest, obj: Membership, form, change: bool) -> None:  # noqa: ANN001
        """The role changes through the service (which keeps an owner and audits, as the operator)."""
        if "role" in form.changed_data:
            membership_role_change(actor=Actor(tenant=obj.tenant, role=Role.OWNER, user=request.user),
                                   membership_id=obj.pk, role=obj.role)

    @admin.action(description="Remove from team (their API keys stop working until they are re-added)")
    def remove_from_team(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._remove(request, queryset, revoke_keys=False)

    @admin.action(description="Remove from team and revoke their API keys")
    def remove_from_team_and_revoke_keys(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        self._remove(request, queryset, revoke_keys=True)

    def _remove(self, request: HttpRequest, queryset: QuerySet[Membership], *, revoke_keys: bool) -> None:
        removed, revoked = 0, 0
        for membership in queryset.select_related("tenant", "user"):
            try:
                keys = membership_remove(actor=Actor.system(membership.tenant), membership=membership,
                                         revoke_keys=revoke_keys)
            except ParleyError as exc:
                self.message_user(request, f"{membership.user} in {membership.tenant}: {exc.message}", messages.ERROR)
                continue
            removed += 1
            revoked += len(keys)
        if removed:
            self.message_user(request, f"Removed {removed} member(s); revoked {revoked} API key(s).", messages.SUCCESS)


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
