"""Monthly budgets (billing.budgets, GET/PUT /api/v1/budget): reservations taken atomically with
job creation, released on fail/cancel, turned into the charge on success; 402 over a limit; the
80% / 100% emails once a month; test mode never counted; roles and tenant isolation.

local/still with the 2.0 s wav quotes 0.02 USD a job (2 started seconds x 0.01)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction

from accounts.models import ApiKey, ApiKeyMode, Role
from billing.models import Budget, Reservation, ReservationState, UsageRecord
from billing.services import usage_record_create
from jobs.models import Job, JobStatus
from jobs.transitions import job_transition
from tests.conftest import upload

QUOTE = Decimal("0.02")


@pytest.fixture
def media(member_client, png_file, wav_file) -> dict[str, str]:
    return {"image": upload(member_client, png_file)["id"], "audio": upload(member_client, wav_file)["id"]}


@pytest.fixture
def owner_client(api_client):
    return api_client(Role.OWNER)


def post_job(client, media: dict[str, str]):
    return client.post("/api/v1/jobs", {"model": "local/still", "input": media}, format="json")


def set_limit(client, value: str | None):
    response = client.put("/api/v1/budget", {"monthly_limit": value}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def succeed(job_id: str, seconds: Decimal = Decimal("2.0")) -> Job:
    """What the finalizer does: the success and its usage record, in one transaction."""
    job = Job.objects.select_related("tenant").get(pk=job_id)
    for status in (JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING):
        assert job_transition(job=job, to=status)
    with transaction.atomic():
        assert job_transition(job=job, to=JobStatus.SUCCEEDED)
        usage_record_create(tenant=job.tenant, job_id=job.id, model_id=job.model_id, livemode=job.livemode,
                            inputs=job.input, quote_amount=job.quote_amount, seconds=seconds)
    return job


# --- reading and setting ---------------------------------------------------------------------
def test_budget_starts_without_a_limit(member_client):
    body = member_client.get("/api/v1/budget").json()
    assert body["monthly_limit"] is None and body["limit_cap"] is None and body["remaining"] is None
    assert body["spend"] == "0.00" and body["reserved"] == "0.00" and body["currency"] == "usd"
    assert len(body["period"]) == 7


def test_owner_sets_and_clears_the_limit(owner_client, api_client):
    body = set_limit(owner_client, "25.00")
    assert body["monthly_limit"] == "25.00" and body["remaining"] == "25.00"
    assert api_client(Role.VIEWER).get("/api/v1/budget").json()["monthly_limit"] == "25.00"
    assert set_limit(owner_client, None)["monthly_limit"] is None


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.ADMIN])
def test_only_owners_set_the_limit(api_client, role):
    response = api_client(role).put("/api/v1/budget", {"monthly_limit": "5.00"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not Budget.objects.exists()


@pytest.mark.parametrize("value", ["-1.00", "abc", "1.001"])
def test_a_bad_limit_is_400_naming_the_field(owner_client, value):
    response = owner_client.put("/api/v1/budget", {"monthly_limit": value}, format="json")
    assert response.status_code == 400
    assert "monthly_limit" in response.json()["error"]["fields"]


def test_the_operator_cap_lowers_the_limit(owner_client, tenant):
    set_limit(owner_client, "25.00")
    Budget.objects.filter(tenant=tenant).update(limit_cap=Decimal("10.00"))
    body = owner_client.get("/api/v1/budget").json()
    assert (body["monthly_limit"], body["requested_limit"], body["limit_cap"]) == ("10.00", "25.00", "10.00")


def test_budgets_are_per_tenant(owner_client, api_client, other_tenant, tenant):
    set_limit(owner_client, "3.00")
    other = api_client(Role.OWNER, tenant_=other_tenant)
    assert other.get("/api/v1/budget").json()["monthly_limit"] is None
    set_limit(other, "7.00")
    assert owner_client.get("/api/v1/budget").json()["monthly_limit"] == "3.00"
    # Another tenant's key has no budget here: 404, as if it did not exist.
    foreign_key = ApiKey.objects.filter(tenant=other_tenant).first()
    assert owner_client.get(f"/api/v1/api-keys/{foreign_key.pk}/budget").status_code == 404
    assert owner_client.put(f"/api/v1/api-keys/{foreign_key.pk}/budget", {"monthly_limit": "1.00"},
                            format="json").status_code == 404
    assert not Budget.objects.filter(api_key=foreign_key).exists()


# --- reserving -------------------------------------------------------------------------------
def test_a_live_job_reserves_its_quote(member_client, owner_client, media):
    set_limit(owner_client, "1.00")
    job = post_job(member_client, media).json()
    reservation = Reservation.objects.get(job_id=job["id"])
    assert (reservation.amount, reservation.state) == (QUOTE, ReservationState.RESERVED)
    body = owner_client.get("/api/v1/budget").json()
    assert (body["spend"], body["reserved"], body["remaining"]) == ("0.00", "0.02", "0.98")


def test_over_the_limit_is_402_and_writes_nothing(member_client, owner_client, media):
    set_limit(owner_client, "0.03")
    assert post_job(member_client, media).status_code == 201
    jobs, reservations = Job.objects.count(), Reservation.objects.count()
    response = post_job(member_client, media)
    assert response.status_code == 402, response.content
    error = response.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert (error["limit"], error["spend"], error["reserved"], error["quote"]) == ("0.03", "0.00", "0.02", "0.02")
    assert error["scope"] == "tenant" and "0.03" in error["message"]
    assert (Job.objects.count(), Reservation.objects.count()) == (jobs, reservations)


def test_a_job_that_fits_exactly_is_admitted(member_client, owner_client, media):
    set_limit(owner_client, "0.04")
    assert post_job(member_client, media).status_code == 201
    assert post_job(member_client, media).status_code == 201
    assert post_job(member_client, media).status_code == 402


def test_cancel_releases_the_reservation(member_client, owner_client, media):
    set_limit(owner_client, "0.02")
    job = post_job(member_client, media).json()
    assert post_job(member_client, media).status_code == 402
    assert member_client.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    assert Reservation.objects.get(job_id=job["id"]).state == ReservationState.RELEASED
    assert owner_client.get("/api/v1/budget").json()["reserved"] == "0.00"
    assert post_job(member_client, media).status_code == 201


def test_failure_releases_the_reservation(member_client, owner_client, media):
    set_limit(owner_client, "0.02")
    job = Job.objects.get(pk=post_job(member_client, media).json()["id"])
    assert job_transition(job=job, to=JobStatus.FAILED, error_code="x", error_message="boom")
    reservation = Reservation.objects.get(job_id=job.id)
    assert reservation.state == ReservationState.RELEASED and reservation.settled_at is not None
    assert post_job(member_client, media).status_code == 201


def test_success_turns_the_reservation_into_the_charge(member_client, owner_client, media):
    set_limit(owner_client, "0.03")
    job_id = post_job(member_client, media).json()["id"]
    succeed(job_id, seconds=Decimal("1.2"))  # a shorter video: 2 billable seconds still, 0.02
    assert Reservation.objects.get(job_id=job_id).state == ReservationState.CHARGED
    body = owner_client.get("/api/v1/budget").json()
    assert (body["spend"], body["reserved"], body["remaining"]) == ("0.02", "0.00", "0.01")
    assert post_job(member_client, media).status_code == 402  # 0.02 spent + 0.02 > 0.03


def test_a_settled_job_is_settled_once(member_client, owner_client, media):
    """A job's final status is final: a second settle (a replayed hook) changes nothing."""
    from billing.budgets import budget_settle

    job_id = post_job(member_client, media).json()["id"]
    succeed(job_id)
    budget_settle(job_id=job_id, succeeded=False)
    assert Reservation.objects.get(job_id=job_id).state == ReservationState.CHARGED


