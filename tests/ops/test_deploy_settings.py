"""Production settings pass Django's deployment checklist as they are: `manage.py check --deploy`
with DEBUG=0 and a real SECRET_KEY reports nothing, and each protection can be switched off by an
operator whose TLS proxy does it instead."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from config.settings import BASE_DIR

PRODUCTION = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "parley.example.com"}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("SECURE_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "BEHIND_TLS_PROXY"))
            and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # set by the browser tests' process, never in production
    return subprocess.run([sys.executable, "manage.py", *args], env={**base, **env}, cwd=BASE_DIR,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_reports_nothing_in_production():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr, result.stderr


def test_the_protections_are_switchable_behind_a_proxy():
    code = ("import django, json; django.setup(); from django.conf import settings as s; print(json.dumps("
            "[s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD,"
            " s.SESSION_COOKIE_SECURE, list(s.SECURE_PROXY_SSL_HEADER)]))")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "DEBUG", "SECRET_KEY"))}
    run = lambda **env: subprocess.run(  # noqa: E731
        [sys.executable, "-c", code], env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **PRODUCTION, **env},
        cwd=BASE_DIR, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    assert run() == '[true, 31536000, true, true, true, ["HTTP_X_FORWARDED_PROTO", "https"]]'
    assert run(SECURE_SSL_REDIRECT="0", SECURE_HSTS_PRELOAD="0", SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
               SECURE_HSTS_SECONDS="600", SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_SSL,on") == \
        '[false, 600, false, false, true, ["HTTP_X_FORWARDED_SSL", "on"]]'


def test_the_procfile_names_real_commands():
    from django.core.management import get_commands

    lines = dict(line.split(": ", 1) for line in (BASE_DIR / "Procfile").read_text().splitlines() if line.strip())
    assert set(lines) == {"release", "web", "worker", "poller", "stripe_outbox"}
    assert lines["web"].startswith("gunicorn -c config/gunicorn.conf.py config.wsgi")
    assert (BASE_DIR / "config" / "gunicorn.conf.py").is_file()
    commands = get_commands()
    for command in " && ".join(v for k, v in lines.items() if k != "web").split(" && "):
        words = command.split()
        assert words[:2] == ["python", "manage.py"] and words[2] in commands, command
