"""The dashboard in Debian's Chromium (issue 13): files upload with a progress bar, the job page
follows the job to succeeded without a reload and its player plays the video; the DashScope form
starts with one media row and grows as asked; and every page fits a 390 px wide phone screen."""

from __future__ import annotations

import re

import pytest

from tests.conftest import CHROMIUM, REQUIRE_SERVICES
from tests.media_fixtures import make_png, make_wav

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM) and not REQUIRE_SERVICES,
                       reason=f"Chromium is not installed at {CHROMIUM}"),
]

PASSWORD = "correct-Horse-battery-9"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name='login']", email)
    page.fill("input[name='password']", PASSWORD)
    page.click(".auth-card button[type='submit']")
    page.wait_for_url(f"{base}/overview/")


def make_user(name: str, email: str):
    from tests.conftest import make_tenant, user_of

    tenant = make_tenant(name, email=email)
    user = user_of(tenant)
    user.set_password(PASSWORD)
    user.save()
    return tenant


def test_upload_with_a_progress_bar_then_watch_and_play(platform, live_server, page, tmp_path):
    from playwright.sync_api import expect

    platform()
    make_user("Upload Team", "uploader@example.com")
    base = live_server.url
    sign_in(page, base, "uploader@example.com")
    expect(page.locator("text=Get started")).to_be_visible()

    page.goto(f"{base}/jobs/new/?model=local/still")
    page.set_input_files("input[name='image__file']", str(make_png(tmp_path / "face.png", width=640, height=480)))
    page.set_input_files("input[name='audio__file']", str(make_wav(tmp_path / "speech.wav", seconds=2.0)))
    with page.expect_request(lambda r: r.method == "POST" and r.resource_type == "xhr" and "/jobs/new/" in r.url):
        page.click("button:has-text('Create job')")
    # The bar showed while the files went up, then the page followed the redirect to the job.
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.locator("#job-live .status-line .badge")).to_have_text("Succeeded", timeout=90_000)
    duration = page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 1 && v.duration; }",
        timeout=20_000,
    ).json_value()
    assert abs(duration - 2.0) < 0.1
    page.evaluate("document.querySelector('video').muted = true")
    page.evaluate("document.querySelector('video').play()")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.2", timeout=10_000)
    expect(page.locator("#job-live")).to_contain_text("USD")


def test_the_upload_progress_bar_moves(live_server, transactional_db, page, tmp_path):
    from playwright.sync_api import expect

    make_user("Bar Team", "bar@example.com")
    base = live_server.url
    sign_in(page, base, "bar@example.com")
    page.goto(f"{base}/assets/")
    page.set_input_files("input[name='file']", str(make_wav(tmp_path / "long.wav", seconds=60.0)))  # ~1.9 MB
    cdp = page.context.new_cdp_session(page)  # a slow uplink (256 KB/s), so the bar has time to move
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                  "uploadThroughput": 256 * 1024})
    page.click("button:has-text('Upload')")
    expect(page.locator(".upload-progress")).to_be_visible()
    page.wait_for_function("() => { const b = document.querySelector('.upload-progress progress');"
                           " return b && b.value > 0 && b.value < 100; }", timeout=15_000)
    expect(page.locator(".upload-progress-label")).to_contain_text("Uploading")
    expect(page.locator(".messages")).to_contain_text("Uploaded long.wav", timeout=60_000)


def test_the_dashscope_form_starts_with_one_media_row(live_server, transactional_db, page):
    from playwright.sync_api import expect

    make_user("Rows Team", "rows@example.com")
    base = live_server.url
    sign_in(page, base, "rows@example.com")
    page.goto(f"{base}/jobs/new/?model=dashscope/wan2.7-r2v")
    rows = page.locator("fieldset[data-rows] fieldset.row")
    expect(rows.nth(0)).to_be_visible()
    expect(rows.nth(1)).to_be_hidden()
    page.click("button:has-text('Add a row')")
    expect(rows.nth(1)).to_be_visible()
    expect(rows.nth(2)).to_be_hidden()
    rows.nth(1).locator("button:has-text('Remove this row')").click()
    expect(rows.nth(1)).to_be_hidden()


def test_every_page_fits_a_390_px_screen(live_server, transactional_db, browser, tmp_path):
    from accounts.actors import Actor
    from jobs.services import asset_create, job_create
    from tests.dashboard.test_views import stored_asset

    tenant = make_user("Narrow Team", "narrow@example.com")
    image = stored_asset(tenant, make_png(tmp_path / "f.png"))
    audio = stored_asset(tenant, make_wav(tmp_path / "s.wav", seconds=1.0))
    job = job_create(tenant=tenant, actor=Actor.system(tenant), model_id="local/still",
                     inputs={"image": str(image.id), "audio": str(audio.id)})
    assert asset_create
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        base = live_server.url
        sign_in(page, base, "narrow@example.com")
        for path in ["/overview/", "/jobs/", f"/jobs/{job.id}/", "/jobs/new/", "/jobs/new/?model=local/still",
                     "/jobs/new/?model=dashscope/wan2.7-r2v", "/assets/", "/settings/api-keys/", "/billing/"]:
            page.goto(base + path)
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow} px at 390 px wide"
    finally:
        context.close()
