"""Stripe Checkout in a real browser: the owner presses the billing page's Checkout button, lands on
the stand-in's hosted Checkout page, types a declined card (the page says so) and then 4242, is
redirected back, and the webhooks (checkout.session.completed, customer.subscription.created),
delivered by the stand-in to our live server, make the billing page show the plan active.

Skipped when /usr/bin/chromium is missing, unless REQUIRE_SERVICES=1 (then it fails)."""

from __future__ import annotations

import os
import re

from tests.billing.conftest import stripe_standin  # noqa: F401 - the stand-in fixture
from tests.dashboard.test_browser import pytestmark  # noqa: F401 - the browser marks

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_the_owner_pays_checkout_in_the_browser(live_server, transactional_db, stripe_standin,  # noqa: F811
                                                browser, settings, tmp_path):
    from django.test import Client
    from playwright.sync_api import expect

    from billing.models import StripeAccount, StripeWebhookEvent
    from billing.stripe_catalog import stripe_catalog_ensure
    from tests.conftest import make_tenant, user_of

    base = live_server.url
    settings.PUBLIC_BASE_URL = base  # links Stripe's pages and 402s point back to
    stripe_standin.set_webhook(f"{base}/webhooks/stripe")  # as `stripe listen --forward-to`
    stripe_catalog_ensure()  # the metered price, as `manage.py stripe_setup` makes it
    tenant = make_tenant("Checkout Team", email="owner@example.com")
    client = Client()
    client.force_login(user_of(tenant))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": base}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        response = page.goto(f"{base}/billing/")
        # The policy lets the buttons' POSTs redirect to the hosted pages, and nowhere else.
        form_action = next(d for d in response.headers["content-security-policy"].split("; ")
                           if d.startswith("form-action "))
        assert form_action.split()[1:3] == ["'self'", "https://checkout.stripe.com"]
        assert form_action.endswith(f" {stripe_standin.url}")
        expect(page.locator("#plan-state")).to_contain_text("no plan yet")
        page.click("#checkout")
        page.wait_for_url(re.compile(re.escape(stripe_standin.url) + r"/c/pay/cs_test_\w+$"))
        expect(page.locator("h1")).to_have_text("Subscribe")

        # A declined card first: the hosted page says so and stays open.
        page.locator("#cardNumber").press_sequentially("4000 0000 0000 0002")
        page.locator("#cardExpiry").press_sequentially("12 / 34")
        page.locator("#cardCvc").press_sequentially("123")
        page.click("#submit")
        expect(page.locator(".error[role='alert']")).to_have_text("Your card was declined.")
        assert page.url.startswith(stripe_standin.url)
        assert not StripeAccount.objects.get(tenant=tenant).subscription_id

        # Then the test card that pays: back on our billing page.
        page.locator("#cardNumber").fill("")
        page.locator("#cardNumber").press_sequentially("4242 4242 4242 4242")
        page.locator("#cardExpiry").fill("")
        page.locator("#cardExpiry").press_sequentially("12 / 34")
        page.locator("#cardCvc").fill("")
        page.locator("#cardCvc").press_sequentially("123")
        page.click("#submit")
        page.wait_for_url(f"{base}/billing/?checkout=done")

        stripe_standin.wait_for_webhooks()
        handled = set(StripeWebhookEvent.objects.values_list("type", flat=True))
        assert {"checkout.session.completed", "customer.subscription.created"} <= handled
        account = StripeAccount.objects.get(tenant=tenant)
        assert account.subscription_id.startswith("sub_") and account.subscription_status == "active"
        deliveries = [d for d in stripe_standin.deliveries if d["type"] in handled]
        assert deliveries and all(d["delivered"] for d in deliveries)

        page.reload()
        expect(page.locator("#plan-state .badge")).to_have_text("active")
        expect(page.locator("#checkout")).to_have_count(0)  # the plan is on: no second Checkout
        expect(page.locator("#portal")).to_have_count(1)
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        raise
    finally:
        context.close()
