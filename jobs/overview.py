"""The team's overview, the dashboard's landing page: this month's spend against the limit, the
jobs running now with their progress, recent failures with their reasons, and, for a new team,
the next step (upload a file, make a first job, make an API key). A fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import ApiKey, ApiKeyMode, Tenant
from billing.selectors import BudgetStatus, budget_get, month_start, period_spend

from .models import ACTIVE_STATUSES, Asset, Job, JobStatus

RUNNING_SHOWN = 10
FAILURES_SHOWN = 5
FAILURES_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class NextStep:
    done: bool
    title: str
    url_name: str  # where to do it
    hint: str


@dataclass(frozen=True)
class TeamOverview:
    livemode: bool
    budget: BudgetStatus | None  # the live month's limit and spend (budgets hold for live jobs only)
    test_spend: Decimal | None  # test mode: what this month's test jobs would have cost
    running: list[Job]
    failures: list[Job]
    steps: list[NextStep]

    @property
    def new_team(self) -> bool:
        return not all(step.done for step in self.steps)


def team_overview(*, tenant: Tenant, livemode: bool) -> TeamOverview:
    jobs = Job.objects.for_tenant(tenant).filter(livemode=livemode)
    running = list(jobs.filter(status__in=ACTIVE_STATUSES).defer("input", "provider_handle")
                   .order_by("-created_at")[:RUNNING_SHOWN])
    failures = list(jobs.filter(status=JobStatus.FAILED, created_at__gte=timezone.now() - FAILURES_WINDOW)
                    .defer("input", "provider_handle").order_by("-created_at")[:FAILURES_SHOWN])
    mode = ApiKeyMode.LIVE if livemode else ApiKeyMode.TEST
    steps = [
        NextStep(Asset.objects.for_tenant(tenant).exists(), "Upload a face and a voice", "jobs:assets",
                 "A photo of the person and the speech or song they say (WAV, MP3, …)."),
        NextStep(jobs.exists(), "Make your first video", "jobs:new",
                 "Pick a model, choose your files, see the price, create the job."),
        NextStep(ApiKey.objects.for_tenant(tenant).filter(mode=mode, revoked_at__isnull=True).exists(),
                 "Create an API key", "accounts:api-keys", "To create jobs from your own code."),
    ]
    if livemode:
        return TeamOverview(livemode=True, budget=budget_get(tenant=tenant), test_spend=None, running=running,
                            failures=failures, steps=steps)
    spend = period_spend(tenant=tenant, livemode=False, start=month_start(), end=None)
    return TeamOverview(livemode=False, budget=None, test_spend=spend, running=running, failures=failures,
                        steps=steps)
