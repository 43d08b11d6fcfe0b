"""REST API v1 over real API keys: assets, models, jobs, api-keys; roles, authentication, 404s.

No worker runs here: a created job stays queued (its submission is enqueued on commit, and the
test transaction never commits)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files import File
from rest_framework.test import APIClient

from accounts.models import ApiKey, ApiKeyMode, Role
from jobs.models import Asset, Job, JobEvent, JobStatus
from jobs.transitions import job_transition
from providers.catalogue import catalogue_get, catalogue_list
from tests.conftest import upload
from tests.media_fixtures import make_jpeg, make_mp4, make_png, make_wav

PROVIDER_MODELS = {
    "wavespeed-ai/wan-2.1/multitalk",
    "wavespeed-ai/wan-2.2/speech-to-video",
    "wavespeed-ai/hunyuan-avatar",
    "fal-ai/ai-avatar",
    "fal-ai/ai-avatar/multi",
    "fal-ai/ai-avatar/single-text",
    "fal-ai/ai-avatar/multi-text",
    "dashscope/wan2.7-r2v",
}
JOB_KEYS = {"id", "model", "status", "input", "quote", "output", "error", "events", "created_at", "started_at",
            "completed_at"}


# --- helpers -------------------------------------------------------------------------------------
def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def create_job(client: APIClient, image_id: str, audio_id: str, **extra: object) -> dict:
    response = client.post(
        "/api/v1/jobs", {"model": "local/still", "input": {"image": image_id, "audio": audio_id, **extra}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def move_to(job_id: str, *statuses: str, **fields: object) -> Job:
    """Walk a job through the state machine with the one writer of Job.status."""
    job = Job.objects.get(pk=job_id)
    for status in statuses:
        assert job_transition(job=job, to=status, message="test", **(fields if status == statuses[-1] else {}))
    return job


SUCCEEDED_PATH = (JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING, JobStatus.SUCCEEDED)


@pytest.fixture
def media(member_client, png_file, wav_file) -> dict[str, dict]:
    return {"image": upload(member_client, png_file), "audio": upload(member_client, wav_file)}


def all_pages(client: APIClient, url: str) -> list[list[dict]]:
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(body["results"])
        url = body["next"]
        if url:
            parts = urlsplit(url)
            url = f"{parts.path}?{parts.query}"
        assert len(pages) < 50, "pagination does not end"
    return pages


# --- assets --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("maker", "kind", "content_type", "width", "height", "duration"),
    [
        (lambda d: make_png(d / "a.png", width=321, height=123), "image", "image/png", 321, 123, None),
        (lambda d: make_jpeg(d / "a.jpg", width=200, height=150), "image", "image/jpeg", 200, 150, None),
        (lambda d: make_wav(d / "a.wav", seconds=1.25), "audio", "audio/wav", None, None, 1.25),
        (lambda d: make_mp4(d / "a.mp4", seconds=2.0, width=160, height=96), "video", "video/mp4", 160, 96, 2.0),
    ],
    ids=["png", "jpeg", "wav", "mp4"],
)
def test_asset_upload(member_client, tmp_path, maker, kind, content_type, width, height, duration):
    path = maker(tmp_path)
    with open(path, "rb") as fh:
        response = member_client.post("/api/v1/assets", {"file": fh}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == kind
    assert body["content_type"] == content_type
    assert body["size_bytes"] == path.stat().st_size
    assert (body["width"], body["height"]) == (width, height)
    if duration is None:
        assert body["duration_s"] is None
    else:
        assert body["duration_s"] == pytest.approx(duration, abs=0.05)
    assert body["original_name"] == path.name
    asset = Asset.objects.get(pk=body["id"])
    assert asset.file.read() == path.read_bytes()  # the stored bytes are the uploaded ones
    assert member_client.get(f"/api/v1/assets/{body['id']}").json() == body


def test_asset_list_is_newest_first_and_paginated_by_cursor(member_client, tmp_path):
    ids = [upload(member_client, make_png(tmp_path / f"{i}.png", width=20 + i, height=20))["id"] for i in range(5)]
    whole = member_client.get("/api/v1/assets").json()
    assert [a["id"] for a in whole["results"]] == ids[::-1]
    assert whole["next"] is None

    pages = all_pages(member_client, "/api/v1/assets?limit=2")
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [a["id"] for page in pages for a in page] == ids[::-1]


def test_asset_list_kind_filter(member_client, png_file, wav_file):
    image = upload(member_client, png_file)
    audio = upload(member_client, wav_file)
    assert [a["id"] for a in member_client.get("/api/v1/assets?kind=audio").json()["results"]] == [audio["id"]]
    assert [a["id"] for a in member_client.get("/api/v1/assets?kind=image").json()["results"]] == [image["id"]]
    error = assert_error(member_client.get("/api/v1/assets?kind=spreadsheet"), 400)
    assert "kind" in error["fields"]


def test_asset_delete_then_404_and_the_file_goes(member_client, png_file, django_capture_on_commit_callbacks):
    asset = upload(member_client, png_file)
    stored = Path(Asset.objects.get(pk=asset["id"]).file.path)
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.delete(f"/api/v1/assets/{asset['id']}")
    assert response.status_code == 204
    assert not Asset.objects.filter(pk=asset["id"]).exists()
    assert not stored.exists()
    assert_error(member_client.get(f"/api/v1/assets/{asset['id']}"), 404, "not_found")
    assert_error(member_client.delete(f"/api/v1/assets/{asset['id']}"), 404, "not_found")


def test_asset_used_by_an_unfinished_job_cannot_be_deleted(member_client, media):
    job = create_job(member_client, media["image"]["id"], media["audio"]["id"])
    for asset in media.values():
        assert_error(member_client.delete(f"/api/v1/assets/{asset['id']}"), 409, "asset_in_use")
        assert Asset.objects.filter(pk=asset["id"]).exists()
    # Still in use while the job runs; free once it is final.
    move_to(job["id"], JobStatus.SUBMITTING, JobStatus.RUNNING)
    assert_error(member_client.delete(f"/api/v1/assets/{media['image']['id']}"), 409, "asset_in_use")
    assert member_client.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    assert member_client.delete(f"/api/v1/assets/{media['image']['id']}").status_code == 204


def test_asset_post_without_multipart_is_refused(member_client):
    response = member_client.post("/api/v1/assets", "x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    # JSON is for {"url": ...}: a file sent in JSON is named as the mistake it is
    response = member_client.post("/api/v1/assets", {"file": "x"}, format="json")
    assert_error(response, 400, "invalid")
    assert "multipart field 'file'" in response.json()["error"]["fields"]["file"][0]
    assert Asset.objects.count() == 0


# --- models --------------------------------------------------------------------------------------
def test_models_list(member_client):
    response = member_client.get("/api/v1/models")
    assert response.status_code == 200
    models = {m["id"]: m for m in response.json()["results"]}
    assert set(models) == {"local/still"} | PROVIDER_MODELS
    assert set(models) == {e.id for e in catalogue_list()}
    for model_id, model in models.items():
        entry = catalogue_get(model_id=model_id)
        assert model["provider"] == entry.provider
        assert model["input_schema"] == entry.input_schema
        assert isinstance(model["limits"], dict) and "max_duration_s" in model["limits"]
        assert model["pricing"]["per_second"] == str(entry.pricing.per_second)
        assert model["pricing"]["currency"] == "usd"
    assert models["wavespeed-ai/wan-2.2/speech-to-video"]["limits"]["max_duration_s"] == 120
    assert models["fal-ai/ai-avatar"]["pricing"]["frames_threshold"] == 81
    assert models["local/still"]["emulated"] is False


def test_model_detail_and_unknown_model(member_client):
    body = member_client.get("/api/v1/models/fal-ai/ai-avatar/multi-text").json()
    assert body["id"] == "fal-ai/ai-avatar/multi-text"
    assert body["input_schema"]["required"] == ["image_url", "first_text_input", "second_text_input", "prompt"]
    assert_error(member_client.get("/api/v1/models/nobody/nothing"), 404, "not_found")


# --- jobs ----------------------------------------------------------------------------------------
def test_job_create_shape(member_client, media, tenant):
    before = Job.objects.count()
    body = create_job(member_client, media["image"]["id"], media["audio"]["id"])
    assert JOB_KEYS <= set(body)
    assert body["model"] == "local/still"
    assert body["status"] == "queued"
    # Defaults applied: local/still's resolution defaults to 480p.
    assert body["input"] == {"image": media["image"]["id"], "audio": media["audio"]["id"], "resolution": "480p"}
    # wav_file is 2.0 s: 2 started seconds x $0.01.
    assert body["quote"]["amount"] == "0.02"
    assert body["quote"]["currency"] == "usd"
    assert body["quote"]["seconds"] == pytest.approx(2.0)
    assert body["output"] is None and body["error"] is None
    assert body["started_at"] is None and body["completed_at"] is None
    assert body["created_at"]
    assert isinstance(body["events"], list) and len(body["events"]) >= 1
    assert body["livemode"] is True
    job = Job.objects.get(pk=body["id"])
    assert Job.objects.count() == before + 1
    assert job.tenant_id == tenant.id
    assert {str(a.pk) for a in job.assets.all()} == {media["image"]["id"], media["audio"]["id"]}
    assert JobEvent.objects.filter(job=job).count() == len(body["events"])
    assert member_client.get(f"/api/v1/jobs/{body['id']}").json() == body


def test_job_create_enqueues_submission_on_commit(member_client, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        create_job(member_client, media["image"]["id"], media["audio"]["id"])
    assert len(callbacks) == 1


def test_job_quote_follows_the_resolution(member_client, media):
    body = create_job(member_client, media["image"]["id"], media["audio"]["id"], resolution="720p")
    assert body["input"]["resolution"] == "720p"
    assert body["quote"]["amount"] == "0.02"  # local/still has no resolution multiplier


def test_job_list_newest_first_paginated_and_filtered(member_client, media):
    ids = [create_job(member_client, media["image"]["id"], media["audio"]["id"])["id"] for _ in range(4)]
    listed = member_client.get("/api/v1/jobs").json()
    assert [j["id"] for j in listed["results"]] == ids[::-1]
    pages = all_pages(member_client, "/api/v1/jobs?limit=3")
    assert [len(p) for p in pages] == [3, 1]
    assert [j["id"] for page in pages for j in page] == ids[::-1]

    member_client.post(f"/api/v1/jobs/{ids[1]}/cancel")
    canceled = member_client.get("/api/v1/jobs?status=canceled").json()["results"]
    assert [j["id"] for j in canceled] == [ids[1]]
    queued = member_client.get("/api/v1/jobs?status=queued").json()["results"]
    assert [j["id"] for j in queued] == [ids[3], ids[2], ids[0]]
    assert member_client.get("/api/v1/jobs?status=succeeded").json()["results"] == []

    assert len(member_client.get("/api/v1/jobs?model=local/still").json()["results"]) == 4
    assert member_client.get("/api/v1/jobs?model=fal-ai/ai-avatar").json()["results"] == []


def test_job_list_bad_status_filter_is_400_naming_status(member_client):
    error = assert_error(member_client.get("/api/v1/jobs?status=nope"), 400, "invalid")
    assert list(error["fields"]) == ["status"]
    assert "nope" in error["fields"]["status"][0]


def test_job_get_unknown_is_404(member_client):
    assert_error(member_client.get("/api/v1/jobs/00000000-0000-4000-8000-000000000000"), 404, "not_found")
    assert_error(member_client.post("/api/v1/jobs/00000000-0000-4000-8000-000000000000/cancel"), 404, "not_found")


def test_cancel_queued_then_again(member_client, media):
    job = create_job(member_client, media["image"]["id"], media["audio"]["id"])
    first = member_client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["status"] == "canceled"
    assert body["completed_at"] is not None
    assert any(e["to_status"] == "canceled" and e["from_status"] == "queued" for e in body["events"])
    again = member_client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 200
    assert again.json()["status"] == "canceled"
    assert again.json()["completed_at"] == body["completed_at"]
    # Canceling twice appended one transition, not two.
    assert JobEvent.objects.filter(job_id=job["id"], to_status="canceled").count() == 1


def test_cancel_running_job(member_client, media, django_capture_on_commit_callbacks):
    job = create_job(member_client, media["image"]["id"], media["audio"]["id"])
    move_to(job["id"], JobStatus.SUBMITTING, JobStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = member_client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert len(callbacks) == 1  # the provider is asked to stop too


@pytest.mark.parametrize("final", [JobStatus.SUCCEEDED, JobStatus.FAILED])
def test_cancel_a_finished_job_is_409(member_client, media, final):
    job = create_job(member_client, media["image"]["id"], media["audio"]["id"])
    path = SUCCEEDED_PATH if final == JobStatus.SUCCEEDED else (JobStatus.SUBMITTING, JobStatus.FAILED)
    move_to(job["id"], *path)
    assert_error(member_client.post(f"/api/v1/jobs/{job['id']}/cancel"), 409, "job_not_cancelable")
    assert Job.objects.get(pk=job["id"]).status == final


def test_cancel_while_finalizing_is_409(member_client, media):
    job = create_job(member_client, media["image"]["id"], media["audio"]["id"])
    move_to(job["id"], JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING)
    assert_error(member_client.post(f"/api/v1/jobs/{job['id']}/cancel"), 409, "job_not_cancelable")
    assert Job.objects.get(pk=job["id"]).status == JobStatus.FINALIZING


def test_succeeded_job_shows_its_output(member_client, media, tmp_path):
    job = create_job(member_client, media["image"]["id"], media["audio"]["id"])
    video = make_mp4(tmp_path / "out.mp4", seconds=1.0)
    row = Job.objects.get(pk=job["id"])
    with open(video, "rb") as fh:
        row.output.save("out.mp4", File(fh), save=False)
    move_to(job["id"], *SUCCEEDED_PATH, output=row.output.name, output_duration_s=Decimal("1.000"),
            output_width=320, output_height=240)
    body = member_client.get(f"/api/v1/jobs/{job['id']}").json()
    assert body["status"] == "succeeded"
    assert body["output"]["url"].endswith(f"/api/v1/jobs/{job['id']}/output")
    assert (body["output"]["duration_s"], body["output"]["width"], body["output"]["height"]) == (1.0, 320, 240)
    response = member_client.get(f"/api/v1/jobs/{job['id']}/output")
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert b"".join(response.streaming_content) == video.read_bytes()


# --- roles ---------------------------------------------------------------------------------------
def test_viewer_reads_but_cannot_write(api_client, member_client, media, png_file):
    job = create_job(member_client, media["image"]["id"], media["audio"]["id"])
    viewer = api_client(Role.VIEWER)
    counts = (Asset.objects.count(), Job.objects.count(), JobEvent.objects.count())

    with open(png_file, "rb") as fh:
        assert_error(viewer.post("/api/v1/assets", {"file": fh}, format="multipart"), 403, "forbidden")
    assert_error(viewer.post("/api/v1/jobs", {"model": "local/still", "input": {
        "image": media["image"]["id"], "audio": media["audio"]["id"]}}, format="json"), 403, "forbidden")
    assert_error(viewer.post(f"/api/v1/jobs/{job['id']}/cancel"), 403, "forbidden")
    assert_error(viewer.delete(f"/api/v1/assets/{media['image']['id']}"), 403, "forbidden")
    assert (Asset.objects.count(), Job.objects.count(), JobEvent.objects.count()) == counts
    assert Job.objects.get(pk=job["id"]).status == JobStatus.QUEUED

    for url in ("/api/v1/assets", f"/api/v1/assets/{media['image']['id']}", "/api/v1/models",
                "/api/v1/models/local/still", "/api/v1/jobs", f"/api/v1/jobs/{job['id']}"):
        assert viewer.get(url).status_code == 200, url
    assert viewer.get("/api/v1/jobs").json()["results"][0]["id"] == job["id"]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_below_admin_cannot_touch_api_keys(api_client, role):
    client = api_client(role)
    key = ApiKey.objects.get(hashed_key__isnull=False, name=f"{role} key")
    assert_error(client.get("/api/v1/api-keys"), 403, "forbidden")
    assert_error(client.post("/api/v1/api-keys", {"name": "mine"}, format="json"), 403, "forbidden")
    assert_error(client.post(f"/api/v1/api-keys/{key.pk}/revoke"), 403, "forbidden")
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().revoked_at is None


def test_admin_creates_and_revokes_keys(api_client):
    admin = api_client(Role.ADMIN)
    response = admin.post("/api/v1/api-keys", {"name": "CI", "role": "viewer"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("prl_live_")
    assert created["prefix"] == secret[:len(created["prefix"])]
    assert created["role"] == "viewer" and created["mode"] == "live" and created["revoked_at"] is None

    # The secret is shown once: never in the list.
    listed = admin.get("/api/v1/api-keys")
    assert listed.status_code == 200
    assert secret not in listed.content.decode()
    assert all("secret" not in k for k in listed.json()["results"])
    assert created["id"] in [k["id"] for k in listed.json()["results"]]

    new = APIClient()
    new.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert new.get("/api/v1/jobs").status_code == 200
    assert_error(new.post("/api/v1/jobs", {"model": "local/still", "input": {}}, format="json"), 403)

    revoked = admin.post(f"/api/v1/api-keys/{created['id']}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert_error(new.get("/api/v1/jobs"), 401, "unauthenticated")
    # Revoking again changes nothing.
    again = admin.post(f"/api/v1/api-keys/{created['id']}/revoke")
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_admin_cannot_mint_an_owner_key(api_client):
    admin = api_client(Role.ADMIN)
    error = assert_error(admin.post("/api/v1/api-keys", {"name": "x", "role": "owner"}, format="json"), 400)
    assert "role" in error["fields"]
    assert ApiKey.objects.count() == 1


def test_admin_cannot_revoke_another_tenants_key(api_client, other_tenant):
    admin = api_client(Role.ADMIN)
    theirs = api_client(Role.MEMBER, tenant_=other_tenant)
    their_key = ApiKey.objects.get(tenant=other_tenant)
    assert_error(admin.post(f"/api/v1/api-keys/{their_key.pk}/revoke"), 404, "not_found")
    assert ApiKey.objects.get(pk=their_key.pk).revoked_at is None
    assert theirs.get("/api/v1/models").status_code == 200


# --- authentication ------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/api/v1/models", "/api/v1/jobs", "/api/v1/assets", "/api/v1/api-keys"])
def test_unauthenticated_is_401_json(db, url):
    assert_error(APIClient().get(url), 401, "unauthenticated")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer prl_live_this-key-does-not-exist-at-all-000000000",
        "Bearer prl_test_this-key-does-not-exist-at-all-000000000",
        "Bearer something-else",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
    ids=["unknown-live", "unknown-test", "no-prefix", "basic", "empty"],
)
def test_bad_credentials_are_401(member_client, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get("/api/v1/models"), 401, "unauthenticated")


def test_revoked_key_is_401(member_client, tenant):
    from accounts.actors import Actor
    from accounts.services import api_key_revoke

    assert member_client.get("/api/v1/models").status_code == 200
    key = ApiKey.objects.get(tenant=tenant)
    api_key_revoke(tenant=tenant, actor=Actor.system(tenant), key_id=key.pk)
    assert_error(member_client.get("/api/v1/models"), 401, "unauthenticated")


def test_test_mode_key_authenticates(api_client):
    client = api_client(Role.MEMBER, mode=ApiKeyMode.TEST)
    assert client.secret.startswith("prl_test_")
    assert client.get("/api/v1/models").status_code == 200


def test_test_and_live_keys_each_see_only_their_own_modes_jobs(api_client, member_client, media):
    """Stripe's rule: a test key's jobs are invisible to a live key and the other way round (404 by id);
    assets are shared, so the same uploads serve both."""
    test_client = api_client(Role.MEMBER, mode=ApiKeyMode.TEST)
    live = create_job(member_client, media["image"]["id"], media["audio"]["id"])
    test = create_job(test_client, media["image"]["id"], media["audio"]["id"])
    assert Job.objects.get(pk=live["id"]).livemode and not Job.objects.get(pk=test["id"]).livemode
    assert [j["id"] for j in member_client.get("/api/v1/jobs").json()["results"]] == [live["id"]]
    assert [j["id"] for j in test_client.get("/api/v1/jobs").json()["results"]] == [test["id"]]
    for client, other in ((member_client, test["id"]), (test_client, live["id"])):
        assert_error(client.get(f"/api/v1/jobs/{other}"), 404, "not_found")
        assert_error(client.get(f"/api/v1/jobs/{other}/output"), 404, "not_found")
        assert_error(client.post(f"/api/v1/jobs/{other}/cancel"), 404, "not_found")
    assert Job.objects.get(pk=live["id"]).status == Job.objects.get(pk=test["id"]).status == JobStatus.QUEUED
    assert test_client.get(f"/api/v1/jobs/{test['id']}").json()["id"] == test["id"]


# --- unknown endpoints ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["/api/v1/nope", "/api/v2/jobs", "/api/v1/jobs/not-a-uuid", "/api/v1/assets/123", "/api/", "/api/v1/"]
)
def test_unknown_api_endpoints_are_404_json(member_client, url):
    assert_error(member_client.get(url), 404, "not_found")
    assert_error(APIClient().post(url, {}, format="json"), 404, "not_found")


def test_wrong_method_is_405_json(member_client):
    assert_error(member_client.put("/api/v1/jobs", {}, format="json"), 405, "method_not_allowed")
