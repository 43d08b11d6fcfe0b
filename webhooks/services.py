"""What tenants do with webhooks: endpoints (admin and owner only), their secrets and rotation,
the tenant's per-job webhook secret, and test events."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actors import Actor
from accounts.audit import AuditAction, audit_record
from accounts.models import Role, Tenant

from .events import webhook_event_record
from .models import DEFAULT_EVENTS, JOB_EVENTS, TEST_EVENT, JobWebhookSecret, SigningSecrets, WebhookEndpoint
from .secrets import secret_decrypt, secret_encrypt, secret_generate
from .url_rules import webhook_url_check

MAX_DESCRIPTION = 200


def webhook_events_normalize(events: object, *, field: str = "events") -> list[str]:
    """A list of known event names without repeats, in our order; None means the default set."""
    if events is None:
        return list(DEFAULT_EVENTS)
    if not isinstance(events, list | tuple) or not events or not all(isinstance(e, str) for e in events):
        raise ValidationError({field: [f"Must be a non-empty list of event names: {', '.join(JOB_EVENTS)}."]})
    unknown = [e for e in events if e not in JOB_EVENTS]
    if unknown:
        raise ValidationError({field: [f"Unknown event {unknown[0]!r}. Known events: {', '.join(JOB_EVENTS)}."]})
    return [e for e in JOB_EVENTS if e in events]


def _overlap(overlap_s: object) -> timedelta:
    limit = settings.WEBHOOK_ROTATION_MAX_OVERLAP_S
    if overlap_s is None:
        return timedelta(seconds=settings.WEBHOOK_ROTATION_OVERLAP_S)
    if isinstance(overlap_s, bool) or not isinstance(overlap_s, int) or not 0 <= overlap_s <= limit:
        raise ValidationError({"overlap_s": [f"Must be a whole number of seconds between 0 and {limit} inclusive."]})
    return timedelta(seconds=overlap_s)


def _rotate(holder: SigningSecrets, overlap: timedelta) -> str:
    """A new current secret; the old one keeps signing until the overlap ends (or stops at once)."""
    now = timezone.now()
    secret = secret_generate()
    holder.previous_secret_encrypted = holder.secret_encrypted if overlap else ""
    holder.previous_secret_expires_at = now + overlap if overlap else None
    holder.secret_encrypted = secret_encrypt(secret)
    holder.secret_rotated_at = now
    holder.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at",
                               "secret_rotated_at"])
    return secret


def _endpoint_of(tenant: Tenant, actor: Actor, endpoint_id: int, *, lock: bool = False) -> WebhookEndpoint:
    """The endpoint in the actor's tenant and mode; any other is WebhookEndpoint.DoesNotExist (404)."""
    rows = WebhookEndpoint.objects.for_tenant(tenant).filter(livemode=actor.livemode)
    return (rows.select_for_update() if lock else rows).get(pk=endpoint_id)


@transaction.atomic
def webhook_endpoint_create(*, tenant: Tenant, actor: Actor, url: object, events: object = None,
                            description: str = "") -> tuple[WebhookEndpoint, str]:
    """A new endpoint in the actor's mode, and its signing secret (returned once, stored encrypted)."""
    actor.require(Role.ADMIN)
    errors: dict[str, list[str]] = {}
    checked: dict[str, object] = {}
    for field, check in (("url", lambda: webhook_url_check(url, field="url")),
                         ("events", lambda: webhook_events_normalize(events))):
        try:
            checked[field] = check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = [f"Must be at most {MAX_DESCRIPTION} characters long (got {len(description)})."]
    limit = settings.WEBHOOK_MAX_ENDPOINTS
    if WebhookEndpoint.objects.for_tenant(tenant).filter(livemode=actor.livemode).count() >= limit:
        errors["url"] = [f"A team may have at most {limit} webhook endpoints per mode; delete one first."]
    if errors:
        raise ValidationError(errors)
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant, url=checked["url"], events=checked["events"], description=description,
        livemode=actor.livemode, created_by=actor.user, secret_encrypted=secret_encrypt(secret),
    )
    audit_record(actor, tenant, AuditAction.WEBHOOK_ENDPOINT_CHANGED, f"created {endpoint.url}")
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(*, tenant: Tenant, actor: Actor, endpoint_id: int, url: object = None,
                            events: object = None, description: str | None = None,
                            enabled: bool | None = None) -> WebhookEndpoint:
    """Change what is given. Enabling a disabled endpoint clears its failure streak."""
    actor.require(Role.ADMIN)
    endpoint = _endpoint_of(tenant, actor, endpoint_id, lock=True)
    if url is not None:
        endpoint.url = webhook_url_check(url, field="url")
    if events is not None:
        endpoint.events = webhook_events_normalize(events)
    if description is not None:
        if len(description) > MAX_DESCRIPTION:
            raise ValidationError({"description": [f"Must be at most {MAX_DESCRIPTION} characters long."]})
        endpoint.description = description
    if enabled is True and endpoint.disabled_at is not None:
        endpoint.disabled_at, endpoint.disabled_reason = None, ""
        endpoint.consecutive_failures, endpoint.failing_since = 0, None
    elif enabled is False and endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = timezone.now(), f"Disabled by {actor.label}."
    endpoint.save()
    audit_record(actor, tenant, AuditAction.WEBHOOK_ENDPOINT_CHANGED, f"updated {endpoint.url}")
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, tenant: Tenant, actor: Actor, endpoint_id: int) -> None:
    """Delete it with its messages and delivery log; nothing more is sent to it."""
    actor.require(Role.ADMIN)
    endpoint = _endpoint_of(tenant, actor, endpoint_id)
    endpoint.delete()
    audit_record(actor, tenant, AuditAction.WEBHOOK_ENDPOINT_CHANGED, f"deleted {endpoint.url}")


