"""Teams in a real browser (Playwright on Debian's Chromium against the live test server): the
owner invites a member by email; the invitee, in a second browser context, opens the emailed link,
signs up through allauth and accepts; the member role's pages allow uploads and hide what needs an
admin; an operator suspends the tenant in the console (a third context) and the member's next job
is refused on the page."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from tests.conftest import CHROMIUM, REQUIRE_SERVICES
from tests.media_fixtures import make_png, make_wav

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM) and not REQUIRE_SERVICES,
                       reason=f"Chromium is not installed at {CHROMIUM}"),
]

PASSWORD = "correct-Horse-battery-9"


def _context(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    return context


def _sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name='login']", email)
    page.fill("input[name='password']", password)
    page.click(".auth-card button[type='submit']")


@pytest.mark.django_db(transaction=True)
def test_invite_accept_member_view_then_suspension_refuses_the_next_job(live_server, browser, tmp_path):
    from playwright.sync_api import expect

    from accounts.models import Membership, Role, Tenant, User
    from jobs.models import Job
    from tests.conftest import make_tenant

    base = live_server.url
    tenant = make_tenant("Studio", email="owner@example.com")
    User.objects.create_superuser(email="root@parley.example", password=PASSWORD)
    png, wav = make_png(tmp_path / "face.png"), make_wav(tmp_path / "speech.wav", seconds=1.5)
    contexts = []
    try:
        # 1. The owner invites a member from the team page.
        owner_ctx = _context(browser)
        contexts.append(owner_ctx)
        owner = owner_ctx.new_page()
        _sign_in(owner, base, "owner@example.com", "pw-Secret-123")
        owner.wait_for_url(f"{base}/overview/")
        owner.click("nav.mainnav >> text=Team")
        owner.fill("input[name='email']", "mia@example.com")
        owner.select_option(".invite-form select[name='role']", "member")
        owner.click("button:has-text('Send invitation')")
        expect(owner.locator(".messages")).to_contain_text("Invited mia@example.com as member")
        expect(owner.locator("table.invitations")).to_contain_text("mia@example.com")
        assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mia@example.com"]
        link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[0].body).group(0)
        link = base + "/" + link.split("/", 3)[3]

        # 2. The invitee, in a second browser context, signs up from the link and accepts.
        mia_ctx = _context(browser)
        contexts.append(mia_ctx)
        mia = mia_ctx.new_page()
        mia.goto(link)
        expect(mia.locator("h1")).to_have_text("Join Studio")
        mia.click("a.btn:has-text('Create an account')")
        mia.fill("input[name='email']", "mia@example.com")
        mia.fill("input[name='password1']", PASSWORD)
        mia.fill("input[name='password2']", PASSWORD)
        mia.click(".auth-card button[type='submit']")
        mia.wait_for_url(link)
        mia.click("button:has-text('Accept')")
        mia.wait_for_url(f"{base}/overview/")
        expect(mia.locator(".messages")).to_contain_text("Welcome to Studio: you joined as member")
        expect(mia.locator("header")).to_contain_text("Studio")
        assert Membership.objects.get(user__email="mia@example.com").tenant == tenant
        assert Membership.objects.filter(user__email="mia@example.com").count() == 1  # no team of her own

        # 3. What the member role allows and hides.
        mia.click("nav.mainnav >> text=Team")
        expect(mia.locator("table.members")).to_contain_text("owner@example.com")
        expect(mia.locator("button:has-text('Send invitation')")).to_have_count(0)
        expect(mia.locator("form.role-form")).to_have_count(0)
        expect(mia.locator("button:has-text('Delete the team')")).to_have_count(0)
        expect(mia.locator("a:has-text('Audit log')")).to_have_count(0)
        expect(mia.locator(".notice")).to_contain_text("Only admins and owners can invite")
        mia.click("nav.mainnav >> text=API keys")
        expect(mia.locator(".notice")).to_contain_text("Only admins and owners of the team can create or revoke")
        expect(mia.locator("button:has-text('Create key')")).to_have_count(0)
        mia.click("nav.mainnav >> text=Assets")
        mia.set_input_files("input[name='file']", str(png))
        mia.click("button:has-text('Upload')")
        expect(mia.locator("table")).to_contain_text("face.png")  # members upload
        owner.reload()
        expect(owner.locator("table.members")).to_contain_text("mia@example.com")

        # The team pages at a phone's width: nothing scrolls sideways.
        owner.set_viewport_size({"width": 390, "height": 844})
        for path in ("/settings/team/", "/settings/team/audit/", "/settings/api-keys/"):
            owner.goto(f"{base}{path}")
            assert owner.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        mia.set_viewport_size({"width": 390, "height": 844})
        mia.goto(link)  # answered already: the page says so, still without sideways scrolling
        expect(mia.locator("main")).to_contain_text("already answered")
        assert mia.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        mia.set_viewport_size({"width": 1280, "height": 900})

        # 4. An operator suspends the tenant in the console.
        ops_ctx = _context(browser)
        contexts.append(ops_ctx)
        ops = ops_ctx.new_page()
        ops.goto(f"{base}/admin/login/?next=/admin/accounts/tenant/")
        ops.fill("input[name='username']", "root@parley.example")
        ops.fill("input[name='password']", PASSWORD)
        ops.click("input[type='submit']")
        ops.wait_for_url(f"{base}/admin/accounts/tenant/")
        ops.check(f"input[name='_selected_action'][value='{tenant.pk}']")
        ops.select_option("select[name='action']", "suspend")
        ops.click("button[name='index']")
        ops.fill("textarea[name='reason']", "payment dispute")
        ops.click("input[type='submit'][value='Suspend']")
        expect(ops.locator(".messagelist")).to_contain_text("Suspended 1 tenant(s)")
        assert Tenant.objects.get(pk=tenant.pk).suspension_reason == "payment dispute"

        # 5. The member's next job is refused on the page, with the reason.
        mia.goto(f"{base}/jobs/new/?model=local/still")
        mia.set_input_files("input[name='image__file']", str(png))
        mia.set_input_files("input[name='audio__file']", str(wav))
        with mia.expect_response(lambda r: r.request.method == "POST" and "/quote" not in r.url) as answer:
            mia.click("button:has-text('Create job')")
        assert answer.value.status == 403
        expect(mia.locator("main")).to_contain_text("This team is suspended (payment dispute)")
        expect(mia.locator("main")).to_contain_text("new jobs are refused")
        assert not Job.objects.filter(tenant=tenant).exists()
        assert Membership.objects.get(user__email="mia@example.com").role == Role.MEMBER
    except Exception:
        for index, context in enumerate(contexts):
            for page in context.pages:
                page.screenshot(path=str(tmp_path / f"failure-{index}.png"), full_page=True)
        raise
    finally:
        for context in contexts:
            context.close()
