"""The API reference at /api/v1/docs: Swagger UI served from this site (drf-spectacular-sidecar), under
the site's CSP widened for that page only, rendering every operation of the schema in a real browser."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders

from config.security_headers import HEADER

pytestmark = pytest.mark.django_db


def _directives(value: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in value.split(";") if part.strip()}


def test_the_docs_page_loads_everything_from_this_site(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/") for u in urls), urls  # no CDN
    assert "/api/v1/docs?script=" in urls
    static = [u.removeprefix(django_settings.STATIC_URL) for u in urls if u.startswith(django_settings.STATIC_URL)]
    assert len(static) == len(urls) - 1  # all but the init script, a static file of this site
    assert all(finders.find(name) for name in static), static
    script = client.get("/api/v1/docs?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema" in script.content.decode()


def test_only_the_docs_page_has_a_wider_policy(client):
    docs = _directives(client.get("/api/v1/docs")[HEADER])
    site = django_settings.SECURE_CSP
    assert docs["script-src"] == site["script-src"] == ["'self'"]
    assert docs["style-src"] == site["style-src"] == ["'self'"]
    assert docs["img-src"] == ["'self'", "data:"]
    for path in ("/api/v1/schema", "/accounts/login/", "/api/v1/jobs"):
        assert "img-src" not in _directives(client.get(path)[HEADER]), path


@pytest.mark.browser
def test_swagger_ui_renders_every_operation_without_a_violation(browser, live_server):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("request", lambda r: None if r.url.startswith(live_server.url) or r.url.startswith("data:")
            else problems.append(f"outside: {r.url}"))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                         "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI))")
    try:
        page.goto(f"{live_server.url}/api/v1/docs")
        expect(page.locator(".info .title")).to_contain_text("Parley API")
        for summary in ("Create a job", "List jobs", "Upload an asset", "Download a job's video", "Get usage"):
            expect(page.locator(".opblock-summary-description", has_text=summary).first).to_be_visible()
        page.locator(".opblock-summary", has_text="Create a job").first.click()
        expect(page.locator(".opblock-body").first).to_contain_text("model")
    finally:
        context.close()
    assert not problems, problems
