"""The ledger (billing.models, billing.services, billing.selectors): refunds in full and in part,
never above what remains of a charge (also under concurrency, on PostgreSQL), credit grants, the
free allowance once per tenant, and entries that are never edited or deleted."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from accounts.models import Tenant, User
from accounts.services import tenant_create, user_create
from billing.models import CreditGrant, CreditKind, LedgerEntryEdited, Refund, UsageRecord
from billing.selectors import ledger_balance, ledger_lines, period_credits, period_spend
from billing.services import (
    credit_allowance_grant,
    credit_grant_create,
    refund_create,
    refund_remaining,
    usage_record_create,
)
from config.errors import RoleForbidden
from jobs.models import Job, JobStatus
from tests.conftest import make_tenant, user_of

pytestmark = pytest.mark.django_db


def charge(tenant: Tenant, amount: str, *, livemode: bool = True, model_id: str = "local/still",
           api_key_id: int | None = None, at: datetime | None = None) -> UsageRecord:
    """A succeeded job's charge of exactly ``amount`` (the price arithmetic is tested in test_pricing),
    written at ``at``."""
    job = Job.objects.create(tenant=tenant, model_id=model_id, provider="local", input={}, livemode=livemode,
                             status=JobStatus.SUCCEEDED, quote_seconds=Decimal("1"), quote_amount=Decimal(amount))
    record = UsageRecord(tenant=tenant, job=job, api_key_id=api_key_id, model_id=model_id, livemode=livemode,
                         seconds=Decimal("1"), billable_seconds=Decimal("1"), unit_price=Decimal(amount),
                         multiplier=Decimal("1"), provider_amount=Decimal(amount), price_multiplier=Decimal("1"),
                         amount=Decimal(amount), currency="usd")
    with mock.patch("django.utils.timezone.now", return_value=at or datetime.now(UTC)):
        record.save(force_insert=True)
    return record


@pytest.fixture
def operator(db):
    return User.objects.create_user(email="staff@parley.example", password="pw-Secret-123", is_staff=True)


# --- refunds ---------------------------------------------------------------------------------
def test_full_refund_by_default(tenant, operator):
    record = charge(tenant, "1.20")
    refund = refund_create(usage_record_id=record.pk, operator=operator, reason="render was blank")
    assert refund.amount == Decimal("1.20") and refund.usage_record == record and refund.operator == operator
    assert refund.tenant_id == tenant.id and refund.livemode is True and refund.currency == "usd"
    assert refund.reason == "render was blank"
    assert refund_remaining(usage_record=record) == Decimal("0.00")
    record.refresh_from_db()
    assert record.amount == Decimal("1.20")  # the charge itself is untouched


def test_partial_refunds_add_up_to_the_charge_and_no_further(tenant, operator):
    record = charge(tenant, "1.20")
    refund_create(usage_record_id=record.pk, operator=operator, reason="half the video froze",
                  amount=Decimal("0.50"))
    refund_create(usage_record_id=record.pk, operator=operator, reason="goodwill", amount=Decimal("0.70"))
    assert refund_remaining(usage_record=record) == Decimal("0.00")
    with pytest.raises(ValidationError) as exc:
        refund_create(usage_record_id=record.pk, operator=operator, reason="again", amount=Decimal("0.01"))
    assert "already refunded in full" in exc.value.message_dict["amount"][0]
    assert Refund.objects.filter(usage_record=record).count() == 2


def test_a_refund_over_what_remains_is_refused_and_writes_nothing(tenant, operator):
    record = charge(tenant, "1.20")
    refund_create(usage_record_id=record.pk, operator=operator, reason="partial", amount=Decimal("0.80"))
    with pytest.raises(ValidationError) as exc:
        refund_create(usage_record_id=record.pk, operator=operator, reason="too much", amount=Decimal("0.41"))
    assert exc.value.message_dict["amount"] == [
        "A refund of 0.41 USD is more than what remains of this charge: 0.40 of 1.20."]
    assert Refund.objects.filter(usage_record=record).count() == 1


@pytest.mark.parametrize(("amount", "field"), [(Decimal("0"), "amount"), (Decimal("-1"), "amount"),
                                               (Decimal("0.005"), "amount")])
def test_refund_amounts_must_be_positive_whole_cents(tenant, operator, amount, field):
    record = charge(tenant, "1.20")
    with pytest.raises(ValidationError) as exc:
        refund_create(usage_record_id=record.pk, operator=operator, reason="x", amount=amount)
    assert field in exc.value.message_dict
    assert not Refund.objects.exists()


def test_a_refund_needs_a_reason_and_an_operator(tenant, operator):
    record = charge(tenant, "1.20")
    with pytest.raises(ValidationError) as exc:
        refund_create(usage_record_id=record.pk, operator=operator, reason="  ")
    assert "reason" in exc.value.message_dict
    with pytest.raises(RoleForbidden):
        refund_create(usage_record_id=record.pk, operator=user_of(tenant), reason="the tenant's owner is no operator")
    assert not Refund.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_the_charge(operator):
    """Two operators refund 0.80 of a 1.20 charge at the same moment: the row lock makes the second
    see the first, so exactly one succeeds."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks (select_for_update is a no-op); run with DATABASE_URL=postgres://…")
    tenant = make_tenant("Racer")
    record = charge(tenant, "1.20")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def refund() -> None:
        try:
            barrier.wait(timeout=10)
            refund_create(usage_record_id=record.pk, operator=operator, reason="race", amount=Decimal("0.80"))
            outcomes.append("refunded")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refund) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["refunded", "refused"]
    assert refund_remaining(usage_record=record) == Decimal("0.40")


