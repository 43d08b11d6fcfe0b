"""The dashboard's billing page through Django's test client: its numbers are the ledger's
selectors' (charges less refunds), its SVG charts have one bar per day and per model in the right
order of heights, roles, tenant isolation, the period picker and CSV, Checkout and Portal buttons
(against the Stripe stand-in), and a query count that does not grow with the ledger."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Role
from billing.models import StripeAccount, UsageRecord
from billing.selectors import ledger_lines, period_current, period_parse, period_spend
from billing.services import refund_create
from billing.stripe_catalog import stripe_catalog_ensure
from jobs.models import Job, JobStatus
from tests.billing.conftest import stripe_standin  # noqa: F401 - the stand-in fixture

pytestmark = pytest.mark.django_db

PERIOD = period_parse("2026-03")


def charge(tenant, amount: str, *, day: int = 3, model_id: str = "local/still", livemode: bool = True,
           month: str = "2026-03") -> UsageRecord:
    """A succeeded job's charge of exactly ``amount`` written on ``day`` of ``month``."""
    year, mon = (int(p) for p in month.split("-"))
    job = Job.objects.create(tenant=tenant, model_id=model_id, provider="local", input={}, livemode=livemode,
                             status=JobStatus.SUCCEEDED, quote_seconds=Decimal("1"), quote_amount=Decimal(amount))
    record = UsageRecord(tenant=tenant, job=job, model_id=model_id, livemode=livemode, seconds=Decimal("1"),
                         billable_seconds=Decimal("1"), unit_price=Decimal(amount), multiplier=Decimal("1"),
                         provider_amount=Decimal(amount), price_multiplier=Decimal("1"), amount=Decimal(amount),
                         currency="usd")
    with mock.patch("django.utils.timezone.now", return_value=datetime(year, mon, day, 12, tzinfo=UTC)):
        record.save(force_insert=True)
    return record


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_user(email="staff@parley.example", password="pw-Secret-123",
                                                is_staff=True)


def refund(record: UsageRecord, operator, amount: str, *, day: int) -> None:
    with mock.patch("django.utils.timezone.now", return_value=datetime(2026, 3, day, 13, tzinfo=UTC)):
        refund_create(usage_record_id=record.pk, operator=operator, reason="blank render", amount=Decimal(amount))


def cell(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html).group(1).strip()


def bars(html: str, chart_id: str) -> list[tuple[str, Decimal, Decimal]]:
    """(key, amount, height) of each bar of one chart, in drawing order."""
    svg = re.search(rf'<svg class="chart"[^>]*id="{chart_id}".*?</svg>', html, re.S).group(0)
    return [(key, Decimal(amount), Decimal(height)) for height, key, amount in
            re.findall(r'<rect class="bar"[^>]*height="([\d.]+)" data-key="([^"]*)" data-amount="([-\d.]+)"', svg)]


@pytest.fixture
def ledger(tenant, other_tenant, operator):
    """March 2026: local/still 1.00 on the 3rd, 0.50 on the 9th (0.20 of it refunded on the 10th),
    local/talk 2.00 on the 9th; a test-mode charge and another tenant's charge that never show."""
    charge(tenant, "1.00", day=3)
    second = charge(tenant, "0.50", day=9)
    charge(tenant, "2.00", day=9, model_id="local/talk")
    refund(second, operator, "0.20", day=10)
    charge(tenant, "7.00", day=9, livemode=False)
    charge(other_tenant, "9.00", day=9)
    charge(tenant, "4.00", day=9, month="2026-04")


def test_the_numbers_are_the_selectors(dashboard_login, tenant, ledger):
    html = dashboard_login(tenant).get("/billing/?period=2026-03").content.decode()
    spend = period_spend(tenant=tenant, livemode=True, start=PERIOD.start, end=PERIOD.end)
    assert spend == Decimal("3.30")  # 1.00 + 0.50 + 2.00 - 0.20; not test mode, not the other tenant
    assert cell(html, "period-spend") == "3.30 USD"
    assert cell(html, "period-charged") == "3.50 USD"
    assert cell(html, "period-refunded") == "0.20 USD"
    assert "9.00" not in html and "7.00" not in html


def test_one_bar_per_day_and_per_model_in_the_order_of_their_amounts(dashboard_login, tenant, ledger):
    html = dashboard_login(tenant).get("/billing/?period=2026-03").content.decode()
    days = bars(html, "chart-day")
    assert [key for key, _, _ in days] == [f"2026-03-{d:02d}" for d in range(1, 32)]
    by_day = {key[-2:]: (amount, height) for key, amount, height in days}
    assert by_day["03"][0] == Decimal("1.00") and by_day["09"][0] == Decimal("2.50")
    assert by_day["10"][0] == Decimal("-0.20") and by_day["10"][1] == 0  # a refund-only day draws no bar
    assert by_day["09"][1] > by_day["03"][1] > by_day["01"][1] == 0
    assert by_day["09"][1] == Decimal("160.0")  # the tallest fills the plot
    models = bars(html, "chart-model")
    assert [(key, amount) for key, amount, _ in models] == [("local/talk", Decimal("2.00")),
                                                            ("local/still", Decimal("1.30"))]
    assert models[0][2] > models[1][2] > 0
    assert 'style="' not in html  # the CSP allows no style attribute


def test_the_period_picker_and_a_bad_period(dashboard_login, tenant, ledger):
    client = dashboard_login(tenant)
    april = client.get("/billing/?period=2026-04").content.decode()
    assert cell(april, "period-spend") == "4.00 USD"
    assert len(bars(april, "chart-day")) == 30
    bad = client.get("/billing/?period=2026-13")
    assert bad.status_code == 400 and "is not a month" in bad.content.decode()
    assert f"in {period_current().label}" in bad.content.decode()


