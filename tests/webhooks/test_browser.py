"""The webhooks page in a real browser (Debian's Chromium through Playwright): add an endpoint and
copy its secret, send a test event and read its delivery, rotate the secret (a confirm dialog).

Skipped when /usr/bin/chromium is missing, unless REQUIRE_SERVICES=1 (then it fails)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import CHROMIUM, REQUIRE_SERVICES

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not REQUIRE_SERVICES,
                       reason=f"Chromium is not installed at {CHROMIUM}"),
]


def test_the_webhooks_page(live_server, transactional_db, page, receiver, tmp_path):
    from django.conf import settings
    from django.test import Client
    from playwright.sync_api import expect

    from tests.conftest import make_tenant, user_of
    from webhooks.delivery import webhook_message_send
    from webhooks.models import WebhookEndpoint, WebhookMessage
    from webhooks.secrets import secret_decrypt

    tenant = make_tenant("Hooks Team")
    client = Client()
    client.force_login(user_of(tenant))
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{live_server.url}/webhooks")
    page.click("nav.mainnav >> text=Webhooks")
    page.fill("input[name='url']", receiver.url)
    page.check("input[value='job.running']")
    page.click("button:has-text('Add endpoint')")
    endpoint = WebhookEndpoint.objects.get()
    expect(page.locator("#new-secret")).to_have_value(secret_decrypt(endpoint.secret_encrypted))
    assert endpoint.events == ["job.running", "job.succeeded", "job.failed", "job.canceled"]
    page.screenshot(path=str(tmp_path / "endpoints.png"), full_page=True)
    page.click(f"a:has-text('{receiver.url}')")

    page.click("button:has-text('Send test event')")
    expect(page.locator(".messages")).to_contain_text("webhook.test event is on its way")
    webhook_message_send(message_id=WebhookMessage.objects.get().pk)  # the worker's part
    page.reload()
    expect(page.locator("table.table tbody tr")).to_have_count(1)
    expect(page.locator("table.table tbody tr")).to_contain_text("200")
    page.screenshot(path=str(tmp_path / "endpoint.png"), full_page=True)

    page.click("button:has-text('Rotate secret')")
    new = secret_decrypt(WebhookEndpoint.objects.get().secret_encrypted)
    expect(page.locator("#new-secret")).to_have_value(new)
    expect(page.locator(".card")).to_contain_text(["previous one signs too"])
