"""How many SQL queries the lists and the job page make, pinned: the same number for one row as for
several (jobs with their timeline and charge, assets, models), so that a query per row (an N+1)
fails here. The selectors prefetch what the pages and serializers read."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.actors import Actor
from accounts.models import Role
from billing.services import usage_record_create
from jobs.models import Asset, Job, JobStatus
from jobs.services import asset_create, job_create
from jobs.transitions import job_note, job_transition
from tests.conftest import user_of
from tests.media_fixtures import make_mp4, make_png, make_wav

pytestmark = pytest.mark.django_db

SEVERAL = 6


def _owner(tenant) -> Actor:
    return Actor(tenant=tenant, role=Role.OWNER, user=user_of(tenant))


def _asset(tenant, path: Path) -> Asset:
    """A new asset each call: the file's bytes plus a unique tail (the same content is one asset)."""
    content = path.read_bytes() + uuid.uuid4().bytes
    return asset_create(tenant=tenant, actor=_owner(tenant), upload=SimpleUploadedFile(path.name, content))


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("query-media")
    return {
        "image": make_png(folder / "face.png"),
        "audio": make_wav(folder / "speech.wav", seconds=1.0),
        "video": make_mp4(folder / "out.mp4", seconds=1.0),
    }


def _succeed(job: Job, video: Path, notes: int) -> Job:
    """Walk ``job`` to succeeded with a stored output, ``notes`` timeline notes and a charge."""
    job.output.save(f"{job.id}.mp4", ContentFile(video.read_bytes()), save=False)
    for status in (JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING):
        assert job_transition(job=job, to=status, message="test")
    for index in range(notes):
        job_note(job=job, message=f"progress {index}", data={"progress": index / max(notes, 1)})
    assert job_transition(job=job, to=JobStatus.SUCCEEDED, message="done", output=job.output.name,
                          output_duration_s="1.000", output_width=320, output_height=240)
    usage_record_create(tenant=job.tenant, job_id=job.id, model_id=job.model_id, livemode=job.livemode,
                        inputs=job.input, quote_amount=job.quote_amount, seconds=Decimal("1"))
    return job


def _jobs(tenant, media: dict[str, Path], count: int, *, notes: int = 2) -> list[Job]:
    """``count`` jobs of this tenant: every other one succeeded and charged, the rest queued; each
    with its own image and audio assets."""
    jobs = []
    for index in range(count):
        image, audio = _asset(tenant, media["image"]), _asset(tenant, media["audio"])
        job = job_create(tenant=tenant, actor=_owner(tenant), model_id="local/still",
                         inputs={"image": str(image.id), "audio": str(audio.id)})
        jobs.append(_succeed(job, media["video"], notes) if index % 2 == 0 else job)
    return jobs


# --- the dashboard ---------------------------------------------------------------------------------


@pytest.fixture
def owner(dashboard_login, tenant):
    client = dashboard_login(tenant)
    client.get("/jobs/")  # the session's first request may write (last login, the active team)
    return client


@pytest.mark.parametrize("rows", [1, SEVERAL])
def test_dashboard_jobs_list(owner, tenant, media, rows, django_assert_num_queries):
    _jobs(tenant, media, rows)
    with django_assert_num_queries(DASHBOARD_JOBS_LIST):
        response = owner.get("/jobs/")
    assert response.status_code == 200
    assert len(response.context["page"].rows) == rows


