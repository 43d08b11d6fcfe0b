"""Static files with DEBUG off, as production runs: WhiteNoise serves what collectstatic wrote
(hashed names, compressed, cached for a year); before collectstatic has run the pages still
render, linking the source files, which WhiteNoise serves from their folders.

The production values of the static settings are read from the settings module itself, imported
with DEBUG=0 in a subprocess (they are computed at import), and applied to this test."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from config.security_headers import HEADER
from config.static_files import CollectedOrSourceStaticFilesStorage

pytestmark = pytest.mark.django_db
BASE_DIR = Path(django_settings.BASE_DIR)
SOURCE_CSS = BASE_DIR / "static" / "css" / "parley.css"
_READ = ("import json; from django.conf import settings as s; print(json.dumps({'STORAGES': s.STORAGES, "
         "'MIDDLEWARE': s.MIDDLEWARE, 'WHITENOISE_USE_FINDERS': s.WHITENOISE_USE_FINDERS}, default=str))")


def production_static_settings(static_root: Path) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0",
           "SECRET_KEY": "static-files-test-secret-key-0123456789", "STATIC_ROOT": str(static_root)}
    out = subprocess.run([sys.executable, "-c", _READ], env=env, cwd=BASE_DIR, capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout)


@pytest.fixture
def as_production(settings, tmp_path):
    """as_production() applies DEBUG off and the production static settings for a STATIC_ROOT in
    tmp_path, as a process started now would compute them; returns that STATIC_ROOT."""
    static_root = tmp_path / "staticfiles"

    def apply() -> Path:
        prod = production_static_settings(static_root)
        settings.DEBUG = False
        settings.STATIC_ROOT = str(static_root)
        settings.MIDDLEWARE = prod["MIDDLEWARE"]
        settings.WHITENOISE_USE_FINDERS = prod["WHITENOISE_USE_FINDERS"]
        settings.STORAGES = {**django_settings.STORAGES, "staticfiles": prod["STORAGES"]["staticfiles"]}
        return static_root

    return apply


def _stylesheet(html: str) -> str:
    return re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_production_serves_static_files_through_whitenoise_with_the_manifest(as_production, dashboard_login, tenant):
    static_root = as_production()
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in django_settings.MIDDLEWARE
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (static_root / "staticfiles.json").is_file()
    as_production()  # a process started after collectstatic
    assert django_settings.WHITENOISE_USE_FINDERS is False

    client = dashboard_login(tenant)
    page = client.get("/jobs/")
    assert page.status_code == 200
    css = _stylesheet(page.content.decode())
    assert re.fullmatch(r"/static/css/parley\.[0-9a-f]{12}\.css", css), css
    assert re.search(r'<script src="/static/js/parley\.[0-9a-f]{12}\.js"', page.content.decode())

    response = client.get(css)
    assert response.status_code == 200 and _body(response) == SOURCE_CSS.read_bytes()
    assert "immutable" in response["Cache-Control"] and response[HEADER]
    zipped = client.get(css, HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip" and gzip.decompress(_body(zipped)) == SOURCE_CSS.read_bytes()


def test_production_before_collectstatic_renders_pages_and_serves_the_sources(
        as_production, dashboard_login, tenant, monkeypatch, caplog):
    monkeypatch.setattr(CollectedOrSourceStaticFilesStorage, "_warned", False)
    static_root = as_production()
    assert not static_root.exists()
    assert django_settings.WHITENOISE_USE_FINDERS is True

    client = dashboard_login(tenant)
    with caplog.at_level(logging.WARNING, logger="config.static_files"), \
            pytest.warns(UserWarning, match="No directory at"):  # WhiteNoise's own word, as the process starts
        for path in ("/jobs/", "/assets/", "/jobs/new/", "/settings/api-keys/", "/no/such/page/"):
            response = client.get(path)
            assert response.status_code in (200, 404), (path, response.status_code)
    assert "collectstatic" in caplog.text
    assert caplog.text.count("Static files are not collected") == 1  # said once, not on every page

    css = _stylesheet(client.get("/jobs/").content.decode())
    assert css == "/static/css/parley.css"
    response = client.get(css)
    assert response.status_code == 200 and _body(response) == SOURCE_CSS.read_bytes()
    assert client.get("/static/js/parley.js").status_code == 200
    client.logout()
    assert client.get("/accounts/login/").status_code == 200  # signed out: allauth's pages too