# --- credit ----------------------------------------------------------------------------------
def test_a_new_tenant_gets_the_free_allowance_once(settings):
    settings.FREE_ALLOWANCE_USD = Decimal("5.00")
    owner = user_create(email="new@example.com", password="pw-Secret-123")
    tenant = tenant_create(name="Newco", owner=owner)
    grant = CreditGrant.objects.get(tenant=tenant)
    assert (grant.kind, grant.amount, grant.currency, grant.operator) == (CreditKind.ALLOWANCE, Decimal("5.00"),
                                                                          "usd", None)
    assert credit_allowance_grant(tenant=tenant) is None  # once
    assert CreditGrant.objects.filter(tenant=tenant).count() == 1
    assert ledger_balance(tenant=tenant).credits == Decimal("5.00")
    assert ledger_balance(tenant=tenant, livemode=False).credits == Decimal("0.00")  # test mode is never billed


def test_no_allowance_when_it_is_zero(settings):
    settings.FREE_ALLOWANCE_USD = Decimal("0")
    tenant = tenant_create(name="Nothing", owner=user_create(email="zero@example.com", password=None))
    assert not CreditGrant.objects.filter(tenant=tenant).exists()


def test_a_failed_tenant_creation_grants_nothing(settings):
    settings.FREE_ALLOWANCE_USD = Decimal("5.00")
    owner = user_create(email="rollback@example.com", password=None)
    with pytest.raises(RuntimeError), transaction.atomic():
        tenant_create(name="Gone", owner=owner)
        raise RuntimeError("the caller's transaction fails")
    assert not CreditGrant.objects.filter(tenant__name="Gone").exists()


def test_operator_grant(tenant, operator):
    grant = credit_grant_create(tenant=tenant, operator=operator, amount=Decimal("10.00"), reason="sorry for Tuesday")
    assert (grant.kind, grant.amount, grant.operator) == (CreditKind.GRANT, Decimal("10.00"), operator)
    with pytest.raises(ValidationError):
        credit_grant_create(tenant=tenant, operator=operator, amount=Decimal("-1"), reason="no")
    with pytest.raises(RoleForbidden):
        credit_grant_create(tenant=tenant, operator=user_of(tenant), amount=Decimal("1"), reason="to myself")
    assert CreditGrant.objects.filter(tenant=tenant, kind=CreditKind.GRANT).count() == 1


# --- append-only -----------------------------------------------------------------------------
def test_entries_are_never_edited_or_deleted(tenant, operator):
    record = charge(tenant, "1.20")
    refund = refund_create(usage_record_id=record.pk, operator=operator, reason="r", amount=Decimal("0.20"))
    grant = credit_grant_create(tenant=tenant, operator=operator, amount=Decimal("1.00"), reason="g")
    for entry in (record, refund, grant):
        entry.amount = Decimal("0.01")
        with pytest.raises(LedgerEntryEdited):
            entry.save()
        with pytest.raises(LedgerEntryEdited):
            entry.delete()
        model = type(entry)
        with pytest.raises(LedgerEntryEdited):
            model.objects.filter(pk=entry.pk).update(amount=Decimal("0.01"))
        with pytest.raises(LedgerEntryEdited):
            model.objects.filter(pk=entry.pk).delete()
        assert model.objects.get(pk=entry.pk).amount != Decimal("0.01")


