"""The dashboard's live/test switch, as Stripe's dashboard has it: a session flag set by a POST
form in the nav (live by default) that shows one mode's jobs, usage and keys at a time, makes the
jobs the dashboard creates test jobs (the emulator, never limited nor billed), and shows a banner.
Plus each job's cost in the jobs list and on its page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.actors import Actor
from accounts.models import ApiKey, Role
from accounts.services import api_key_create
from billing.budgets import budget_set
from billing.models import StripeAccount, UsageRecord
from jobs.models import Asset, Job, JobStatus
from jobs.services import asset_create
from jobs.transitions import job_transition
from providers.registry import provider_is_emulated
from tests.conftest import user_of
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.django_db

BANNER = 'class="test-banner"'


def owner_actor(tenant) -> Actor:
    return Actor(tenant=tenant, role=Role.OWNER, user=user_of(tenant))


def a_job(tenant, *, livemode: bool, status: str = JobStatus.QUEUED, amount: str = "0.40") -> Job:
    return Job.objects.create(tenant=tenant, model_id="local/still", provider="local", input={},
                              livemode=livemode, status=status, quote_seconds=Decimal("2"),
                              quote_amount=Decimal(amount))


def stored(tenant, path) -> Asset:
    return asset_create(tenant=tenant, actor=owner_actor(tenant),
                        upload=SimpleUploadedFile(path.name, path.read_bytes()))


def to_test_mode(client) -> None:
    response = client.post("/settings/mode/", {"mode": "test", "next": "/jobs/"})
    assert response.status_code == 302 and response["Location"] == "/jobs/"


def test_live_by_default_and_the_switch_shows_a_banner(dashboard_login, tenant):
    client = dashboard_login(tenant)
    live = client.get("/jobs/").content.decode()
    assert BANNER not in live and 'value="test"' in live  # the nav's button to switch
    to_test_mode(client)
    test = client.get("/billing/").content.decode()
    assert BANNER in test and "Test mode" in test and 'value="live"' in test
    client.post("/settings/mode/", {"mode": "live", "next": "/billing/"})
    assert BANNER not in client.get("/billing/").content.decode()


def test_the_switch_refuses_a_bad_mode_and_a_foreign_next(dashboard_login, tenant):
    client = dashboard_login(tenant)
    assert client.post("/settings/mode/", {"mode": "sandbox"}).status_code == 400
    response = client.post("/settings/mode/", {"mode": "test", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/jobs/"
    assert client.get("/settings/mode/").status_code == 405


def test_the_jobs_list_shows_one_modes_jobs(dashboard_login, tenant, other_tenant):
    live, test = a_job(tenant, livemode=True), a_job(tenant, livemode=False)
    foreign = a_job(other_tenant, livemode=False)
    client = dashboard_login(tenant)
    page = client.get("/jobs/").content.decode()
    assert str(live.id) in page and str(test.id) not in page
    to_test_mode(client)
    page = client.get("/jobs/").content.decode()
    assert str(test.id) in page and str(live.id) not in page and str(foreign.id) not in page
    htmx = client.get("/jobs/", HTTP_HX_REQUEST="true").content.decode()  # the self-refreshing table too
    assert str(test.id) in htmx and str(live.id) not in htmx


def test_the_keys_page_shows_one_modes_keys(dashboard_login, tenant):
    live, _ = api_key_create(tenant=tenant, actor=owner_actor(tenant), name="prod", mode="live", role="member")
    test, _ = api_key_create(tenant=tenant, actor=owner_actor(tenant), name="ci", mode="test", role="member")
    client = dashboard_login(tenant)
    page = client.get("/settings/api-keys/").content.decode()
    assert f"{live.prefix}…" in page and f"{test.prefix}…" not in page
    assert '<option value="live" selected>' in page  # a new key defaults to the dashboard's mode
    to_test_mode(client)
    page = client.get("/settings/api-keys/").content.decode()
    assert f"{test.prefix}…" in page and f"{live.prefix}…" not in page
    assert '<option value="test" selected>' in page


def test_a_key_made_in_the_other_mode_moves_the_dashboard_there(dashboard_login, tenant):
    client = dashboard_login(tenant)
    client.post("/settings/api-keys/", {"name": "CI", "mode": "test", "role": "member"})
    key = ApiKey.objects.get(tenant=tenant, name="CI")
    page = client.get("/settings/api-keys/").content.decode()
    assert BANNER in page and f"{key.prefix}…" in page


def test_jobs_created_in_test_mode_are_test_jobs_never_limited(dashboard_login, tenant, tmp_path):
    image, audio = stored(tenant, make_png(tmp_path / "i.png")), stored(tenant, make_wav(tmp_path / "a.wav"))
    budget_set(tenant=tenant, actor=owner_actor(tenant), monthly_limit=Decimal("0.00"))
    StripeAccount.objects.create(tenant=tenant, stripe_customer_id="cus_1", unpaid_invoice_ids=["in_1"])
    client = dashboard_login(tenant)
    body = {"image": str(image.id), "audio": str(audio.id)}
    refused = client.post("/jobs/new/?model=local/still", body)
    assert refused.status_code == 402 and not Job.objects.filter(tenant=tenant).exists()  # live: limited
    to_test_mode(client)
    created = client.post("/jobs/new/?model=local/still", body)
    assert created.status_code == 302, created.content.decode()
    job = Job.objects.get(tenant=tenant)
    assert job.livemode is False and job.emulated == provider_is_emulated("local", livemode=False)
    assert created["Location"] == f"/jobs/{job.id}/"
    assert "test mode" in client.get(created["Location"]).content.decode()


def charged(job: Job, amount: str) -> UsageRecord:
    return UsageRecord.objects.create(
        tenant=job.tenant, job=job, model_id=job.model_id, livemode=job.livemode, seconds=Decimal("1"),
        billable_seconds=Decimal("1"), unit_price=Decimal(amount), multiplier=Decimal("1"),
        provider_amount=Decimal(amount), price_multiplier=Decimal("1"), amount=Decimal(amount), currency="usd")


def test_the_cost_of_each_job(dashboard_login, tenant):
    billed = a_job(tenant, livemode=True, status=JobStatus.SUCCEEDED, amount="0.90")
    charged(billed, "0.75")
    failed = a_job(tenant, livemode=True, status=JobStatus.RUNNING, amount="0.60")
    assert job_transition(job=failed, to=JobStatus.FAILED, message="provider said no")
    quoted = a_job(tenant, livemode=True, amount="0.45")
    client = dashboard_login(tenant)
    rows = {str(job.id): row for row in client.get("/jobs/").content.decode().split("<tr>")[2:]
            for job in (billed, failed, quoted) if str(job.id) in row}
    assert "0.75 USD" in rows[str(billed.id)] and "0.90" not in rows[str(billed.id)]
    assert "0.60" not in rows[str(failed.id)] and "—" in rows[str(failed.id)]
    assert "0.45 USD" in rows[str(quoted.id)] and ">quote<" in rows[str(quoted.id)]
    detail = client.get(f"/jobs/{billed.id}/").content.decode()
    cost = detail.split('id="job-cost">', 1)[1].split("</dd>", 1)[0]
    assert "0.75 USD" in cost
    cost = client.get(f"/jobs/{quoted.id}/").content.decode().split('id="job-cost">', 1)[1].split("</dd>")[0]
    assert "0.45 USD" in cost and "quote" in cost