# --- test mode -------------------------------------------------------------------------------
def test_test_mode_jobs_are_never_counted(api_client, owner_client, tenant, png_file, wav_file):
    set_limit(owner_client, "0.00")
    test_client = api_client(Role.MEMBER, mode=ApiKeyMode.TEST)
    media = {"image": upload(test_client, png_file)["id"], "audio": upload(test_client, wav_file)["id"]}
    first = post_job(test_client, media)
    assert first.status_code == 201, first.content
    assert post_job(test_client, media).status_code == 201
    assert not Reservation.objects.exists()
    succeed(first.json()["id"])
    assert UsageRecord.objects.filter(livemode=False).count() == 1
    body = owner_client.get("/api/v1/budget").json()
    assert (body["spend"], body["reserved"]) == ("0.00", "0.00")


# --- per API key -----------------------------------------------------------------------------
def test_a_key_budget_limits_that_key_only(api_client, owner_client, tenant, png_file, wav_file):
    limited, free = api_client(Role.MEMBER), api_client(Role.MEMBER)
    limited_key = ApiKey.objects.get(hashed_key__isnull=False, name="member key", prefix=limited.secret[:13])
    media = {"image": upload(limited, png_file)["id"], "audio": upload(limited, wav_file)["id"]}
    response = owner_client.put(f"/api/v1/api-keys/{limited_key.pk}/budget", {"monthly_limit": "0.02"},
                                format="json")
    assert response.status_code == 200 and response.json()["api_key"] == limited_key.pk
    assert post_job(limited, media).status_code == 201
    response = post_job(limited, media)
    assert response.status_code == 402 and response.json()["error"]["scope"] == "api_key"
    assert post_job(free, media).status_code == 201
    key_budget = owner_client.get(f"/api/v1/api-keys/{limited_key.pk}/budget").json()
    assert (key_budget["monthly_limit"], key_budget["reserved"]) == ("0.02", "0.02")
    assert owner_client.get("/api/v1/budget").json()["reserved"] == "0.04"
    assert limited.put(f"/api/v1/api-keys/{limited_key.pk}/budget", {"monthly_limit": None},
                       format="json").status_code == 403


