"""The jobs list as a library (issue 13, point 3; issue 14, point 2): keyset pages, filters by
status, model, API key and days, search by id, who created each job, its charge and run time, a
thumbnail, times in the viewer's zone, and a constant number of queries whatever the page holds."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.actors import Actor
from accounts.services import api_key_create
from billing.services import usage_record_create
from jobs.job_table import cursor_read, id_search_range, job_cursor
from jobs.models import Job, JobStatus
from jobs.services import job_create
from jobs.templatetags.job_format import money, seconds
from jobs.transitions import job_transition
from tests.dashboard.test_views import owner_actor, queued_job, stored_asset, succeeded_job, text
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(dashboard_login, tenant):
    return dashboard_login(tenant)


def rows(html: str) -> list[str]:
    """The 8-character ids the table lists, in order."""
    return re.findall(r'<a class="mono" href="/jobs/[0-9a-f-]+/" title="[0-9a-f-]+">([0-9a-f]{8})</a>', html)


def short(job: Job) -> str:
    return str(job.id)[:8]


def key_job(tenant, tmp_path, name="CI pipeline"):
    key, _secret = api_key_create(tenant=tenant, actor=Actor.system(tenant), name=name)
    image = stored_asset(tenant, make_png(tmp_path / "k.png"))
    audio = stored_asset(tenant, make_wav(tmp_path / "k.wav", seconds=1.0))
    job = job_create(tenant=tenant, actor=Actor.from_api_key(key), model_id="local/still",
                     inputs={"image": str(image.id), "audio": str(audio.id)})
    return key, job


def test_who_created_each_job_and_the_filter_by_key(owner, tenant, tmp_path):
    by_user = queued_job(tenant, tmp_path)
    key, by_key = key_job(tenant, tmp_path)
    html = text(owner.get("/jobs/"))
    assert rows(html) == [short(by_key), short(by_user)]
    assert "CI pipeline</span> <span class=\"tag\">key</span>" in html and by_user.created_by.email in html
    assert f'<option value="{key.id}">CI pipeline' in html
    assert rows(text(owner.get("/jobs/", {"key": key.id}))) == [short(by_key)]


def test_filter_by_days_in_the_viewers_zone(owner, tenant, tmp_path):
    old, new = queued_job(tenant, tmp_path), queued_job(tenant, tmp_path)
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    today = timezone.now().date()
    assert rows(text(owner.get("/jobs/", {"created_from": today.isoformat()}))) == [short(new)]
    assert rows(text(owner.get("/jobs/", {"created_to": (today - timedelta(days=2)).isoformat()}))) == [short(old)]
    # a day that is not a day is dropped, not a crash
    assert len(rows(text(owner.get("/jobs/", {"created_from": "yesterday"})))) == 2


def test_search_by_whole_id_or_its_start_and_never_another_tenants(owner, tenant, other_tenant, tmp_path):
    mine, theirs = queued_job(tenant, tmp_path), queued_job(other_tenant, tmp_path)
    assert rows(text(owner.get("/jobs/", {"q": str(mine.id)}))) == [short(mine)]
    assert rows(text(owner.get("/jobs/", {"q": short(mine).upper()}))) == [short(mine)]
    assert rows(text(owner.get("/jobs/", {"q": str(theirs.id)}))) == []
    html = text(owner.get("/jobs/", {"q": "not-an-id"}))
    assert rows(html) == [] and "No jobs match these filters." in html


def test_the_charge_the_run_time_and_the_thumbnail(owner, tenant, tmp_path):
    done = succeeded_job(tenant, tmp_path)
    Job.objects.filter(pk=done.pk).update(started_at=timezone.now() - timedelta(seconds=6),
                                          completed_at=timezone.now())
    usage_record_create(tenant=tenant, job_id=done.id, model_id=done.model_id, livemode=True, inputs=done.input,
                        quote_amount=done.quote_amount, seconds=Decimal("1.000"))
    failed = queued_job(tenant, tmp_path)
    job_transition(job=failed, to=JobStatus.FAILED, message="test")
    html = text(owner.get("/jobs/"))
    done_row = html[html.index(short(done)):]
    done_row = done_row[:done_row.index("</tr>")]
    assert re.search(r'<span class="cost">\d+\.\d\d USD</span>', done_row)
    assert ">6 s<" in done_row and ">1 s<" in done_row
    failed_row = html[html.index(short(failed)):]
    assert 'title="Only succeeded jobs are charged">—' in failed_row[:failed_row.index("</tr>")]
    image_id = done.input["image"]
    assert f'<img class="thumb" src="/assets/{image_id}/file"' in html


def test_times_are_shown_in_the_viewers_zone(owner, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    utc = job.created_at.astimezone(UTC)
    owner.cookies["tz"] = "Asia/Tokyo"  # UTC+9, no daylight saving
    tokyo = (job.created_at + timedelta(hours=9)).strftime("%Y-%m-%d %H:%M")
    assert f">{tokyo}</time>" in text(owner.get("/jobs/"))
    owner.cookies["tz"] = "../../etc/passwd"
    assert f">{utc.strftime('%Y-%m-%d %H:%M')}</time>" in text(owner.get("/jobs/"))


def test_the_query_count_does_not_grow_with_the_page(owner, tenant, tmp_path):
    image = stored_asset(tenant, make_png(tmp_path / "f.png"))
    audio = stored_asset(tenant, make_wav(tmp_path / "s.wav", seconds=0.5))

    def make(n):
        for _ in range(n):
            job_create(tenant=tenant, actor=owner_actor(tenant), model_id="local/still",
                       inputs={"image": str(image.id), "audio": str(audio.id)})

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner.get("/jobs/").status_code == 200
        return len(queries)

    make(2)
    few = count()
    make(40)  # more than a page
    assert count() == few
    with CaptureQueriesContext(connection) as queries:
        owner.get("/jobs/")
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert not any("jobs_jobevent" in q["sql"] for q in queries.captured_queries)


def test_cursors_and_id_ranges():
    assert cursor_read("garbage") is None and cursor_read("") is None and cursor_read("x" * 500) is None
    assert id_search_range("abc") is None and id_search_range("zzzzzzzz") is None
    low, high = id_search_range("3F2A9C1D")
    assert str(low) == "3f2a9c1d-0000-0000-0000-000000000000" and str(high) == "3f2a9c1d-ffff-ffff-ffff-ffffffffffff"


def test_a_cursor_round_trips(tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    assert cursor_read(job_cursor(job)) == (job.created_at, job.id)


@pytest.mark.parametrize(("value", "words"), [
    (Decimal("0.4"), "0.4 s"), (Decimal("6"), "6 s"), (Decimal("6.04"), "6 s"), (Decimal("9.96"), "10 s"),
    (59.4, "59 s"), (60, "1 min"), (125, "2 min 5 s"), (3600, "1 h"), (3780, "1 h 3 min"), (None, ""),
])
def test_lengths_in_words(value, words):
    assert seconds(value) == words


def test_money_has_its_currency():
    assert money(Decimal("0.15"), "usd") == "0.15 USD" and money(Decimal("1.005"), "eur") == "1.01 EUR"


@pytest.mark.parametrize("source", ["poll", "webhook"])
@pytest.mark.parametrize("state", ["succeeded", "canceled"])
def test_the_timeline_speaks_without_internal_words(tenant, tmp_path, source, state):
    from jobs.pipeline.progress import job_apply_result
    from providers.clients.results import PollResult

    job = queued_job(tenant, tmp_path)
    job_transition(job=job, to=JobStatus.SUBMITTING, message="t")
    job_transition(job=job, to=JobStatus.RUNNING, message="t")
    job_apply_result(job=job, result=PollResult(state=state, video_url="https://cdn.example/v.mp4"), source=source)
    message = job.events.order_by("-created_at", "-id").first().message
    assert message.startswith("The provider") and f"({source})" not in message and source not in message, message
