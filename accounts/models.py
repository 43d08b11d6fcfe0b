"""Users, tenants, memberships with roles, and API keys."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person. Logs in with an email address; belongs to tenants through memberships."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class Tenant(models.Model):
    """A customer account (a team). Every tenant-owned row points here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    # The tenant's price is the provider price times this (the platform's margin).
    price_multiplier = models.DecimalField(max_digits=6, decimal_places=3, default=1)
    # The operator's overrides of the settings' defaults (empty: the default applies): API requests
    # per API_RATE_WINDOW_S for each of the tenant's keys and for the whole tenant, and how many of
    # its jobs may be in flight at providers at once (the rest wait queued).
    api_rate_limit_per_key = models.PositiveIntegerField(
        null=True, blank=True, help_text="API requests per window for each key (empty: API_RATE_LIMIT_PER_KEY).")
    api_rate_limit_per_tenant = models.PositiveIntegerField(
        null=True, blank=True, help_text="API requests per window for the team (empty: API_RATE_LIMIT_PER_TENANT).")
    max_running_jobs = models.PositiveIntegerField(
        null=True, blank=True, help_text="Jobs running at once; more wait queued (empty: TENANT_MAX_RUNNING_JOBS).")
    created_at = models.DateTimeField(auto_now_add=True)
    # An operator's suspension (accounts.suspension): new jobs are refused while set; running ones finish.
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=500, blank=True)
    # A team its owner deleted whose ledger must be kept (accounts.teams.tenant_delete): no members,
    # no working keys, kept only for the ledger's sake.
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> TenantQuerySet:
        return self.filter(tenant=tenant)


class TenantOwned(models.Model):
    """Abstract base of every tenant-owned model: a non-null tenant and ``for_tenant()``."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# What each role may do (docs/architecture.md, "Tenancy"): viewer reads; member creates jobs and assets;
# admin also manages keys, webhooks and members; owner also billing.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def role_allows(role: str, required: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


class Membership(TenantOwned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_user_tenant")]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.role})"


class ApiKeyMode(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


def revoke_and_forget_creator(collector, field, sub_objs, using) -> None:  # noqa: ANN001 - Django's on_delete
    """``ApiKey.created_by``'s on_delete: a deleted user's keys are revoked, then their creator is
    forgotten. Without the revocation a key with no creator would count as the system's and keep
    working. The keys are named by id, so the two updates may run in either order."""
    if isinstance(sub_objs, QuerySet):
        ids = list(sub_objs.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    else:
        ids = [key.pk for key in sub_objs if key.revoked_at is None]
    if ids:
        collector.add_field_update(field.model._meta.get_field("revoked_at"), timezone.now(),
                                   field.model._base_manager.using(using).filter(pk__in=ids))
    collector.add_field_update(field, None, sub_objs)


class ApiKey(TenantOwned):
    """A secret for the REST API. The secret is shown once at creation and stored only as a
    SHA-256 hash (it is 256 random bits, so a fast hash is safe); ``prefix`` is what the
    dashboard shows to tell keys apart. Live and test keys differ by prefix (prl_live_/prl_test_).

    ``created_by`` is the person whose rights the key borrows (a key made by a key has its maker's
    creator): the key works only while they are a member of the tenant, with at most their current
    role. A key without one was made by the system (an operator's command) and stands alone."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=24)
    hashed_key = models.CharField(max_length=64, unique=True)
    mode = models.CharField(max_length=4, choices=ApiKeyMode.choices, default=ApiKeyMode.LIVE)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=revoke_and_forget_creator, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # When its secret was shown (the API's answer, or the dashboard's page after the redirect):
    # the dashboard shows a secret only while this is unset, so at most once (accounts.key_reveal).
    secret_shown_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def livemode(self) -> bool:
        return self.mode == ApiKeyMode.LIVE


class Invitation(TenantOwned):
    """An invitation to join a team with a role, sent by email. The link carries a signed,
    expiring token naming this row (accounts.invitations); the row says whether it was answered."""

    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "email"], name="invitation_tenant_email")]

    def __str__(self) -> str:
        return f"{self.email} to {self.tenant_id} as {self.role}"

    def is_open(self, now: object = None) -> bool:
        """Neither answered nor withdrawn, and not expired."""
        now = now or timezone.now()
        return (self.accepted_at is None and self.declined_at is None and self.revoked_at is None
                and self.expires_at > now)


class AuditEvent(models.Model):
    """One line of the audit log: who (a person, a key, an operator or the system) did what, to
    what, in which tenant, when and from which address. Written by ``accounts.audit.audit_record``
    only, never edited. ``tenant`` is null for platform events; a tenant's events outlive its
    members and keys (the labels are copies)."""

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=60, db_index=True)
    target = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target}"
