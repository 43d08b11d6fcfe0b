"""The Content-Security-Policy: on every response (pages, the API, errors; static files served by
WhiteNoise in tests/test_static_files.py), strict (scripts and styles from this site only, no
inline ones), and the dashboard still works under it in a real browser (no violation reported,
the behaviours moved to static/js/parley.js still answer)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from accounts.models import Role
from config.security_headers import HEADER

pytestmark = pytest.mark.django_db
TEMPLATES = Path(django_settings.BASE_DIR) / "templates"


def _directives(value: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in value.split(";") if part.strip()}


def test_the_policy_allows_this_site_only_and_nothing_inline():
    policy = django_settings.SECURE_CSP
    for directive in ("default-src", "script-src", "style-src"):
        assert policy[directive] == ["'self'"], directive
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


@pytest.mark.parametrize("path", ["/jobs/", "/assets/", "/settings/api-keys/", "/jobs/new/", "/no/such/page/"])
def test_every_dashboard_response_carries_the_policy(dashboard_login, tenant, path):
    response = dashboard_login(tenant).get(path)
    assert response.status_code in (200, 404), path
    assert _directives(response[HEADER])["script-src"] == ["'self'"]


def test_signed_out_pages_and_the_api_carry_it_too(client, api_client):
    for response in (client.get("/accounts/login/"), client.get("/jobs/"), api_client(Role.VIEWER).get("/api/v1/jobs"),
                     client.get("/api/v1/jobs"), client.get("/api/v1/nothing")):
        assert _directives(response[HEADER])["default-src"] == ["'self'"], response


def test_no_template_has_an_inline_script_style_or_handler():
    """What the policy would block: inline <script>/<style>, style="", on*="" and javascript: URLs."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<script[^>]*type=\"(?!application/json)|<style|\sstyle=\"|"
                        r"\son[a-z]+=|javascript:", re.IGNORECASE)
    found = [f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
             for path in TEMPLATES.rglob("*.html") for match in inline.finditer(path.read_text())]
    assert not found, found


# --- in a real browser ---------------------------------------------------------------------------


@pytest.mark.browser
def test_the_dashboard_works_under_the_policy_in_a_browser(browser, live_server, transactional_db, tmp_path):
    from playwright.sync_api import expect

    from accounts.models import Membership
    from accounts.services import tenant_create, user_create
    from tests.conftest import make_tenant, user_of
    from tests.dashboard.test_views import stored_asset
    from tests.media_fixtures import make_png

    tenant = make_tenant("CSP Team", email="csp@example.com")
    user = user_of(tenant)
    user.set_password("correct-Horse-battery-9")
    user.save()
    second = tenant_create(name="Second Team", owner=user_create(email="other@example.com", password="pw-Secret-123"))
    Membership.objects.create(tenant=second, user=user, role=Role.MEMBER)
    stored_asset(tenant, make_png(tmp_path / "face.png"))

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                         "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI))")
    base = live_server.url
    try:
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name='login']", "csp@example.com")
        page.fill("input[name='password']", "correct-Horse-battery-9")
        page.click(".auth-card button[type='submit']")
        page.wait_for_url(f"{base}/overview/")
        # The stylesheet applied (no inline styles needed), htmx loaded from /static.
        assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).display") != ""
        assert page.evaluate("typeof window.htmx") == "object"

        # Confirm before deleting an asset: dismissing keeps it.
        page.goto(f"{base}/assets/")
        page.once("dialog", lambda d: d.dismiss())
        page.click("button:has-text('Delete')")
        expect(page.locator("button:has-text('Delete')")).to_have_count(1)

        # A new key's secret: the copy button answers.
        page.goto(f"{base}/settings/api-keys/")
        page.fill("input[name='name']", "ci")
        page.click("form.inline-form button[type='submit']")
        page.click("button[data-copy]")
        expect(page.locator("button[data-copy]")).to_have_text("Copied")

        # The team switcher submits itself.
        page.goto(f"{base}/jobs/new/?model=local/still")
        page.select_option("#team-switch", str(second.pk))
        expect(page.locator("header .switcher select option[selected]")).to_contain_text("Second Team")
    finally:
        context.close()
    assert not violations, violations


def test_with_debug_on_django_error_pages_stay_readable(dashboard_login, tenant, settings):
    """Django's technical 404/500 pages (DEBUG only) use inline styles and scripts."""
    settings.DEBUG = True
    client = dashboard_login(tenant)
    assert HEADER not in client.get("/no/such/page/")
    assert HEADER in client.get("/jobs/")
