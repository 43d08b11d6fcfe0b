"""The new-job form as a person uses it (issue 13, point 4): a file of the wrong kind gets one
clear message and leaves nothing behind; the same file uploaded twice is the same asset; a job can
be run again or copied into the form; a test-mode quote says it will not be billed."""

from __future__ import annotations

import pytest

from jobs.models import Asset, Job
from tests.dashboard.test_views import field_block, post_new, queued_job, stored_asset, text
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(dashboard_login, tenant):
    return dashboard_login(tenant)


def test_an_audio_file_given_as_the_image_gets_one_clear_message_and_leaves_no_asset(owner, tenant, tmp_path):
    wav = make_wav(tmp_path / "speech.wav", seconds=1.0)
    other = make_wav(tmp_path / "other.wav", seconds=1.5, freq=300.0)
    response = post_new(owner, "local/still", {"resolution": "480p"}, {"image__file": wav, "audio__file": other})
    assert response.status_code == 400
    block = field_block(text(response), "image")
    assert block.count("<li>") == 1 and "This file is an audio file; Image takes an image file." in block
    assert "Select a valid choice" not in text(response)
    assert not Asset.objects.filter(tenant=tenant).exists() and not Job.objects.exists()


def test_a_wrong_kind_file_the_team_already_had_is_kept(owner, tenant, tmp_path):
    wav = make_wav(tmp_path / "speech.wav", seconds=1.0)
    known = stored_asset(tenant, wav)
    response = post_new(owner, "local/still", {"resolution": "480p", "audio": str(known.id)}, {"image__file": wav})
    assert response.status_code == 400
    assert list(Asset.objects.filter(tenant=tenant)) == [known]


def test_the_same_file_twice_is_the_same_asset(owner, tenant, other_tenant, member_client, tmp_path):
    png = make_png(tmp_path / "face.png")
    first = stored_asset(tenant, png)
    assert stored_asset(tenant, png) == first
    assert stored_asset(other_tenant, png) != first  # per tenant: never another team's row
    client = member_client
    with open(png, "rb") as fh:
        response = client.post("/api/v1/assets", {"file": fh}, format="multipart")
    assert response.status_code == 200 and response.json()["id"] == str(first.id)
    with open(make_png(tmp_path / "other.png", width=300, height=200), "rb") as fh:
        assert client.post("/api/v1/assets", {"file": fh}, format="multipart").status_code == 201
    assert Asset.objects.filter(tenant=tenant).count() == 2


def test_run_again_makes_a_new_job_with_the_same_input(owner, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    page = text(owner.get(f"/jobs/{job.id}/"))
    assert f'action="/jobs/{job.id}/again"' in page and f"from={job.id}" in page
    response = owner.post(f"/jobs/{job.id}/again")
    again = Job.objects.exclude(pk=job.pk).get(tenant=tenant)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{again.id}/"
    assert (again.model_id, again.input) == (job.model_id, job.input)


def test_run_again_refused_opens_the_form_filled_in(owner, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    Asset.objects.filter(pk=job.input["audio"]).delete()  # the speech was deleted since
    response = owner.post(f"/jobs/{job.id}/again")
    assert response.status_code == 302 and response["Location"] == f"/jobs/new/?model=local%2Fstill&from={job.id}"
    page = text(owner.get(response["Location"]))
    assert "could not be run again as it was" in page and "Filled in from job" in page
    image = field_block(page, "image")
    assert f'<option value="{job.input["image"]}" selected>' in image


def test_viewers_cannot_run_again_and_see_no_button(dashboard_login, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    viewer = dashboard_login(tenant, role="viewer")
    assert "Run again" not in text(viewer.get(f"/jobs/{job.id}/"))
    assert viewer.post(f"/jobs/{job.id}/again").status_code == 403
    assert Job.objects.count() == 1


def test_another_tenants_job_cannot_be_run_again_or_copied(dashboard_login, tenant, other_tenant, tmp_path):
    theirs = queued_job(other_tenant, tmp_path)
    owner = dashboard_login(tenant)
    assert owner.post(f"/jobs/{theirs.id}/again").status_code == 404
    page = text(owner.get(f"/jobs/new/?model=local/still&from={theirs.id}"))
    assert "Filled in from job" not in page and theirs.input["image"] not in page


def test_a_test_mode_quote_says_it_will_not_be_billed(owner, tenant, tmp_path):
    from tests.dashboard.test_test_mode import to_test_mode

    image = stored_asset(tenant, make_png(tmp_path / "face.png"))
    audio = stored_asset(tenant, make_wav(tmp_path / "speech.wav", seconds=1.0))
    body = {"model": "local/still", "image": str(image.id), "audio": str(audio.id), "resolution": "480p"}
    live = text(owner.post("/jobs/new/quote?model=local/still", body))
    assert "Price: " in live and "will not be billed" not in live
    to_test_mode(owner)
    test = text(owner.post("/jobs/new/quote?model=local/still", body))
    assert "Price: " in test and "Test mode: this job will not be billed" in test
