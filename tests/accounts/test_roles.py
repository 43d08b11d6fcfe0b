"""The services are the authority on roles: each service that changes data refuses a role that lacks
the right (403 ``forbidden``) and writes nothing, called directly, through the API (even with the
API view's role table emptied) and through the dashboard."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.actors import Actor
from accounts.apis import ApiKeyListCreateApi, ApiKeyRevokeApi
from accounts.models import ApiKey, Role
from accounts.services import api_key_create, api_key_revoke
from config.errors import RoleForbidden
from jobs import apis as job_apis
from jobs.models import Asset, Job, JobStatus
from jobs.services import asset_create, asset_delete, job_cancel, job_create
from tests.conftest import user_of
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.django_db


def actor(tenant, role: str) -> Actor:
    return Actor(tenant=tenant, role=role)


def png_upload(tmp_path) -> SimpleUploadedFile:
    return SimpleUploadedFile("face.png", make_png(tmp_path / "face.png").read_bytes(), content_type="image/png")


def stored_pair(tenant, tmp_path) -> tuple[Asset, Asset]:
    system = Actor.system(tenant)
    image = asset_create(tenant=tenant, actor=system, upload=png_upload(tmp_path))
    wav = make_wav(tmp_path / "speech.wav")
    audio = asset_create(tenant=tenant, actor=system, upload=SimpleUploadedFile(
        "speech.wav", wav.read_bytes(), content_type="audio/wav"))
    return image, audio


def queued_job(tenant, tmp_path) -> Job:
    image, audio = stored_pair(tenant, tmp_path)
    return job_create(tenant=tenant, actor=Actor.system(tenant), model_id="local/still",
                      inputs={"image": str(image.id), "audio": str(audio.id)})


def without_role_table(monkeypatch, *views: type) -> None:
    """As if the API views had forgotten their role table: only the services decide."""
    for view in views:
        monkeypatch.setattr(view, "required_roles", {})


# --- the services, called directly ----------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_key_services_refuse_below_admin_and_write_nothing(tenant, role):
    key, _ = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="Existing")
    with pytest.raises(RoleForbidden) as refused:
        api_key_create(tenant=tenant, actor=actor(tenant, role), name="Sneaky")
    assert refused.value.status_code == 403 and refused.value.code == "forbidden"
    with pytest.raises(RoleForbidden):
        api_key_revoke(tenant=tenant, actor=actor(tenant, role), key_id=key.pk)
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["Existing"]
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_key_never_gets_more_rights_than_its_maker(tenant):
    with pytest.raises(RoleForbidden):
        api_key_create(tenant=tenant, actor=actor(tenant, Role.ADMIN), name="Boss", role=Role.OWNER)
    assert not ApiKey.objects.exists()
    key, _ = api_key_create(tenant=tenant, actor=actor(tenant, Role.ADMIN), name="Peer", role=Role.ADMIN)
    assert key.role == Role.ADMIN


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_admins_and_owners_manage_keys(tenant, role):
    maker = Actor(tenant=tenant, role=role, user=user_of(tenant))
    key, _ = api_key_create(tenant=tenant, actor=maker, name="CI")
    assert key.created_by == maker.user
    assert api_key_revoke(tenant=tenant, actor=maker, key_id=key.pk).revoked_at is not None


def test_job_services_refuse_a_viewer_and_write_nothing(tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    image = job.assets.get(kind="image")
    viewer = actor(tenant, Role.VIEWER)
    attempts = [
        lambda: asset_create(tenant=tenant, actor=viewer, upload=png_upload(tmp_path)),
        lambda: asset_delete(tenant=tenant, actor=viewer, asset_id=str(image.id)),
        lambda: job_create(tenant=tenant, actor=viewer, model_id="local/still",
                           inputs={"image": str(image.id), "audio": str(job.assets.get(kind="audio").id)}),
        lambda: job_cancel(tenant=tenant, actor=viewer, job_id=str(job.id)),
    ]
    for attempt in attempts:
        with pytest.raises(RoleForbidden):
            attempt()
    assert Asset.objects.count() == 2 and Job.objects.count() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


# --- through the API, the view's role table emptied -----------------------------------------------
def assert_forbidden(response) -> None:
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_api_key_routes_refuse_below_admin_by_the_service(api_client, tenant, monkeypatch, role):
    without_role_table(monkeypatch, ApiKeyListCreateApi, ApiKeyRevokeApi)
    client = api_client(role)  # the key's own role is the actor's role
    key = ApiKey.objects.get(tenant=tenant)
    response = client.post("/api/v1/api-keys", {"name": "mine", "role": "viewer"}, format="json")
    assert_forbidden(response)
    assert "admin role" in response.json()["error"]["message"]
    assert_forbidden(client.post(f"/api/v1/api-keys/{key.pk}/revoke"))
    assert list(ApiKey.objects.values_list("pk", flat=True)) == [key.pk]
    key.refresh_from_db()
    assert key.revoked_at is None


def test_api_job_routes_refuse_a_viewer_by_the_service(api_client, tenant, tmp_path, monkeypatch):
    without_role_table(monkeypatch, job_apis.AssetListCreateApi, job_apis.AssetDetailApi,
                       job_apis.JobListCreateApi, job_apis.JobCancelApi)
    job = queued_job(tenant, tmp_path)
    image, audio = job.assets.get(kind="image"), job.assets.get(kind="audio")
    viewer = api_client(Role.VIEWER)
    with open(make_png(tmp_path / "other.png"), "rb") as fh:
        assert_forbidden(viewer.post("/api/v1/assets", {"file": fh}, format="multipart"))
    assert_forbidden(viewer.delete(f"/api/v1/assets/{image.id}"))
    assert_forbidden(viewer.post("/api/v1/jobs", {"model": "local/still", "input": {
        "image": str(image.id), "audio": str(audio.id)}}, format="json"))
    assert_forbidden(viewer.post(f"/api/v1/jobs/{job.id}/cancel"))
    assert Asset.objects.count() == 2 and Job.objects.count() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


# --- through the dashboard ------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_dashboard_key_management_is_refused_by_the_service(dashboard_login, tenant, role):
    key, _ = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="Existing")
    client = dashboard_login(tenant, role)
    response = client.post("/settings/api-keys/", {"name": "Sneaky", "mode": "live", "role": "viewer"})
    assert response.status_code == 403
    assert "This needs the admin role or higher" in response.content.decode()  # the service's words
    revoke = client.post(f"/settings/api-keys/{key.id}/revoke")
    assert revoke.status_code == 403 and "This needs the admin role or higher" in revoke.content.decode()
    assert list(ApiKey.objects.values_list("name", flat=True)) == ["Existing"]
    key.refresh_from_db()
    assert key.revoked_at is None


def test_dashboard_job_writes_are_refused_to_a_viewer_by_the_service(dashboard_login, tenant, tmp_path):
    job = queued_job(tenant, tmp_path)
    image, audio = job.assets.get(kind="image"), job.assets.get(kind="audio")
    viewer = dashboard_login(tenant, Role.VIEWER)
    with open(make_png(tmp_path / "other.png"), "rb") as fh:
        upload = viewer.post("/assets/", {"file": fh})
    created = viewer.post("/jobs/new/?model=local/still", {"image": str(image.id), "audio": str(audio.id)})
    deleted = viewer.post(f"/assets/{image.id}/delete")
    canceled = viewer.post(f"/jobs/{job.id}/cancel")
    for response in (upload, created, deleted, canceled):
        assert response.status_code == 403
        assert "This needs the member role or higher" in response.content.decode()
    assert Asset.objects.count() == 2 and Job.objects.count() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


# --- through the admin site -----------------------------------------------------------------------
def test_the_admin_revokes_through_the_service_and_edits_no_rights(client, tenant):
    from accounts.models import User

    key, _ = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="Leaked")
    client.force_login(User.objects.create_superuser("ops@example.com", "pw-Secret-123"))
    page = client.get(f"/admin/accounts/apikey/{key.pk}/change/")
    assert page.status_code == 200
    assert 'name="role"' not in page.content.decode() and 'name="revoked_at' not in page.content.decode()
    response = client.post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
