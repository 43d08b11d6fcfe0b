"""The no-plan rule: a tenant without an active plan may start live jobs until its credit (the free
allowance and grants) is spent, then answers 402 payment_required pointing at the billing page;
a plan lets it through; test mode is never limited."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from accounts.models import ApiKeyMode, User
from billing.admission import live_job_admission
from billing.models import CreditGrant, StripeAccount
from billing.services import credit_grant_create
from billing.stripe_client import PaymentRequired
from tests.billing.test_stripe_billing import _create_job
from tests.billing.test_stripe_outbox import _usage


def live_jobs_check(*, tenant, livemode: bool) -> None:
    """What a creation's admission (billing/admission.py) decides of a tenant for a 0.10 USD job,
    asked as job_create asks it: in a transaction."""
    with transaction.atomic():
        live_job_admission(tenant=tenant, job_id=uuid.uuid4(), api_key_id=None, amount=Decimal("0.10"),
                           currency="usd", livemode=livemode)


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_user(email="staff@parley.example", password="pw-Secret-123", is_staff=True)


@pytest.mark.django_db
def test_credit_left_lets_live_jobs_start(tenant):
    assert CreditGrant.objects.get(tenant=tenant).amount == Decimal("5.00")  # the free allowance
    _usage(tenant, amount="4.99")
    live_jobs_check(tenant=tenant, livemode=True)


@pytest.mark.django_db
def test_spent_allowance_without_a_plan_answers_402(tenant, api_client, png_file, wav_file, settings):
    StripeAccount.objects.create(tenant=tenant)  # the outbox made it when it reported the allowance
    _usage(tenant, amount="5.00")
    response = _create_job(api_client(), png_file, wav_file)
    assert response.status_code == 402, response.content
    error = response.json()["error"]
    assert error["code"] == "payment_required"
    assert "no active plan" in error["message"] and f"{settings.PUBLIC_BASE_URL}/billing/" in error["message"]
    assert "5.00 USD" in error["message"]
    assert _create_job(api_client(mode=ApiKeyMode.TEST), png_file, wav_file).status_code == 201


@pytest.mark.django_db
def test_a_grant_or_a_plan_lets_live_jobs_start_again(tenant, operator):
    account = StripeAccount.objects.create(tenant=tenant, stripe_customer_id="cus_x")
    _usage(tenant, amount="5.40")
    with pytest.raises(PaymentRequired):
        live_jobs_check(tenant=tenant, livemode=True)
    credit_grant_create(tenant=tenant, operator=operator, amount=Decimal("1.00"), reason="trial extended")
    live_jobs_check(tenant=tenant, livemode=True)
    _usage(tenant, amount="0.60")
    with pytest.raises(PaymentRequired):
        live_jobs_check(tenant=tenant, livemode=True)
    account.subscription_id, account.subscription_status = "sub_x", "active"
    account.save()
    live_jobs_check(tenant=tenant, livemode=True)  # a plan bills what goes beyond the credit
    account.subscription_status = "canceled"
    account.save()
    with pytest.raises(PaymentRequired):
        live_jobs_check(tenant=tenant, livemode=True)
    live_jobs_check(tenant=tenant, livemode=False)


@pytest.mark.django_db
def test_no_allowance_needs_a_plan_first(settings, db):
    from accounts.services import tenant_create, user_create
    settings.FREE_ALLOWANCE_USD = Decimal("0")
    owner = user_create(email="new@parley.example", password="pw-Secret-123")
    tenant = tenant_create(name="No trial", owner=owner)
    live_jobs_check(tenant=tenant, livemode=True)  # nothing reported to billing yet
    StripeAccount.objects.create(tenant=tenant)
    with pytest.raises(PaymentRequired, match="credit of 0.00 USD is used up"):
        live_jobs_check(tenant=tenant, livemode=True)


@pytest.mark.django_db
def test_past_due_points_at_the_portal(tenant):
    StripeAccount.objects.create(tenant=tenant, stripe_customer_id="cus_x", subscription_status="past_due",
                                 unpaid_invoice_ids=["in_1"])
    with pytest.raises(PaymentRequired, match="billing portal"):
        live_jobs_check(tenant=tenant, livemode=True)
