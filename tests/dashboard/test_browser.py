"""The dashboard in a real browser: Playwright (sync API) driving Debian's Chromium against the live
test server. Sign up through allauth's page (which creates the team), create a local/still job
from uploaded files and land on its page; and, with real workers and the emulated provider, watch
a fal text-to-speech job's page update itself to succeeded and its player load the video.

Skipped when /usr/bin/chromium is missing, unless REQUIRE_SERVICES=1 (then it fails)."""

from __future__ import annotations

import os
import re

import pytest

from tests.media_fixtures import make_png, make_wav

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.conftest import CHROMIUM, REQUIRE_SERVICES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not REQUIRE_SERVICES,
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium); "
               "set REQUIRE_SERVICES=1 to make this a failure",
    ),
]


def test_sign_up_then_create_a_local_still_job(live_server, transactional_db, page, tmp_path):
    from playwright.sync_api import expect

    from jobs.models import Asset, Job, JobStatus

    png = make_png(tmp_path / "face.png")
    wav = make_wav(tmp_path / "speech.wav", seconds=1.5)
    base = live_server.url

    # Sign up: allauth's page in our layout; it creates the team and signs in.
    page.goto(f"{base}/accounts/signup/")
    expect(page.locator("link[href='/static/css/parley.css']")).to_have_count(1)
    page.fill("input[name='email']", "newcomer@example.com")
    page.fill("input[name='password1']", "correct-Horse-battery-9")
    page.fill("input[name='password2']", "correct-Horse-battery-9")
    page.fill("input[name='team_name']", "Browser Team")
    page.click(".auth-card button[type='submit']")
    page.wait_for_url(f"{base}/overview/")
    expect(page.locator("header")).to_contain_text("Browser Team")
    expect(page.locator("header")).to_contain_text("newcomer@example.com")

    # New job: pick the local renderer, upload the files, submit.
    page.click("text=New job")
    page.click("text=Local still (demo)")
    expect(page.locator("select[name='resolution']")).to_have_value("480p")
    page.set_input_files("input[name='image__file']", str(png))
    page.set_input_files("input[name='audio__file']", str(wav))
    page.select_option("select[name='resolution']", "720p")
    page.click("button:has-text('Create job')")

    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.locator("#job-live .status-line .badge")).to_have_text("Queued")
    expect(page.locator(".messages")).to_contain_text("Job created and queued")
    expect(page.locator("#job-live")).to_have_attribute("hx-trigger", "every 2s")

    job = Job.objects.get()
    assert page.url == f"{base}/jobs/{job.id}/"
    assert job.status == JobStatus.QUEUED and job.tenant.name == "Browser Team"
    assert job.input["resolution"] == "720p"
    assert {a.kind for a in Asset.objects.filter(tenant=job.tenant)} == {"image", "audio"}

    # The live section keeps polling (htmx served by us, no CDN) and still shows the job queued.
    with page.expect_response(lambda r: r.url == f"{base}/jobs/{job.id}/" and r.request.headers.get("hx-request")):
        pass
    expect(page.locator("#job-live .status-line .badge")).to_have_text("Queued")


def test_a_provider_job_runs_to_a_playable_video_live(platform, emulator, live_server, page, tmp_path, settings):
    """Real workers and the emulated provider behind the dashboard: the job page updates itself
    (htmx) from queued to succeeded, and its player loads the delivered video."""
    from playwright.sync_api import expect

    from tests.conftest import make_tenant, user_of

    platform(PROVIDER_EMULATOR_URL=emulator.url)
    tenant = make_tenant("Live Team", email="live@example.com")
    user = user_of(tenant)
    user.set_password("correct-Horse-battery-9")
    user.save()
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name='login']", "live@example.com")
    page.fill("input[name='password']", "correct-Horse-battery-9")
    page.click(".auth-card button[type='submit']")
    page.wait_for_url(f"{base}/overview/")

    page.goto(f"{base}/jobs/new/?model=fal-ai/ai-avatar/single-text")
    expect(page.locator("h2", has_text="AI Avatar from text")).to_contain_text("emulated")
    page.set_input_files("input[name='image_url__file']", str(make_png(tmp_path / "face.png")))
    page.fill("textarea[name='text_input']", "Hello from the browser.")
    page.select_option("select[name='voice']", "Aria")
    page.fill("textarea[name='prompt']", "A person greets the viewer.")
    page.fill("input[name='num_frames']", "50")
    page.click("button:has-text('Create job')")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))

    # No reload: the live section swaps itself until the job is final.
    expect(page.locator("#job-live .status-line .badge")).to_have_text("Succeeded", timeout=90_000)
    video = page.locator("video")
    expect(video).to_have_count(1)
    duration = page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 1 && v.duration; }",
        timeout=20_000,
    ).json_value()
    assert abs(duration - 50 / 25) < 0.1
    expect(page.locator("#job-live")).not_to_have_attribute("hx-trigger", "every 2s")


def test_the_billing_page_renders_without_csp_violations(live_server, transactional_db, browser):
    """The billing page's charts are inline SVG styled by classes: at a desktop and a phone width,
    Chromium reports no Content-Security-Policy violation and draws a bar per day."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal
    from unittest import mock

    from django.conf import settings as django_settings
    from django.test import Client

    from billing.models import UsageRecord
    from jobs.models import Job, JobStatus
    from tests.conftest import make_tenant, user_of

    tenant = make_tenant("Browser Co")
    start = datetime.now(UTC).replace(day=1, hour=12)
    for day, (model, amount) in enumerate([("local/still", "1.20"), ("local/talk", "0.40"),
                                           ("local/still", "2.10")]):
        job = Job.objects.create(tenant=tenant, model_id=model, provider="local", input={},
                                 status=JobStatus.SUCCEEDED, quote_seconds=Decimal("1"), quote_amount=Decimal(amount))
        record = UsageRecord(tenant=tenant, job=job, model_id=model, seconds=Decimal("1"),
                             billable_seconds=Decimal("1"), unit_price=Decimal(amount), multiplier=Decimal("1"),
                             provider_amount=Decimal(amount), price_multiplier=Decimal("1"),
                             amount=Decimal(amount), currency="usd")
        with mock.patch("django.utils.timezone.now", return_value=start + timedelta(days=day * 3)):
            record.save(force_insert=True)
    client = Client()
    client.force_login(user_of(tenant))
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie,
                              "url": live_server.url}])
        page = context.new_page()
        violations: list[str] = []
        page.on("console", lambda msg, seen=violations: seen.append(msg.text)
                if "Content Security Policy" in msg.text else None)
        try:
            response = page.goto(f"{live_server.url}/billing/")
            assert response.status == 200 and "default-src" in response.headers["content-security-policy"]
            assert page.locator("#chart-day rect.bar").count() >= 28
            assert page.locator("#chart-model rect.bar").count() == 2
            assert page.locator("#period-spend").inner_text() == "3.70 USD"
            fill = page.eval_on_selector("#chart-day rect.bar", "el => getComputedStyle(el).fill")
            assert fill not in ("", "rgb(0, 0, 0)"), fill  # the stylesheet's class reached the SVG
            page.screenshot(path=f"/tmp/billing-{width}.png", full_page=True)
            assert violations == []
        finally:
            context.close()
