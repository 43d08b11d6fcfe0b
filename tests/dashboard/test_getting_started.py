"""The getting-started page: linked from the nav, its commands carry this site's address, the sample
files it ships are inputs the API takes, and its script, run as written by bash and curl against a
live server with real workers, ends with a real video."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from accounts.models import Role
from providers.media import probe_video

SAMPLES = Path(django_settings.BASE_DIR) / "samples"


def _steps(page: str) -> dict[str, str]:
    return {name: html.unescape(body) for name, body in
            re.findall(r'<pre class="pre" data-step="([a-z]+)">(.*?)</pre>', page, re.DOTALL)}


@pytest.mark.django_db
def test_the_page_is_linked_and_speaks_of_this_site(dashboard_login, tenant, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "parley.example"]
    client = dashboard_login(tenant)
    jobs = client.get("/jobs/").content.decode()
    assert 'href="/getting-started/"' in jobs
    page = client.get("/getting-started/", HTTP_HOST="parley.example").content.decode()
    assert 'href="/getting-started/" aria-current="page"' in page
    steps = _steps(page)
    assert set(steps) == {"key", "upload", "video"}
    assert "export PARLEY_BASE_URL=http://parley.example" in steps["key"]
    assert "http://parley.example/static/samples/face.png" in steps["upload"]
    assert "prl_live_" in steps["key"] and 'href="/settings/api-keys/"' in page


@pytest.mark.django_db
def test_a_viewer_is_told_who_can_make_keys_and_test_mode_shows_test_keys(dashboard_login, tenant):
    client = dashboard_login(tenant, Role.VIEWER)
    page = client.get("/getting-started/").content.decode()
    assert "Only admins and owners can create API keys" in page
    client.post("/settings/mode/", {"mode": "test", "next": "/getting-started/"})
    assert "prl_test_" in _steps(client.get("/getting-started/").content.decode())["key"]


@pytest.mark.django_db
def test_the_samples_are_inputs_the_api_takes(member_client):
    image = member_client.post("/api/v1/assets", {"file": open(SAMPLES / "face.png", "rb")}, format="multipart")
    audio = member_client.post("/api/v1/assets", {"file": open(SAMPLES / "speech.wav", "rb")}, format="multipart")
    assert (image.status_code, image.json()["kind"], image.json()["width"]) == (201, "image", 512)
    assert (audio.status_code, audio.json()["kind"], audio.json()["duration_s"]) == (201, "audio", 3.0)


@pytest.mark.e2e
@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="curl and jq run the page's script")
def test_the_script_on_the_page_makes_a_video(platform, live_server, dashboard_login, tenant, api_client, tmp_path):
    workers = platform()
    host = live_server.url.removeprefix("http://")
    steps = _steps(dashboard_login(tenant).get("/getting-started/", HTTP_HOST=host).content.decode())
    key = api_client(Role.MEMBER).secret
    script = steps["key"].replace("prl_live_...", key)  # what a reader does: paste their key
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join([script, steps["upload"], steps["video"]])],
                         cwd=tmp_path, capture_output=True, text=True, timeout=150)
    assert run.returncode == 0, (run.stdout, run.stderr, workers.output())
    assert '"status": "succeeded"' in run.stdout, run.stdout
    video = probe_video(tmp_path / "video.mp4")
    assert abs(float(video.duration_s) - 3.0) < 0.1
