"""The server-rendered dashboard, through Django's test client: pages, the generated new-job form,
uploads, errors beside fields, roles, tenant isolation, the one-time API key secret, htmx.

No worker runs: a created job stays queued (its submission is enqueued on commit, and the test
transaction never commits)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.actors import Actor
from accounts.models import ApiKey, Membership, Role
from accounts.services import api_key_create, hash_api_key, tenant_create, user_create
from config.errors import Conflict
from jobs.models import Asset, Job, JobStatus
from jobs.services import asset_create, asset_delete, job_create
from jobs.transitions import job_transition
from providers.catalogue import catalogue_get, catalogue_list
from tests.conftest import user_of
from tests.media_fixtures import make_mp4, make_png, make_wav

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------------
def owner_actor(tenant) -> Actor:
    return Actor(tenant=tenant, role=Role.OWNER, user=user_of(tenant))


def stored_asset(tenant, path: Path) -> Asset:
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    return asset_create(tenant=tenant, actor=owner_actor(tenant), upload=upload)


def queued_job(tenant, tmp_path: Path) -> Job:
    image = stored_asset(tenant, make_png(tmp_path / f"i-{uuid.uuid4().hex[:6]}.png"))
    audio = stored_asset(tenant, make_wav(tmp_path / f"a-{uuid.uuid4().hex[:6]}.wav", seconds=1.0))
    return job_create(tenant=tenant, actor=owner_actor(tenant), model_id="local/still",
                      inputs={"image": str(image.id), "audio": str(audio.id)})


def succeeded_job(tenant, tmp_path: Path) -> Job:
    job = queued_job(tenant, tmp_path)
    video = make_mp4(tmp_path / "out.mp4", seconds=1.0)
    job.output.save(f"{job.id}.mp4", ContentFile(video.read_bytes()), save=False)
    for status in (JobStatus.SUBMITTING, JobStatus.RUNNING, JobStatus.FINALIZING):
        assert job_transition(job=job, to=status, message="test")
    assert job_transition(job=job, to=JobStatus.SUCCEEDED, message="done", output=job.output.name,
                          output_duration_s="1.000", output_width=320, output_height=240)
    return job


def text(response) -> str:
    return response.content.decode()


def error_codes(response, form: str = "form") -> dict[str, list[str]]:
    """The codes of the errors of the page's ``form``, by field (``required``, ``invalid_choice``)."""
    return {name: [e.code for e in errors] for name, errors in response.context[form].errors.as_data().items()}


def field_block(html: str, name: str) -> str:
    """The generated field's <div class="field ..."> that holds the input named ``name``."""
    blocks = re.split(r'(?=<div class="field )', html)
    for block in blocks:
        if f'name="{name}"' in block:
            return block
    raise AssertionError(f"no field {name!r} in the page")


@pytest.fixture
def owner(dashboard_login, tenant):
    return dashboard_login(tenant)


@pytest.fixture
def outsider(dashboard_login, other_tenant):
    return dashboard_login(other_tenant)


# --- pages and sign-in ---------------------------------------------------------------------------
PAGES = ["/overview/", "/jobs/", "/jobs/new/", "/jobs/new/?model=local/still", "/assets/", "/settings/api-keys/"]


@pytest.mark.parametrize("url", [*PAGES, "/jobs/6f1d2c3e-0000-4000-8000-000000000001/"])
def test_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_home_redirects_to_the_overview(owner):
    response = owner.get("/")
    assert response.status_code == 302 and response["Location"] == "/overview/"


@pytest.mark.parametrize("role", [Role.OWNER, Role.MEMBER, Role.VIEWER])
@pytest.mark.parametrize("url", PAGES)
def test_pages_render_for_every_role(dashboard_login, tenant, url, role):
    client = dashboard_login(tenant, role)
    response = client.get(url)
    assert response.status_code == 200, text(response)
    html = text(response)
    assert "Acme" in html and client.user.email in html  # the header: team and user
    assert '/accounts/logout/' in html and 'method="post"' in html  # sign out is a POST form
    assert "/static/vendor/htmx.min.js" in html and "/static/css/parley.css" in html
    assert "://cdn" not in html and "unpkg" not in html


