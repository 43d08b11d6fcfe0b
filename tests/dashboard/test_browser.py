"""The dashboard in a real browser: Playwright (sync API) driving Debian's Chromium against the live
test server. Sign up through allauth's page (which creates the team), open a new local/still job,
upload a PNG and a WAV, submit, and land on the job's page showing it queued.

No worker runs: the job stays queued. Skipped when /usr/bin/chromium is missing, unless
REQUIRE_SERVICES=1 (then it fails)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.media_fixtures import make_png, make_wav

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM) and not REQUIRE_SERVICES,
        reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium); "
               "set REQUIRE_SERVICES=1 to make this a failure",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"REQUIRE_SERVICES=1 but Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, tmp_path: Path) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        raise
    finally:
        context.close()


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
    page.wait_for_url(f"{base}/jobs/")
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