# --- alerts ----------------------------------------------------------------------------------
def test_owners_are_emailed_at_80_and_100_percent_once_a_month(
    member_client, owner_client, media, tenant, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    set_limit(owner_client, "0.05")

    def create() -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_job(member_client, media)
        assert response.status_code == 201, response.content
        return response.json()

    create()  # 0.02 of 0.05: 40%
    assert mail.outbox == []
    second = create()  # 0.04: 80%
    assert len(mail.outbox) == 1
    owner_email = tenant_owner_email(tenant)
    assert mail.outbox[0].to == [owner_email] and "80%" in mail.outbox[0].subject
    member_client.post(f"/api/v1/jobs/{second['id']}/cancel")
    create()  # 80% again, the same month: no second email
    assert len(mail.outbox) == 1
    set_limit(owner_client, "0.06")
    create()  # 0.06 of 0.06: 100%
    assert len(mail.outbox) == 2 and "100%" in mail.outbox[1].subject
    set_limit(owner_client, "0.08")
    create()  # 100% again
    assert len(mail.outbox) == 2


def test_crossing_both_thresholds_at_once_sends_the_100_percent_email_only(
    member_client, owner_client, media, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    set_limit(owner_client, "0.02")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_job(member_client, media).status_code == 201
    assert [m.subject for m in mail.outbox] == ["Parley: 100% of the monthly limit of your team is used"]


def test_a_refused_creation_sends_no_email(member_client, owner_client, media, settings,
                                           django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    set_limit(owner_client, "0.01")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert post_job(member_client, media).status_code == 402
    assert callbacks == [] and mail.outbox == []


def tenant_owner_email(tenant) -> str:
    from accounts.models import Membership

    return Membership.objects.get(tenant=tenant, role=Role.OWNER).user.email


# --- the dashboard's billing page ------------------------------------------------------------
def test_billing_page_shows_the_budget_and_the_owner_sets_it(dashboard_login, tenant, member_client, media,
                                                              owner_client):
    set_limit(owner_client, "5.00")
    post_job(member_client, media)
    owner = dashboard_login(tenant)
    html = owner.get("/billing/").content.decode()
    assert 'href="/billing/" aria-current="page"' in html
    assert "5.00 USD" in html and "0.02 USD" in html and 'name="monthly_limit"' in html
    response = owner.post("/billing/", {"monthly_limit": "12.50"})
    assert response.status_code == 302
    assert owner_client.get("/api/v1/budget").json()["monthly_limit"] == "12.50"
    assert owner.post("/billing/", {"monthly_limit": "-1"}).status_code == 400
    owner.post("/billing/", {"monthly_limit": ""})
    assert owner_client.get("/api/v1/budget").json()["monthly_limit"] is None


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.ADMIN])
def test_billing_page_is_read_only_below_owner(dashboard_login, tenant, role, owner_client):
    set_limit(owner_client, "5.00")
    client = dashboard_login(tenant, role=role)
    html = client.get("/billing/").content.decode()
    assert "5.00 USD" in html and 'name="monthly_limit"' not in html
    assert client.post("/billing/", {"monthly_limit": "99.00"}).status_code == 403
    assert owner_client.get("/api/v1/budget").json()["monthly_limit"] == "5.00"


def test_billing_page_shows_only_its_tenant(dashboard_login, other_tenant, owner_client):
    set_limit(owner_client, "5.00")
    html = dashboard_login(other_tenant).get("/billing/").content.decode()
    assert "5.00 USD" not in html and "No limit" in html


def test_dashboard_job_over_the_limit_shows_the_reason(dashboard_login, tenant, owner_client, media):
    set_limit(owner_client, "0.01")
    response = dashboard_login(tenant).post("/jobs/new/?model=local/still", {"model": "local/still", **media})
    assert response.status_code == 402
    assert "monthly limit" in response.content.decode() and not Job.objects.exists()