def test_metering_still_records_the_charge_with_its_key(tenant):
    job = Job.objects.create(tenant=tenant, model_id="local/still", provider="local", input={},
                             quote_seconds=Decimal("2"), quote_amount=Decimal("1.00"))
    record = usage_record_create(tenant=tenant, job_id=job.id, model_id=job.model_id, livemode=True, inputs={},
                                 quote_amount=job.quote_amount, seconds=Decimal("1.2"), api_key_id=42)
    assert record.api_key_id == 42 and record.amount > 0


# --- sums ------------------------------------------------------------------------------------
def test_sums_come_from_the_ledger(tenant, other_tenant, operator):
    nov, dec = datetime(2025, 11, 10, tzinfo=UTC), datetime(2025, 12, 2, tzinfo=UTC)
    first = charge(tenant, "1.00", at=nov)
    charge(tenant, "2.50", at=nov)
    charge(tenant, "9.99", livemode=False, at=nov)  # test mode apart
    charge(other_tenant, "7.00", at=nov)  # another tenant apart
    charge(tenant, "0.30", at=dec)
    with mock.patch("django.utils.timezone.now", return_value=datetime(2025, 11, 20, tzinfo=UTC)):
        refund_create(usage_record_id=first.pk, operator=operator, reason="r", amount=Decimal("0.25"))
    start, end = datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 12, 1, tzinfo=UTC)
    assert period_spend(tenant=tenant, livemode=True, start=start, end=end) == Decimal("3.25")
    assert period_spend(tenant=tenant, livemode=False, start=start, end=end) == Decimal("9.99")
    assert period_credits(tenant=tenant, livemode=True, start=start, end=end) == Decimal("0.00")
    balance = ledger_balance(tenant=tenant)
    allowance = balance.credits  # the allowance of the tenant fixture, whatever the setting
    assert (balance.charges, balance.refunds, balance.spend) == (Decimal("3.80"), Decimal("0.25"), Decimal("3.55"))
    assert balance.amount_due == max(Decimal("3.55") - allowance, Decimal("0"))
    assert balance.credit_remaining == max(allowance - Decimal("3.55"), Decimal("0"))


def test_ledger_lines_in_order(tenant, operator, django_assert_num_queries):
    record = charge(tenant, "1.00", at=datetime(2025, 11, 10, tzinfo=UTC))
    refund_create(usage_record_id=record.pk, operator=operator, reason="blank render", amount=Decimal("0.40"))
    with django_assert_num_queries(3):
        lines = ledger_lines(tenant=tenant, livemode=True)
    assert [line.kind for line in lines][:1] == ["refund"]
    assert {(line.kind, line.amount) for line in lines} >= {("charge", Decimal("1.00")), ("refund", Decimal("-0.40"))}
    assert all(line.job_id == str(record.job_id) for line in lines if line.kind != "credit")


# --- the operator's admin ----------------------------------------------------------------------
def test_admin_refunds_through_the_service_and_shows_the_ledger(admin_client, tenant):
    from django.urls import reverse

    record = charge(tenant, "1.20")
    url = reverse("admin:billing_usagerecord_refund", args=[record.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and b"1.20" in page.content
    too_much = admin_client.post(url, {"amount": "1.21", "reason": "too much"})
    assert too_much.status_code == 200 and b"more than what remains" in too_much.content
    assert not Refund.objects.exists()
    done = admin_client.post(url, {"amount": "0.20", "reason": "frozen frames"})
    assert done.status_code == 302 and done["Location"] == reverse("admin:billing_tenant_ledger", args=[tenant.pk])
    refund = Refund.objects.get()
    assert refund.amount == Decimal("0.20") and refund.operator.is_staff
    ledger = admin_client.get(done["Location"])
    assert ledger.status_code == 200
    assert b"frozen frames" in ledger.content and b"-0.20" in ledger.content and b"1.20" in ledger.content


def test_admin_grants_credit_and_cannot_edit_entries(admin_client, tenant):
    from django.urls import reverse

    response = admin_client.post(reverse("admin:billing_creditgrant_grant"),
                                 {"tenant": tenant.pk, "amount": "3.00", "reason": "pilot customer"})
    assert response.status_code == 302
    assert CreditGrant.objects.get(tenant=tenant, kind=CreditKind.GRANT).amount == Decimal("3.00")
    record = charge(tenant, "1.00")
    assert admin_client.get(reverse("admin:billing_creditgrant_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:billing_usagerecord_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:billing_usagerecord_add")).status_code == 403
    assert admin_client.post(reverse("admin:billing_usagerecord_delete", args=[record.pk])).status_code == 403
    assert UsageRecord.objects.filter(pk=record.pk).exists()
