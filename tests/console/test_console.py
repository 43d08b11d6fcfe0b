"""The operator's console (Django admin, staff only): tenants with plan, multiplier, limit and free
allowance, suspended and reinstated with a reason; jobs across tenants, read-only, filtered by
status, provider, model and age, retried and canceled through the jobs services; one "Accounts"
section; the audit log read-only; the provider health page's figures."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.audit import AuditAction
from accounts.models import AuditEvent, Membership, Role, Tenant, User
from billing.models import Budget
from console.health import percentile, provider_health
from jobs.models import Job, JobEvent, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="root@parley.example", password="pw-Secret-123"))
    return client


def make_job(tenant: Tenant, *, status: str = JobStatus.QUEUED, provider: str = "local", model_id: str = "local/still",
             emulated: bool = False, render_s: float | None = None, error_code: str = "", age: timedelta = timedelta(),
             **fields) -> Job:
    job = Job.objects.create(tenant=tenant, model_id=model_id, provider=provider, input={}, status=status,
                             emulated=emulated, quote_seconds=Decimal("1"), quote_amount=Decimal("0.10"),
                             error_code=error_code, **fields)
    updates = {"created_at": timezone.now() - age}
    if render_s is not None:
        end = timezone.now()
        updates.update(started_at=end - timedelta(seconds=render_s), completed_at=end)
    Job.objects.filter(pk=job.pk).update(**updates)
    job.refresh_from_db()
    return job


def test_staff_only(client, dashboard_login, tenant):
    assert client.get("/admin/").status_code == 302
    assert dashboard_login(tenant).get("/admin/accounts/tenant/").status_code == 302  # a tenant owner is not staff


def test_one_accounts_section(ops):
    index = ops.get("/admin/").content.decode()
    assert index.count('title="Models in the Accounts application"') == 1
    assert "/admin/account/emailaddress/" not in index
    assert "Provider health" in index and "Audit events" in index


def test_tenant_list_shows_plan_multiplier_limit_and_allowance(ops, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(price_multiplier=Decimal("1.250"))
    Budget.objects.create(tenant=tenant, monthly_limit=Decimal("50.00"), limit_cap=Decimal("40.00"))
    page = ops.get("/admin/accounts/tenant/").content.decode()
    assert "Acme" in page and "1.250" in page and "no plan" in page
    assert "40.00 (cap 40.00)" in page  # the owner's 50 lowered to the operator's cap
    assert '<td class="field-free_allowance">5.00</td>' in page  # the free allowance granted at sign-up


def test_suspend_with_a_reason_then_reinstate(ops, tenant):
    form = {"action": "suspend", "_selected_action": [str(tenant.pk)]}
    ask = ops.post("/admin/accounts/tenant/", form)
    assert ask.status_code == 200 and "Suspend these tenants?" in ask.content.decode()
    tenant.refresh_from_db()
    assert tenant.suspended_at is None  # nothing until the reason is given
    done = ops.post("/admin/accounts/tenant/", {**form, "apply": "1", "reason": "chargeback"})
    assert done.status_code == 302
    tenant.refresh_from_db()
    assert tenant.is_suspended and tenant.suspension_reason == "chargeback"
    assert "suspended" in ops.get("/admin/accounts/tenant/?state=suspended").content.decode()
    ops.post("/admin/accounts/tenant/", {"action": "unsuspend", "_selected_action": [str(tenant.pk)]})
    tenant.refresh_from_db()
    assert not tenant.is_suspended
    actions = list(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
    assert AuditAction.TENANT_SUSPENDED in actions and AuditAction.TENANT_UNSUSPENDED in actions


def test_a_job_page_has_no_editable_field(ops, tenant):
    job = make_job(tenant)
    page = ops.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    inputs = [tag for tag in re.findall(r"<input[^>]*>", page)
              if 'type="hidden"' not in tag and "nav-filter" not in tag]
    assert inputs == []  # only hidden ones (the CSRF token, the empty inline's counts) and the sidebar's filter
    assert "<select" not in page and "<textarea" not in page and 'name="_save"' not in page
    assert ops.post(f"/admin/jobs/job/{job.pk}/change/", {"status": "succeeded"}).status_code == 403
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_jobs_filtered_by_status_provider_model_and_age(ops, tenant, other_tenant):
    new = make_job(tenant, provider="fal", model_id="fal/x", status=JobStatus.RUNNING)
    old = make_job(other_tenant, age=timedelta(hours=2))
    failed = make_job(tenant, status=JobStatus.FAILED, age=timedelta(days=10))

    def ids(query: str) -> set[str]:
        page = ops.get(f"/admin/jobs/job/?{query}").content.decode()
        return {str(j.pk) for j in (new, old, failed) if str(j.pk) in page}

    assert ids("status__exact=running") == {str(new.pk)}
    assert ids("provider__exact=local") == {str(old.pk), str(failed.pk)}
    assert ids("model_id__exact=fal%2Fx") == {str(new.pk)}
    assert ids("age=1h") == {str(new.pk)}
    assert ids("age=stuck") == {str(old.pk)}  # unfinished, older than 15 minutes
    assert ids("age=older") == {str(failed.pk)}


def test_retry_a_stuck_job_and_cancel_one(ops, tenant):
    stuck = make_job(tenant, status=JobStatus.RUNNING, next_attempt_at=timezone.now() + timedelta(hours=1), attempts=3)
    held = make_job(tenant, status=JobStatus.SUBMITTING, next_attempt_at=timezone.now() + timedelta(minutes=1))
    ops.post("/admin/jobs/job/", {"action": "retry_now", "_selected_action": [str(stuck.pk), str(held.pk)]})
    stuck.refresh_from_db()
    held.refresh_from_db()
    assert stuck.next_attempt_at <= timezone.now() and stuck.attempts == 0
    assert JobEvent.objects.filter(job=stuck, message__contains="root@parley.example asked").exists()
    assert held.next_attempt_at > timezone.now()  # a worker holds it: refused, not doubled
    ops.post("/admin/jobs/job/", {"action": "cancel", "_selected_action": [str(stuck.pk)]})
    stuck.refresh_from_db()
    assert stuck.status == JobStatus.CANCELED
    event = AuditEvent.objects.get(tenant=tenant, action=AuditAction.JOB_CANCELED)
    assert event.actor_user.email == "root@parley.example"


def test_audit_log_is_read_only(ops, dashboard_login, tenant):
    dashboard_login(tenant)  # a sign-in
    event = AuditEvent.objects.get(tenant=tenant, action=AuditAction.SIGNED_IN)
    listing = ops.get("/admin/accounts/auditevent/").content.decode()
    assert "signed_in" in listing and "/admin/accounts/auditevent/add/" not in listing
    page = ops.get(f"/admin/accounts/auditevent/{event.pk}/change/").content.decode()
    assert "<textarea" not in page and 'name="_save"' not in page


def test_provider_health_figures(ops, tenant):
    for seconds in (10, 20, 30, 40, 100):
        make_job(tenant, status=JobStatus.SUCCEEDED, provider="fal", model_id="fal/a", emulated=True, render_s=seconds)
    make_job(tenant, status=JobStatus.FAILED, provider="fal", model_id="fal/a", emulated=True,
             error_code="provider_failed")
    make_job(tenant, status=JobStatus.FAILED, provider="fal", model_id="fal/a", emulated=True, error_code="timeout")
    make_job(tenant, status=JobStatus.RUNNING, provider="fal", model_id="fal/a", emulated=True)
    make_job(tenant, status=JobStatus.SUCCEEDED, provider="fal", model_id="fal/a", emulated=True, render_s=5,
             age=timedelta(hours=3))  # in the day, not the hour
    hour = {(r.provider, r.model_id): r for r in provider_health(since=timedelta(hours=1))}
    row = hour[("fal", "fal/a")]
    assert row.total == 8 and row.by_status["succeeded"] == 5 and row.by_status["running"] == 1
    assert row.error_rate == Decimal("28.6")  # 2 failed of 7 finished
    assert dict(row.errors) == {"provider_failed": 1, "timeout": 1}
    assert row.p50 == 30.0 and row.p95 == 100.0 and row.emulated
    day = provider_health(since=timedelta(days=1))[0]
    assert day.total == 9 and day.p50 == 20.0
    page = ops.get("/admin/console/providerhealth/").content.decode()
    assert "The last hour" in page and "fal/a" in page and "28.6 %" in page and "emulated" in page
    assert "provider_failed 1" in page and "30.0 s" in page


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([float(n) for n in range(1, 101)], 95) == 95.0


def test_a_tenant_cannot_be_deleted_from_the_console(ops, tenant):
    page = ops.get(f"/admin/accounts/tenant/{tenant.pk}/change/").content.decode()
    assert Role.OWNER.value in page and f"/admin/accounts/tenant/{tenant.pk}/delete/" not in page
    assert ops.post(f"/admin/accounts/tenant/{tenant.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Tenant.objects.filter(pk=tenant.pk).exists()


def test_editing_a_tenants_multiplier_is_audited(ops, tenant):
    url = f"/admin/accounts/tenant/{tenant.pk}/change/"
    page = ops.get(url).content.decode()
    form = dict(re.findall(r'<input type="(?:hidden|text|number)" name="([^"]+)" value="([^"]*)"', page))
    form.update({name: value for name, value in re.findall(
        r'<select name="([^"]+)"[^>]*>.*?<option value="([^"]*)" selected>', page, re.S)})
    form.update({"name": "Acme", "price_multiplier": "1.500"})
    response = ops.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant.refresh_from_db()
    assert tenant.price_multiplier == Decimal("1.500")
    event = AuditEvent.objects.get(tenant=tenant, action=AuditAction.TENANT_SETTINGS_CHANGED)
    assert event.target == "price_multiplier: 1.000 -> 1.500" and event.actor_label == "operator root@parley.example"


def test_a_refund_in_the_console_is_audited(ops, tenant):
    from tests.billing.test_ledger import charge

    record = charge(tenant, "2.00")
    response = ops.post(f"/admin/billing/usagerecord/{record.pk}/refund/", {"amount": "0.50", "reason": "glitch"},
                        REMOTE_ADDR="192.0.2.9")
    assert response.status_code == 302
    event = AuditEvent.objects.get(tenant=tenant, action=AuditAction.REFUND_CREATED)
    assert event.target == f"0.50 USD on job {record.job_id}: glitch" and event.ip == "192.0.2.9"
    assert event.actor_label == "operator root@parley.example"
    assert "glitch" in ops.get("/admin/accounts/auditevent/").content.decode()
    assert ops.get("/admin/accounts/invitation/").status_code == 200


def test_an_operator_changes_a_role_through_the_service_and_keeps_an_owner(ops, tenant):
    owner = Membership.objects.get(tenant=tenant, role=Role.OWNER)
    refused = ops.post(f"/admin/accounts/membership/{owner.pk}/change/", {"role": "admin"})
    assert refused.status_code == 200 and "last owner" in refused.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    other = Membership.objects.create(tenant=tenant, role=Role.VIEWER, user=User.objects.create_user(
        email="v@example.com", password="pw-Secret-123"))
    assert ops.post(f"/admin/accounts/membership/{other.pk}/change/", {"role": "member"}).status_code == 302
    other.refresh_from_db()
    assert other.role == Role.MEMBER
    event = AuditEvent.objects.get(tenant=tenant, action=AuditAction.MEMBER_ROLE_CHANGED)
    assert event.target == "v@example.com: viewer -> member" and event.actor_user.email == "root@parley.example"
    page = ops.get(f"/admin/accounts/tenant/{tenant.pk}/change/").content.decode()
    assert not re.search(r'<(select|input)[^>]*name="[a-z_]*-0-(role|user)"', page)  # the inline only reads