def test_job_detail_renders_for_member(dashboard_login, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    client = dashboard_login(tenant, Role.MEMBER)
    response = client.get(f"/jobs/{job.id}/")
    assert response.status_code == 200
    html = text(response)
    assert "status-queued" in html and "Queued" in html
    assert str(job.quote_amount) in html
    assert "Cancel job" in html and f"/jobs/{job.id}/cancel" in html
    assert 'hx-trigger="every 2s"' in html
    # the input's asset ids are shown as the assets, with a link to the file
    image = job.assets.get(kind="image")
    assert f"/assets/{image.id}/file" in html and image.original_name in html
    assert "Created by" in html  # the timeline


def test_user_without_a_team_sees_a_clear_message(client, db):
    user = user_create(email="loner@example.com", password="pw-Secret-123")
    client.force_login(user)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 403
        assert "not in a team" in text(response)


def test_allauth_pages_use_the_dashboard_layout(client, db):
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = text(response)
        assert "/static/css/parley.css" in html and 'class="card auth-card"' in html, url
    assert 'name="team_name"' in text(client.get("/accounts/signup/"))


# --- the generated new-job form ------------------------------------------------------------------
def test_model_picker_lists_every_model_grouped_with_emulated_providers(owner, settings):
    settings.WAVESPEED_API_KEY = ""
    settings.FAL_KEY = "a-real-key"
    html = text(owner.get("/jobs/new/"))
    for entry in catalogue_list():
        assert f'href="?model={entry.id}"' in html, entry.id
    for label in ("Local renderer", "WaveSpeed", "fal", "Alibaba DashScope"):
        assert label in html
    wavespeed = html.split("WaveSpeed", 1)[1].split("</h3>", 1)[0]
    fal = html.split("<h3>fal", 1)[1].split("</h3>", 1)[0]
    local = html.split("Local renderer", 1)[1].split("</h3>", 1)[0]
    assert "emulated" in wavespeed and "emulated" not in fal and "emulated" not in local


def test_local_still_form_has_image_audio_and_resolution(owner, tenant, tmp_path):
    image = stored_asset(tenant, make_png(tmp_path / "known-face.png"))
    html = text(owner.get("/jobs/new/?model=local/still"))
    image_block = field_block(html, "image")
    assert 'name="image__file"' in image_block and 'accept="image/*"' in image_block
    assert "known-face.png" in image_block and str(image.id) in image_block  # existing assets offered
    audio_block = field_block(html, "audio")
    assert 'name="audio__file"' in audio_block and 'accept="audio/*"' in audio_block
    assert "known-face.png" not in audio_block  # only audio assets for the audio field
    resolution = field_block(html, "resolution")
    assert '<option value="480p" selected>' in resolution and '<option value="720p">' in resolution
    assert "How tall the video is: 480p or 720p." in resolution  # help text from the description
    assert 'enctype="multipart/form-data"' in html


@pytest.mark.parametrize("entry", catalogue_list(), ids=lambda e: e.id)
def test_every_catalogue_model_gets_a_form(owner, entry):
    response = owner.get("/jobs/new/", {"model": entry.id})
    assert response.status_code == 200
    html = text(response)
    for key, prop in entry.properties.items():
        if prop.get("type") == "array":
            assert f'name="{key}__0__' in html, key
        else:
            assert f'name="{key}"' in html, key


def test_form_widgets_follow_the_schema(owner):
    html = text(owner.get("/jobs/new/", {"model": "fal-ai/ai-avatar/multi"}))
    frames = field_block(html, "num_frames")
    assert 'type="number"' in frames and 'min="41"' in frames and 'max="241"' in frames and 'value="181"' in frames
    assert "<textarea" in field_block(html, "prompt")  # maxLength 2000 > 200
    assert 'type="checkbox"' in field_block(html, "use_only_first_audio")
    accel = field_block(html, "acceleration")
    assert '<option value="regular" selected>' in accel
    html = text(owner.get("/jobs/new/", {"model": "fal-ai/ai-avatar/single-text"}))
    voice = field_block(html, "voice")
    assert "— choose —" in voice and '<option value="Aria">' in voice  # required enum without default


def test_dashscope_media_rows(owner):
    html = text(owner.get("/jobs/new/", {"model": "dashscope/wan2.7-r2v"}))
    max_media = catalogue_get(model_id="dashscope/wan2.7-r2v").input_schema["properties"]["media"]["maxItems"]
    assert max_media == 5  # the form offers as many rows as the API accepts
    for row in range(max_media):
        assert f'name="media__{row}__type"' in html
        assert f'name="media__{row}__url"' in html and f'name="media__{row}__url__file"' in html
        assert f'name="media__{row}__reference_voice__file"' in html
    assert f'name="media__{max_media}__type"' not in html
    url_block = field_block(html, "media__0__url__file")
    assert 'accept="image/*,video/*"' in url_block
    assert 'accept="audio/*"' in field_block(html, "media__0__reference_voice__file")
    assert 'type="checkbox"' in field_block(html, "prompt_extend") and "checked" in field_block(html, "prompt_extend")
    duration = field_block(html, "duration")
    assert 'min="2"' in duration and 'max="15"' in duration


# --- submitting it -------------------------------------------------------------------------------
def post_new(client, model: str, data: dict, files: dict[str, Path] | None = None):
    payload = dict(data)
    handles = []
    for name, path in (files or {}).items():
        fh = open(path, "rb")  # noqa: SIM115 - closed below
        handles.append(fh)
        payload[name] = fh
    try:
        return client.post(f"/jobs/new/?model={model}", payload)
    finally:
        for fh in handles:
            fh.close()


def test_submit_local_still_with_uploads_creates_a_queued_job(
    owner, tenant, tmp_path, django_capture_on_commit_callbacks
):
    png = make_png(tmp_path / "face.png")
    wav = make_wav(tmp_path / "speech.wav", seconds=2.0)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_new(owner, "local/still", {"model": "local/still", "resolution": "720p"},
                            {"image__file": png, "audio__file": wav})
    assert response.status_code == 302, text(response)
    job = Job.objects.get(tenant=tenant)
    assert response["Location"] == f"/jobs/{job.id}/"
    assert job.status == JobStatus.QUEUED and job.model_id == "local/still"
    image, audio = Asset.objects.get(tenant=tenant, kind="image"), Asset.objects.get(tenant=tenant, kind="audio")
    assert job.input == {"image": str(image.id), "audio": str(audio.id), "resolution": "720p"}
    assert image.original_name == "face.png" and job.created_by == owner.user
    assert len(callbacks) == 1  # the submission task, enqueued on commit; no worker runs here
    page = owner.get(response["Location"])
    assert "Queued" in text(page) and "Job created and queued" in text(page)


def test_submit_with_existing_assets_and_defaults(owner, tenant, tmp_path):
    image = stored_asset(tenant, make_png(tmp_path / "face.png"))
    audio = stored_asset(tenant, make_wav(tmp_path / "speech.wav", seconds=1.0))
    response = post_new(owner, "local/still", {"image": str(image.id), "audio": str(audio.id), "resolution": "480p"})
    assert response.status_code == 302, text(response)
    expected = {"image": str(image.id), "audio": str(audio.id), "resolution": "480p"}
    assert Job.objects.get(tenant=tenant).input == expected


def test_a_bad_upload_is_shown_beside_its_field_and_creates_nothing(owner, tenant, tmp_path):
    bogus = tmp_path / "face.png"
    bogus.write_text("this is not an image at all\n" * 10)
    wav = make_wav(tmp_path / "speech.wav", seconds=1.0)
    response = post_new(owner, "local/still", {"resolution": "480p"}, {"image__file": bogus, "audio__file": wav})
    assert response.status_code == 400
    block = field_block(text(response), "image")
    assert 'class="field-errors"' in block
    assert "Please correct the errors below." in text(response)
    assert 'class="field-errors"' not in field_block(text(response), "audio")
    assert not Asset.objects.filter(tenant=tenant).exists()  # the good WAV was not kept either
    assert not Job.objects.filter(tenant=tenant).exists()


def test_missing_required_assets_are_reported_per_field(owner, tenant):
    response = post_new(owner, "local/still", {"resolution": "480p"})
    assert response.status_code == 400
    html = text(response)
    assert set(error_codes(response)) == {"image", "audio"}
    for name in ("image", "audio"):
        assert 'class="field-errors"' in field_block(html, name)
    assert not Job.objects.exists()


def test_job_refused_after_uploads_keeps_the_assets_and_says_so(owner, tenant, tmp_path):
    png = make_png(tmp_path / "face.png")
    too_short = make_wav(tmp_path / "blip.wav", seconds=0.05)  # local/still needs at least 0.1 s
    response = post_new(owner, "local/still", {"resolution": "480p"}, {"image__file": png, "audio__file": too_short})
    assert response.status_code == 400, text(response)
    html = text(response)
    assert set(error_codes(response)) == {"audio"}  # input.audio, put back beside the field
    assert "at least 0.1" in field_block(html, "audio")  # the message names the limit
    assert "saved as assets" in html and "the job was not created" in html.lower()
    assert not Job.objects.exists()
    assets = {a.kind: a for a in Asset.objects.filter(tenant=tenant)}
    assert set(assets) == {"image", "audio"}
    # the new assets are selected in the re-shown form, so a second submit needs no upload
    assert f'<option value="{assets["image"].id}" selected>' in field_block(html, "image")


def test_dashscope_media_row_infers_its_kind_and_maps_errors(owner, tenant, tmp_path):
    png = make_png(tmp_path / "person.png", width=400, height=400)
    # Image 2 is named but only one reference image is given: a prompt error, beside the prompt.
    response = post_new(owner, "dashscope/wan2.7-r2v", {
        "prompt": "Image 1 and Image 2 talk.", "resolution": "720P", "ratio": "16:9", "duration": "5",
        "prompt_extend": "on",
    }, {"media__0__url__file": png})
    assert response.status_code == 400, text(response)
    assert set(error_codes(response)) == {"prompt"}  # input.prompt, put back beside the field
    assert "Image 2" in field_block(text(response), "prompt")  # the message names the missing reference
    image = Asset.objects.get(tenant=tenant, kind="image")
    # the same, with the kept asset chosen, now valid: the row's kind comes from the asset
    response = owner.post("/jobs/new/?model=dashscope/wan2.7-r2v", {
        "prompt": "Image 1 waves.", "resolution": "720P", "ratio": "16:9", "duration": "5",
        "media__0__url": str(image.id),
    })
    assert response.status_code == 302, text(response)
    job = Job.objects.get(tenant=tenant)
    assert job.input["media"] == [{"type": "reference_image", "url": str(image.id)}]
    assert job.input["prompt_extend"] is False and job.input["watermark"] is False  # unticked booleans


def test_dashscope_needs_one_media_row(owner):
    response = owner.post("/jobs/new/?model=dashscope/wan2.7-r2v", {
        "prompt": "Someone talks.", "resolution": "720P", "ratio": "16:9", "duration": "5",
    })
    assert response.status_code == 400
    assert "Fill in at least 1 row." in text(response) and "Please correct the errors below." in text(response)


def test_a_row_with_a_voice_but_no_media_is_an_error_in_that_row(owner, tenant, tmp_path):
    voice = stored_asset(tenant, make_wav(tmp_path / "voice.wav", seconds=2.0))
    response = owner.post("/jobs/new/?model=dashscope/wan2.7-r2v", {
        "prompt": "Someone talks.", "resolution": "720P", "ratio": "16:9", "duration": "5",
        "media__1__reference_voice": str(voice.id),
    })
    assert response.status_code == 400
    assert set(error_codes(response)) == {"media__1__type", "media__1__url"}  # in that row, not the voice
    assert 'class="field-errors"' in field_block(text(response), "media__1__url")


def test_viewer_cannot_create_a_job(dashboard_login, tenant, tmp_path):
    viewer = dashboard_login(tenant, Role.VIEWER)
    assert "only members can create jobs" in text(viewer.get("/jobs/new/?model=local/still"))
    png, wav = make_png(tmp_path / "f.png"), make_wav(tmp_path / "s.wav")
    response = post_new(viewer, "local/still", {"resolution": "480p"}, {"image__file": png, "audio__file": wav})
    assert response.status_code == 403
    assert "member role" in text(response)
    assert not Asset.objects.exists() and not Job.objects.exists()


def test_unknown_model_is_a_message(owner):
    response = owner.get("/jobs/new/?model=nope/nothing")
    assert response.status_code == 200 and "There is no model" in text(response)


# --- jobs list, detail, output, cancel -----------------------------------------------------------
def test_job_list_newest_first_filters_and_pages(owner, tenant, tmp_path):
    first = queued_job(tenant, tmp_path)
    second = queued_job(tenant, tmp_path)
    job_transition(job=second, to=JobStatus.CANCELED, message="test")
    html = text(owner.get("/jobs/"))
    assert html.index(str(second.id)[:8]) < html.index(str(first.id)[:8])
    assert "status-canceled" in html and "status-queued" in html
    only_queued = text(owner.get("/jobs/", {"status": "queued"}))
    assert str(first.id)[:8] in only_queued and str(second.id)[:8] not in only_queued
    assert "No jobs match" in text(owner.get("/jobs/", {"model": "fal-ai/ai-avatar"}))


def test_job_list_paginates_by_25(owner, tenant, tmp_path):
    image = stored_asset(tenant, make_png(tmp_path / "f.png"))
    audio = stored_asset(tenant, make_wav(tmp_path / "s.wav", seconds=0.5))
    for _ in range(26):
        job_create(tenant=tenant, actor=owner_actor(tenant), model_id="local/still",
                   inputs={"image": str(image.id), "audio": str(audio.id)})
    page1 = text(owner.get("/jobs/"))
    assert page1.count('class="badge status-queued"') == 25 and "?older=" in page1 and 'href="?newer=' not in page1
    older = re.search(r'href="\?older=([^"&]+)"', page1).group(1)
    page2 = text(owner.get("/jobs/", {"older": older}))
    assert page2.count('class="badge status-queued"') == 1 and 'href="?older=' not in page2
    newer = re.search(r'href="\?newer=([^"&]+)"', page2).group(1)
    back = text(owner.get("/jobs/", {"newer": newer}))
    assert back.count('class="badge status-queued"') == 25 and 'href="?newer=' not in back


def test_htmx_request_gets_the_live_partial_which_stops_polling_when_final(owner, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    partial = owner.get(f"/jobs/{job.id}/", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    html = text(partial)
    assert html.lstrip().startswith('<section id="job-live"')
    assert "<html" not in html and 'hx-trigger="every 2s"' in html and f'hx-get="/jobs/{job.id}/"' in html
    job_transition(job=job, to=JobStatus.CANCELED, message="test")
    html = text(owner.get(f"/jobs/{job.id}/", HTTP_HX_REQUEST="true"))
    assert "hx-trigger" not in html and "status-canceled" in html and "Cancel job" not in html


def test_succeeded_job_shows_the_player_and_streams_its_output(owner, tenant, tmp_path):
    job = succeeded_job(tenant, tmp_path)
    html = text(owner.get(f"/jobs/{job.id}/"))
    assert f'<video controls preload="metadata" src="/jobs/{job.id}/output"' in html
    assert f"/jobs/{job.id}/output?download=1" in html
    assert "hx-trigger" not in html and "Cancel job" not in html
    response = owner.get(f"/jobs/{job.id}/output")
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert b"".join(response.streaming_content)[4:8] == b"ftyp"
    download = owner.get(f"/jobs/{job.id}/output", {"download": "1"})
    assert download["Content-Disposition"].startswith("attachment")


def test_output_of_an_unfinished_job_is_404(owner, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    assert owner.get(f"/jobs/{job.id}/output").status_code == 404


def test_cancel(owner, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    response = owner.post(f"/jobs/{job.id}/cancel", follow=True)
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELED
    assert "will not be charged" in text(response)
    again = owner.post(f"/jobs/{job.id}/cancel", follow=True)  # already final: a message, not an error
    assert "already canceled" in text(again)
    assert owner.get(f"/jobs/{job.id}/cancel").status_code == 405


def test_viewer_cannot_cancel(dashboard_login, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    viewer = dashboard_login(tenant, Role.VIEWER)
    response = viewer.post(f"/jobs/{job.id}/cancel")
    assert response.status_code == 403 and "member role" in text(response)
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


# --- tenant isolation ----------------------------------------------------------------------------
def test_another_tenants_objects_are_404_and_not_listed(owner, outsider, tenant, tmp_path):
    job = succeeded_job(tenant, tmp_path)
    asset = job.assets.first()
    assert owner.get(f"/jobs/{job.id}/").status_code == 200
    assert owner.get(f"/jobs/{job.id}/output").status_code == 200
    for url in (f"/jobs/{job.id}/", f"/jobs/{job.id}/output", f"/assets/{asset.id}/file"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.get(f"/jobs/{job.id}/", HTTP_HX_REQUEST="true").status_code == 404
    assert outsider.post(f"/jobs/{job.id}/cancel").status_code == 404
    assert outsider.post(f"/assets/{asset.id}/delete").status_code == 404
    assert Asset.objects.filter(pk=asset.pk).exists()
    assert str(job.id)[:8] not in text(outsider.get("/jobs/"))
    assert str(asset.id) not in text(outsider.get("/assets/"))
    assert str(asset.id) not in text(outsider.get("/jobs/new/?model=local/still"))  # not offered in selects


def test_a_job_cannot_use_another_tenants_asset(owner, outsider, tenant, tmp_path):
    image = stored_asset(tenant, make_png(tmp_path / "f.png"))
    audio = stored_asset(tenant, make_wav(tmp_path / "s.wav"))
    response = outsider.post("/jobs/new/?model=local/still", {"image": str(image.id), "audio": str(audio.id)})
    assert response.status_code == 400
    assert error_codes(response)["image"] == ["invalid_choice"]  # another team's asset is not offered
    assert 'class="field-errors"' in field_block(text(response), "image")
    assert not Job.objects.exists()


# --- assets --------------------------------------------------------------------------------------
def test_asset_upload_list_and_delete(owner, tenant, tmp_path):
    png = make_png(tmp_path / "portrait.png", width=64, height=48)
    with open(png, "rb") as fh:
        response = owner.post("/assets/", {"file": fh}, follow=True)
    assert response.status_code == 200
    html = text(response)
    asset = Asset.objects.get(tenant=tenant)
    assert "portrait.png" in html and "64×48" in html and "Uploaded portrait.png" in html
    assert f"/assets/{asset.id}/file" in html
    file_response = owner.get(f"/assets/{asset.id}/file")
    assert file_response.status_code == 200 and file_response["Content-Type"] == "image/png"
    response = owner.post(f"/assets/{asset.id}/delete", follow=True)
    assert "The asset was deleted." in text(response)
    assert not Asset.objects.filter(pk=asset.pk).exists()


def test_asset_bad_upload_shows_the_error(owner, tenant, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n" * 50)
    with open(junk, "rb") as fh:
        response = owner.post("/assets/", {"file": fh})
    assert response.status_code == 400
    assert 'class="field-errors"' in text(response)
    assert not Asset.objects.exists()


def test_deleting_an_asset_in_use_shows_the_conflict(owner, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    asset = job.assets.first()
    response = owner.post(f"/assets/{asset.id}/delete", follow=True)
    assert response.status_code == 200
    assert Asset.objects.filter(pk=asset.pk).exists()
    with pytest.raises(Conflict) as refusal:  # what the page showed: the service's refusal
        asset_delete(tenant=tenant, actor=owner_actor(tenant), asset_id=str(asset.id))
    assert refusal.value.code == "asset_in_use"
    assert [str(m) for m in response.context["messages"]] == [refusal.value.message]


def test_viewer_sees_assets_read_only(dashboard_login, tenant, tmp_path):
    asset = stored_asset(tenant, make_png(tmp_path / "f.png"))
    viewer = dashboard_login(tenant, Role.VIEWER)
    html = text(viewer.get("/assets/"))
    assert "f.png" in html and "only members can upload" in html and "Delete</button>" not in html
    assert viewer.post(f"/assets/{asset.id}/delete").status_code == 403
    assert Asset.objects.filter(pk=asset.pk).exists()


# --- API keys ------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_api_key_secret_is_shown_once(dashboard_login, tenant, role):
    client = dashboard_login(tenant, role)
    page = client.post("/settings/api-keys/", {"name": "CI", "mode": "test", "role": "member"})
    assert page.status_code == 200
    key = ApiKey.objects.get(tenant=tenant, name="CI")
    assert key.mode == "test" and key.role == "member" and key.created_by == client.user
    assert all("prl_test_" not in str(v) for v in client.session.values())  # never stored, not even there
    secret = re.search(r'value="(prl_test_[^"]+)"', text(page)).group(1)
    assert hash_api_key(secret) == key.hashed_key
    assert "shown only this once" in text(page) and "no-store" in page["Cache-Control"]
    again = text(client.get("/settings/api-keys/"))
    assert secret not in again and "shown only this once" not in again
    assert f"{key.prefix}…" in again  # the list shows the prefix, never the secret


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_cannot_create_or_revoke_keys(dashboard_login, tenant, role):
    key, _ = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="Existing")
    client = dashboard_login(tenant, role)
    html = text(client.get("/settings/api-keys/"))
    assert "Existing" in html and "Only admins and owners" in html
    assert "Create key</button>" not in html and "Revoke</button>" not in html
    response = client.post("/settings/api-keys/", {"name": "Sneaky", "mode": "live", "role": "member"})
    assert response.status_code == 403
    assert not ApiKey.objects.filter(name="Sneaky").exists()
    assert client.post(f"/settings/api-keys/{key.id}/revoke").status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


def test_admin_cannot_mint_an_owner_key_and_bad_input_is_shown(dashboard_login, tenant):
    admin = dashboard_login(tenant, Role.ADMIN)
    response = admin.post("/settings/api-keys/", {"name": "", "mode": "live", "role": "owner"})
    assert response.status_code == 400
    codes = error_codes(response)
    assert codes["name"] == ["required"] and codes["role"] == ["invalid_choice"]  # admins cannot mint owners
    html = text(response)
    assert 'class="field-errors"' in html
    assert not ApiKey.objects.exists()


def test_revoke_and_tenant_isolation_of_keys(owner, outsider, tenant):
    key, _ = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="Old")
    assert "Old" not in text(outsider.get("/settings/api-keys/"))
    assert outsider.post(f"/settings/api-keys/{key.id}/revoke").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    response = owner.post(f"/settings/api-keys/{key.id}/revoke", follow=True)
    assert "Revoked the key" in text(response)
    key.refresh_from_db()
    assert key.revoked_at is not None


# --- the team switcher ---------------------------------------------------------------------------
def test_tenant_switcher(owner, tenant, other_tenant, tmp_path):
    Membership.objects.create(tenant=other_tenant, user=owner.user, role=Role.VIEWER)
    third = tenant_create(name="Initech", owner=user_create(email="boss@initech.example", password="pw-Secret-123"))
    job = queued_job(tenant, tmp_path)
    html = text(owner.get("/jobs/"))
    assert 'action="/settings/tenant/"' in html and "Globex (viewer)" in html and "Acme (owner)" in html
    response = owner.post("/settings/tenant/", {"tenant_id": str(other_tenant.id)}, follow=True)
    assert owner.session["active_tenant_id"] == str(other_tenant.id)
    assert "You are now working in Globex" in text(response)
    assert str(job.id)[:8] not in text(response)
    assert owner.get(f"/jobs/{job.id}/").status_code == 404  # Acme's job, seen from Globex
    # a team the user is not in: refused, the session unchanged
    assert owner.post("/settings/tenant/", {"tenant_id": str(third.id)}).status_code == 404
    assert owner.post("/settings/tenant/", {"tenant_id": "not-a-uuid"}).status_code == 404
    assert owner.session["active_tenant_id"] == str(other_tenant.id)
    assert owner.get("/settings/tenant/").status_code == 405


def test_single_team_has_no_switcher(owner):
    html = text(owner.get("/jobs/"))
    assert 'action="/settings/tenant/"' not in html and "Acme" in html


# --- the form generator on its own ---------------------------------------------------------------
def test_form_casts_values_and_leaves_out_empty_optional_fields(tenant, tmp_path):
    from jobs.forms import JobInputForm
    from providers.catalogue import catalogue_get

    image = stored_asset(tenant, make_png(tmp_path / "f.png"))
    first = stored_asset(tenant, make_wav(tmp_path / "a.wav"))
    second = stored_asset(tenant, make_wav(tmp_path / "b.wav"))
    entry = catalogue_get(model_id="fal-ai/ai-avatar/multi")
    form = JobInputForm({
        "image_url": str(image.id), "first_audio_url": str(first.id), "second_audio_url": str(second.id),
        "prompt": "  Two people talk.  ", "num_frames": "100", "seed": "", "resolution": "720p",
        "acceleration": "high",
    }, entry=entry, tenant=tenant)
    assert form.is_valid(), form.errors
    assert form.build_input({}) == {
        "image_url": str(image.id), "first_audio_url": str(first.id), "second_audio_url": str(second.id),
        "prompt": "Two people talk.", "num_frames": 100, "resolution": "720p", "acceleration": "high",
    }  # seed left out (its default applies), the unticked boolean without a default left out

    bad = JobInputForm({"num_frames": "999", "prompt": ""}, entry=entry, tenant=tenant)
    assert not bad.is_valid()
    assert "less than or equal to 241" in str(bad.errors["num_frames"])
    assert "prompt" in bad.errors and "image_url" in bad.errors


def test_form_maps_error_paths_back_to_fields(tenant):
    from django.core.exceptions import ValidationError

    from jobs.forms import JobInputForm
    from providers.catalogue import catalogue_get

    entry = catalogue_get(model_id="dashscope/wan2.7-r2v")
    form = JobInputForm({"prompt": "x", "media__2__type": "reference_image", "media__2__url": ""},
                        entry=entry, tenant=tenant)
    form.is_valid()
    form.build_input({})
    assert form.field_for_path("input.prompt") == "prompt"
    assert form.field_for_path("input.media[0].url") == "media__2__url"  # the first submitted item is row 3
    assert form.field_for_path("input.media") == "media"
    assert form.field_for_path("model") is None
    form.add_path_errors(ValidationError({"input.media[0].url": ["Bad."], "model": ["Nope."],
                                          "input.media": ["Too many."], "input.nonsense": ["Odd."]}))
    assert "Bad." in form.errors["media__2__url"]
    assert "Too many." in form.group_errors["media"]
    assert "Nope." in form.non_field_errors() and "nonsense: Odd." in form.non_field_errors()


def test_job_list_refreshes_itself_only_while_a_job_runs(dashboard_login, tenant, tmp_path):
    client = dashboard_login(tenant, Role.MEMBER)
    job = queued_job(tenant, tmp_path)
    page = text(client.get("/jobs/"))
    assert 'id="job-table"' in page and 'hx-trigger="every 3s"' in page
    partial = text(client.get("/jobs/", HTTP_HX_REQUEST="true"))
    assert 'id="job-table"' in partial and "<header" not in partial and str(job.id)[:8] in partial
    assert job_transition(job=job, to=JobStatus.CANCELED, message="test")
    assert 'hx-trigger="every 3s"' not in text(client.get("/jobs/"))


def test_job_page_shows_progress_as_a_percentage(dashboard_login, tenant, tmp_path):
    client = dashboard_login(tenant, Role.MEMBER)
    job = queued_job(tenant, tmp_path)
    Job.objects.filter(pk=job.pk).update(progress=0.42, queue_position=3)
    page = text(client.get(f"/jobs/{job.id}/"))
    assert "42%" in page and "position 3 in the provider" in page