@transaction.atomic
def webhook_endpoint_secret_rotate(*, tenant: Tenant, actor: Actor, endpoint_id: int,
                                   overlap_s: object = None) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned once); the old one still signs, alongside, for ``overlap_s`` seconds
    (WEBHOOK_ROTATION_OVERLAP_S by default; 0 stops it at once), so receivers can switch over."""
    actor.require(Role.ADMIN)
    overlap = _overlap(overlap_s)
    endpoint = _endpoint_of(tenant, actor, endpoint_id, lock=True)
    secret = _rotate(endpoint, overlap)
    audit_record(actor, tenant, AuditAction.WEBHOOK_ENDPOINT_CHANGED, f"rotated the secret of {endpoint.url}")
    return endpoint, secret


def webhook_endpoint_test_send(*, tenant: Tenant, actor: Actor, endpoint_id: int) -> list[int]:
    """Queue a ``webhook.test`` event to this one endpoint (even if it does not list it, or is
    disabled: a test is how one checks a fix), delivered and logged like any other message."""
    actor.require(Role.ADMIN)
    with transaction.atomic():
        endpoint = _endpoint_of(tenant, actor, endpoint_id)
        data = {"object": "webhook_test", "endpoint_id": endpoint.pk,
                "message": f"A test event sent by {actor.label}."}
        return webhook_event_record(tenant_id=tenant.pk, livemode=endpoint.livemode, event_type=TEST_EVENT,
                                    data=data, endpoints=[endpoint])


# --- the tenant's secret for per-job webhooks -----------------------------------------------------
def job_webhook_secret_ensure(*, tenant_id: int, livemode: bool) -> JobWebhookSecret:
    """The tenant's per-job webhook secret of a mode, made on first need (two first calls at once
    make one: a unique constraint)."""
    found = JobWebhookSecret.objects.filter(tenant_id=tenant_id, livemode=livemode).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return JobWebhookSecret.objects.create(tenant_id=tenant_id, livemode=livemode,
                                                   secret_encrypted=secret_encrypt(secret_generate()))
    except IntegrityError:
        return JobWebhookSecret.objects.get(tenant_id=tenant_id, livemode=livemode)


def job_webhook_secret_get(*, tenant: Tenant, actor: Actor) -> str:
    """The secret that signs the per-job webhooks of the actor's mode (admins and owners)."""
    actor.require(Role.ADMIN)
    return secret_decrypt(job_webhook_secret_ensure(tenant_id=tenant.pk, livemode=actor.livemode).secret_encrypted)


@transaction.atomic
def job_webhook_secret_rotate(*, tenant: Tenant, actor: Actor, overlap_s: object = None) -> str:
    actor.require(Role.ADMIN)
    overlap = _overlap(overlap_s)
    holder = job_webhook_secret_ensure(tenant_id=tenant.pk, livemode=actor.livemode)
    holder = JobWebhookSecret.objects.select_for_update().get(pk=holder.pk)
    secret = _rotate(holder, overlap)
    audit_record(actor, tenant, AuditAction.WEBHOOK_ENDPOINT_CHANGED, "rotated the job webhook secret")
    return secret