def test_the_csv_download_is_the_usage_report(dashboard_login, tenant, ledger):
    client = dashboard_login(tenant)
    response = client.get("/billing/usage.csv?period=2026-03&group_by=model")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="usage-2026-03-model.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["key"], r["amount"]) for r in rows] == [("local/talk", "2.00"), ("local/still", "1.30"),
                                                       ("total", "3.30")]
    assert all(r["livemode"] == "true" for r in rows)
    assert client.get("/billing/usage.csv?period=nope").status_code == 400
    assert client.get("/billing/usage.csv?group_by=nope").status_code == 400
    assert 'href="/billing/usage.csv?period=2026-03&amp;group_by=day"' in client.get(
        "/billing/?period=2026-03").content.decode()


def test_the_ledger_is_listed_and_paginated(dashboard_login, tenant, ledger):
    client = dashboard_login(tenant)
    html = client.get("/billing/").content.decode()
    lines = ledger_lines(tenant=tenant, livemode=True)
    assert html.count('<tr class="ledger-') == len(lines) == 6  # the allowance, 4 live charges, the refund
    assert ">-0.20<" in html and "blank render" in html and "Older →" not in html
    for day in range(1, 27):
        charge(tenant, "0.01", day=day, month="2026-05")
    first = client.get("/billing/").content.decode()
    second = client.get("/billing/?page=2").content.decode()
    assert first.count('<tr class="ledger-') == 25 and "Older →" in first
    assert second.count('<tr class="ledger-') == 7 and "← Newer" in second and "Older →" not in second


def test_the_query_count_does_not_grow_with_the_ledger(dashboard_login, tenant, operator,
                                                       django_assert_num_queries):
    client = dashboard_login(tenant)
    StripeAccount.objects.create(tenant=tenant, stripe_customer_id="cus_1", subscription_status="active",
                                 paid_invoice_ids=["in_1", "in_2"])
    record = charge(tenant, "1.00", day=2, month=period_current().label)
    client.get("/billing/")  # the session is warm
    with django_assert_num_queries(20):
        client.get("/billing/")
    for day in range(1, 28):
        refund(charge(tenant, "0.50", day=day), operator, "0.10", day=day)
        charge(tenant, "0.25", day=day, month=period_current().label, model_id="local/talk")
    refund_create(usage_record_id=record.pk, operator=operator, reason="r", amount=Decimal("0.10"))
    with django_assert_num_queries(20):
        html = client.get("/billing/").content.decode()
    assert html.count('<tr class="ledger-') == 25


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.ADMIN])
def test_only_the_owner_presses_checkout_portal_or_sets_the_limit(dashboard_login, tenant, ledger, role):
    StripeAccount.objects.create(tenant=tenant, stripe_customer_id="cus_1", subscription_status="past_due",
                                 unpaid_invoice_ids=["in_9"])
    client = dashboard_login(tenant, role)
    page = client.get("/billing/?period=2026-03")
    html = page.content.decode()
    assert page.status_code == 200 and cell(html, "period-spend") == "3.30 USD"  # everyone sees
    assert "in_9" in html and "past due" in html
    assert 'id="checkout"' not in html and 'id="portal"' not in html and 'name="monthly_limit"' not in html
    assert client.post("/billing/checkout").status_code == 403
    assert client.post("/billing/portal").status_code == 403
    assert client.post("/billing/", {"monthly_limit": "5.00"}).status_code == 403


def test_the_owner_sees_the_buttons_and_the_plan(dashboard_login, tenant):
    StripeAccount.objects.create(tenant=tenant, stripe_customer_id="cus_1", subscription_status="active",
                                 paid_invoice_ids=["in_1"])
    html = dashboard_login(tenant).get("/billing/").content.decode()
    assert 'id="portal"' in html and 'id="checkout"' not in html  # the plan is active already
    assert "in_1" in html and ">active<" in html and 'name="monthly_limit"' in html
    assert "credit-left" in html


def test_checkout_and_portal_redirect_to_stripe(dashboard_login, tenant, stripe_standin):  # noqa: F811
    stripe_catalog_ensure()  # the metered price, as `manage.py stripe_setup` makes it
    client = dashboard_login(tenant)
    html = client.get("/billing/").content.decode()
    assert 'id="checkout"' in html and 'id="portal"' not in html  # no customer yet
    response = client.post("/billing/checkout")
    assert response.status_code == 302 and response["Location"].startswith(stripe_standin.url)
    account = StripeAccount.objects.get(tenant=tenant)
    assert account.stripe_customer_id.startswith("cus_")
    assert 'id="portal"' in client.get("/billing/").content.decode()
    portal = client.post("/billing/portal")
    assert portal.status_code == 302 and portal["Location"].startswith(stripe_standin.url)


def test_stripe_unreachable_is_a_message_not_a_crash(dashboard_login, tenant, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.STRIPE_TIMEOUT_S = 2.0
    client = dashboard_login(tenant)
    response = client.post("/billing/checkout", follow=True)
    assert response.redirect_chain[-1][0] == "/billing/"
    assert "Stripe could not be reached" in response.content.decode()


def test_another_tenants_money_never_shows(dashboard_login, tenant, other_tenant, ledger):
    html = dashboard_login(other_tenant).get("/billing/?period=2026-03").content.decode()
    assert cell(html, "period-spend") == "9.00 USD"
    assert html.count('<tr class="ledger-') == 2  # its allowance and its charge
    rows = dashboard_login(other_tenant).get("/billing/usage.csv?period=2026-03").content.decode()
    assert "9.00" in rows and "3.30" not in rows
