"""The overview, the landing page (issue 13, point 2): this month's spend against the limit, the
running jobs with their progress, recent failures with their reasons, the next steps of a new team,
one mode at a time, never another team's, in a fixed number of queries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.actors import Actor
from accounts.services import api_key_create
from billing.budgets import budget_set
from billing.services import usage_record_create
from jobs.models import Job, JobStatus
from jobs.transitions import job_transition
from tests.dashboard.test_views import queued_job, succeeded_job, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(dashboard_login, tenant):
    return dashboard_login(tenant)


def test_a_new_team_sees_its_next_steps(owner, tenant, tmp_path):
    html = text(owner.get("/overview/"))
    assert "Get started" in html and "Upload a face and a voice" in html and "Create an API key" in html
    assert "Nothing is running." in html and "No job failed in the last 7 days." in html
    queued_job(tenant, tmp_path)
    api_key_create(tenant=tenant, actor=Actor.system(tenant), name="ci")
    assert "Get started" not in text(owner.get("/overview/"))


def test_spend_against_the_limit_running_jobs_and_failures(owner, tenant, other_tenant, tmp_path):
    budget_set(tenant=tenant, actor=Actor.system(tenant), monthly_limit=Decimal("10.00"))
    done = succeeded_job(tenant, tmp_path)
    usage_record_create(tenant=tenant, job_id=done.id, model_id=done.model_id, livemode=True, inputs=done.input,
                        quote_amount=done.quote_amount, seconds=Decimal("1.000"))
    running = queued_job(tenant, tmp_path)
    job_transition(job=running, to=JobStatus.SUBMITTING, message="t")
    job_transition(job=running, to=JobStatus.RUNNING, message="t", progress=0.42)
    failed = queued_job(tenant, tmp_path)
    job_transition(job=failed, to=JobStatus.FAILED, message="t", error_message="The provider refused the audio.")
    theirs = queued_job(other_tenant, tmp_path)
    html = text(owner.get("/overview/"))
    spent = Job.objects.get(pk=done.pk).usage_record.amount
    assert f"{spent} USD" in html and "of 10.00 USD" in html
    assert str(running.id)[:8] in html and 'value="42"' in html and "42%" in html
    assert "The provider refused the audio." in html and str(failed.id)[:8] in html
    assert str(theirs.id)[:8] not in html
    assert 'hx-trigger="every 3s"' in html  # the running list refreshes itself


def test_test_mode_shows_test_jobs_only_and_says_they_are_not_billed(owner, tenant, tmp_path):
    from tests.dashboard.test_test_mode import to_test_mode

    live = queued_job(tenant, tmp_path)
    job_transition(job=live, to=JobStatus.FAILED, message="t", error_message="live failure")
    to_test_mode(owner)
    html = text(owner.get("/overview/"))
    assert "live failure" not in html and "Test jobs are never billed." in html


def test_a_fixed_number_of_queries(owner, tenant, tmp_path):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner.get("/overview/").status_code == 200
        return len(queries)

    before = count()
    for _ in range(3):
        job = queued_job(tenant, tmp_path)
        job_transition(job=job, to=JobStatus.FAILED, message="t", error_message="x")
        queued_job(tenant, tmp_path)
    assert count() == before
