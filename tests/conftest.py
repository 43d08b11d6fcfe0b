"""Shared fixtures: tenants, API clients by role, media files, and the real worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from accounts.actors import Actor
from accounts.models import ApiKeyMode, Role, Tenant, User
from accounts.services import api_key_create, tenant_create, user_create
from tests.media_fixtures import make_png, make_wav

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
BASE_DIR = Path(django_settings.BASE_DIR)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory) -> None:
    """Each test writes its files to its own folder and caches in its own namespace; passwords hash fast."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Each test has its own cache namespace: the Redis cache outlives a run, and allauth keeps its
    # rate limits there (one confirmation email per address per 3 minutes), so a rerun would see them.
    settings.CACHES = {"default": {**django_settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}}


def make_tenant(name: str = "Acme", email: str | None = None) -> Tenant:
    user = user_create(email=email or f"owner-{uuid.uuid4().hex[:8]}@example.com", password="pw-Secret-123")
    return tenant_create(name=name, owner=user)


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant("Acme")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant("Globex")


@pytest.fixture
def api_client(db, tenant) -> Callable[..., APIClient]:
    """api_client(role="member", tenant=None, mode="live") -> an APIClient with a fresh key."""

    def build(role: str = Role.MEMBER, tenant_: Tenant | None = None, mode: str = ApiKeyMode.LIVE) -> APIClient:
        in_tenant = tenant_ or tenant
        _, secret = api_key_create(tenant=in_tenant, actor=Actor.system(in_tenant), name=f"{role} key", role=role,
                                   mode=mode)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        client.secret = secret
        return client

    return build


@pytest.fixture
def member_client(api_client) -> APIClient:
    return api_client(Role.MEMBER)


@pytest.fixture
def png_file(tmp_path) -> Path:
    return make_png(tmp_path / "face.png")


@pytest.fixture
def wav_file(tmp_path) -> Path:
    return make_wav(tmp_path / "speech.wav", seconds=2.0)


def upload(client: APIClient, path: Path, name: str | None = None) -> dict:
    """The asset of this file: a new one (201), or the tenant's own of the same content (200)."""
    with open(path, "rb") as fh:
        response = client.post("/api/v1/assets", {"file": (fh)}, format="multipart")
    assert response.status_code in (200, 201), response.content
    return response.json()


def user_of(tenant: Tenant) -> User:
    return User.objects.filter(memberships__tenant=tenant).first()


# --- real worker processes ------------------------------------------------------------------
def database_url() -> str:
    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    auth = cfg["USER"] or ""
    if cfg.get("PASSWORD"):
        auth += f":{cfg['PASSWORD']}"
    host = f"{cfg.get('HOST') or '127.0.0.1'}:{cfg.get('PORT') or 5432}"
    return f"postgres://{auth}@{host}/{cfg['NAME']}"