@pytest.mark.parametrize("rows", [1, SEVERAL])
def test_dashboard_jobs_list_refresh(owner, tenant, media, rows, django_assert_num_queries):
    """The table htmx reloads every few seconds while a job runs."""
    _jobs(tenant, media, rows)
    with django_assert_num_queries(DASHBOARD_JOBS_TABLE):
        response = owner.get("/jobs/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200


@pytest.mark.parametrize("notes", [1, SEVERAL])
def test_dashboard_job_page(owner, tenant, media, notes, django_assert_num_queries):
    job = _jobs(tenant, media, 1, notes=notes)[0]
    with django_assert_num_queries(DASHBOARD_JOB_PAGE):
        response = owner.get(f"/jobs/{job.id}/")
    assert response.status_code == 200
    assert len(response.context["events"]) == 5 + notes  # the creation, 4 transitions and the notes
    rows = {row["path"]: row["asset"] is not None for row in response.context["input_rows"]}
    assert rows == {"image": True, "audio": True, "resolution": False}  # both assets, in one query


@pytest.mark.parametrize("notes", [1, SEVERAL])
def test_dashboard_job_page_refresh(owner, tenant, media, notes, django_assert_num_queries):
    """The live part htmx reloads every 2 s until the job is final."""
    job = _jobs(tenant, media, 1, notes=notes)[0]
    with django_assert_num_queries(DASHBOARD_JOB_LIVE):
        response = owner.get(f"/jobs/{job.id}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200


# --- the API -----------------------------------------------------------------------------------------


@pytest.fixture
def client(member_client):
    member_client.get("/api/v1/models")  # the key's first use writes its last_used_at
    return member_client


@pytest.mark.parametrize("rows", [1, SEVERAL])
def test_api_jobs_list(client, tenant, media, rows, django_assert_num_queries):
    """Items are summaries: no timeline, so a page is the same queries whatever the page size."""
    _jobs(tenant, media, rows)
    with django_assert_num_queries(API_JOBS_LIST):
        response = client.get(f"/api/v1/jobs?limit={rows}")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == rows
    assert all("events" not in job for job in results)
    assert sum(job["charge"] is not None for job in results) == (rows + 1) // 2


@pytest.mark.parametrize("rows", [1, SEVERAL])
def test_api_jobs_list_with_events(client, tenant, media, rows, django_assert_num_queries):
    _jobs(tenant, media, rows)
    with django_assert_num_queries(API_JOBS_LIST_EVENTS):
        response = client.get(f"/api/v1/jobs?limit={rows}&expand=events")
    assert response.status_code == 200
    assert all(len(job["events"]) >= 1 for job in response.json()["results"])


def test_api_jobs_list_refuses_an_unknown_expansion(client):
    response = client.get("/api/v1/jobs?expand=input")
    assert response.status_code == 400 and "expand" in response.json()["error"]["fields"]


@pytest.mark.parametrize("mode", ["live", "test"])
def test_api_job_create(api_client, tenant, media, mode, django_assert_num_queries):
    from accounts.models import ApiKeyMode

    client = api_client(Role.MEMBER, mode=ApiKeyMode.LIVE if mode == "live" else ApiKeyMode.TEST)
    client.get("/api/v1/models")
    image, audio = _asset(tenant, media["image"]), _asset(tenant, media["audio"])
    body = {"model": "local/still", "input": {"image": str(image.id), "audio": str(audio.id)}}
    with django_assert_num_queries(API_JOB_CREATE_LIVE if mode == "live" else API_JOB_CREATE_TEST):
        response = client.post("/api/v1/jobs", body, format="json")
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "queued" and [e["to_status"] for e in job["events"]] == ["queued"]
    assert Job.objects.get(pk=job["id"]).assets.count() == 2


@pytest.mark.parametrize("rows", [1, SEVERAL])
def test_api_assets_list(client, tenant, media, rows, django_assert_num_queries):
    for _ in range(rows):
        _asset(tenant, media["image"])
    with django_assert_num_queries(API_ASSETS_LIST):
        response = client.get("/api/v1/assets")
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


def test_api_models_list(client, django_assert_num_queries):
    with django_assert_num_queries(API_MODELS_LIST):
        response = client.get("/api/v1/models")
    assert response.status_code == 200
    assert len(response.json()["results"]) > SEVERAL


# The pins: change one only with the reason in the commit (a new join is fine; a query per row is not).
# Dashboard pages: the session, the user, the active membership (middleware), then the page's own
# reads, then the memberships of the team switcher in the header.
DASHBOARD_JOBS_LIST = 7  # + a keyset page of jobs (charge, creator, key joined; no count, no events), their
# images (thumbnails), the API keys of the filter, memberships
DASHBOARD_JOBS_TABLE = 5  # + the page of jobs, their images (the partial lists no keys, no memberships)
DASHBOARD_JOB_PAGE = 7  # + the job (charge and creator joined), its events, its input's assets, memberships
DASHBOARD_JOB_LIVE = 5  # + the job, its events
# API: the key (with its tenant), then the resource's reads.
API_JOBS_LIST = 2  # + page of jobs (charge joined): summaries, no timeline
API_JOBS_LIST_EVENTS = 3  # + their events (?expand=events)
# Creation: the key (with its tenant, whose suspension state is checked as read there: a suspension
# holds at the next request); (a savepoint here, the transaction in production) the input's assets;
# the job, its asset links and its first event in one round trip on PostgreSQL (config/batched_insert.py;
# three INSERTs elsewhere); no read-back, no full_clean() queries.
_ONE_ROUND_TRIP = connection.vendor == "postgresql"
API_JOB_CREATE_TEST = 5 if _ONE_ROUND_TRIP else 7
# + the tenant's billing state under its lock (Stripe state and budgets, one statement:
# billing/admission.py); the reservation goes with the job's rows
API_JOB_CREATE_LIVE = 6 if _ONE_ROUND_TRIP else 9
API_ASSETS_LIST = 2  # + page of assets
API_MODELS_LIST = 1  # the catalogue is data: no query