class Workers:
    """A django-q2 cluster and a job poller, as real subprocesses on the test database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, log_dir: Path) -> None:
        for name, args in (("worker", ["qcluster"]), ("poller", ["job_poller", "--interval", "0.2"])):
            log = log_dir / f"{name}.log"
            self.logs.append(log)
            fh = open(log, "wb")  # noqa: SIM115 - closed with the process
            self.procs.append(subprocess.Popen(
                [sys.executable, str(BASE_DIR / "manage.py"), *args], env=self.env, stdout=fh,
                stderr=subprocess.STDOUT, start_new_session=True,
            ))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    def output(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.logs if p.exists())


@pytest.fixture
def platform(transactional_db, live_server, settings, tmp_path) -> Iterator[Callable[..., Workers]]:
    """platform(**env) starts real worker processes that share this test's database, media
    folder and broker; PUBLIC_BASE_URL is the live server, so providers can fetch signed URLs."""
    started: list[Workers] = []

    def start(**extra_env: str) -> Workers:
        settings.PUBLIC_BASE_URL = live_server.url
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "PUBLIC_BASE_URL": live_server.url,
            "Q_CLUSTER_NAME": django_settings.Q_CLUSTER["name"],
            "Q_WORKERS": "2",
            "JOB_POLL_INTERVAL_S": "0.3",
            "JOB_POLL_MAX_INTERVAL_S": "1",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            **{k: str(v) for k, v in extra_env.items()},
        }
        env.pop("PYTEST_XDIST_WORKER", None)
        if django_settings.REDIS_URL:
            from django_q.brokers import get_broker

            get_broker().purge_queue()
        workers = Workers(env)
        workers.start(tmp_path)
        started.append(workers)
        return workers

    yield start
    for workers in started:
        workers.stop()


def wait_for(predicate: Callable[[], object], *, timeout: float = 60, interval: float = 0.2,
             message: str = "condition", on_timeout: Callable[[], str] | None = None) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = on_timeout() if on_timeout else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {message}\n{detail}")


# --- in-process worker: tasks run inline, the poller ticks in the test ---------------------------
@pytest.fixture
def inline_tasks(monkeypatch, settings) -> list[str]:
    """Run enqueued tasks in this process, right after their transaction commits (use with
    transactional_db). Returns the list of task paths run, in order."""
    from importlib import import_module

    import jobs.queue

    ran: list[str] = []

    def run(path: str, *args: object, **kwargs: object) -> None:
        ran.append(path)
        module, name = path.rsplit(".", 1)
        getattr(import_module(module), name)(*args)

    monkeypatch.setattr(jobs.queue, "async_task", run)
    settings.JOB_POLL_INTERVAL_S = 0.1
    settings.JOB_POLL_MAX_INTERVAL_S = 0.3
    settings.JOB_RETRY_BASE_S = 0.1
    return ran


def drive_job(job_id: object, *, timeout: float = 60) -> object:
    """Tick the poller until the job is final; returns the job."""
    from jobs.management.commands.job_poller import poller_tick
    from jobs.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_final:
            return job
        poller_tick()
        time.sleep(0.05)
    job = Job.objects.get(pk=job_id)
    events = "\n".join(f"{e.from_status}->{e.to_status} {e.message}" for e in job.events.all())
    raise AssertionError(f"job {job_id} still {job.status} after {timeout}s:\n{events}")


# --- the provider emulator, in this process, over real HTTP ----------------------------------------
@pytest.fixture
def emulator(settings):
    """A running provider emulator that the platform's clients (in this process and in worker
    subprocesses, through PROVIDER_EMULATOR_URL) talk to over real HTTP."""
    from providers.emulator.config import EmulatorConfig
    from providers.emulator.server import start_emulator

    config = EmulatorConfig(
        api_key=settings.PROVIDER_EMULATOR_KEY, webhook_secret=settings.PROVIDER_EMULATOR_WEBHOOK_SECRET,
        queued_s=0.2, running_s=0.6, concurrency=4,
    )
    running = start_emulator(config)
    settings.PROVIDER_EMULATOR_URL = running.url
    settings.WAVESPEED_API_KEY = settings.FAL_KEY = settings.DASHSCOPE_API_KEY = ""
    try:
        yield running
    finally:
        running.stop()


def header(entry: dict, name: str) -> str | None:
    return next((v for k, v in entry["headers"].items() if k.lower() == name.lower()), None)


# --- dashboard fixtures ---
@pytest.fixture
def dashboard_login(db) -> Callable[..., object]:
    """dashboard_login(tenant, role="owner") -> a django test Client signed in as a user with that
    role in ``tenant`` (its owner for "owner", else a new member), with ``.user`` and ``.tenant``."""
    from django.test import Client

    from accounts.models import Membership

    def login(tenant_: Tenant, role: str = Role.OWNER) -> Client:
        if role == Role.OWNER:
            user = user_of(tenant_)
        else:
            user = user_create(email=f"{role}-{uuid.uuid4().hex[:8]}@example.com", password="pw-Secret-123")
            Membership.objects.create(tenant=tenant_, user=user, role=role)
        client = Client()
        client.force_login(user)
        client.user, client.tenant = user, tenant_
        return client

    return login
# --- end of dashboard fixtures ---


# --- the browser tests' Chromium (Debian's: Playwright's own download cannot work offline) ---------
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Playwright (sync API) driving Debian's Chromium, one per module. Without Chromium the test
    skips (``make test`` installs it when it can), and fails under REQUIRE_SERVICES=1, as in CI."""
    if not os.path.exists(CHROMIUM):
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but Chromium is not installed at {CHROMIUM}")
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    # Playwright's sync API runs an event loop in the test's thread; the test's own ORM calls are safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, tmp_path: Path) -> Iterator[object]:
    """A fresh browser context per test, 1280 px wide; a failing test leaves a full-page screenshot."""
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

