"""An operator's suspension: the tenant's new jobs are refused at once (403 ``tenant_suspended`` in
the API, a message on the page), running jobs finish, reading still works; reinstating lifts it.
Both are audited with the operator and the reason."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.actors import Actor
from accounts.audit import AuditAction
from accounts.models import AuditEvent, Role, User
from accounts.services import user_create
from accounts.suspension import TenantSuspended, tenant_suspend, tenant_unsuspend
from jobs.models import Job, JobStatus
from jobs.services import asset_create, job_create
from tests.conftest import upload
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    return User.objects.create_superuser(email="root@parley.example", password="pw-Secret-123")


def _assets(tenant, tmp_path) -> dict[str, str]:
    system = Actor.system(tenant)
    image = asset_create(tenant=tenant, actor=system, upload=SimpleUploadedFile(
        "f.png", make_png(tmp_path / "f.png").read_bytes()))
    audio = asset_create(tenant=tenant, actor=system, upload=SimpleUploadedFile(
        "a.wav", make_wav(tmp_path / "a.wav").read_bytes()))
    return {"image": str(image.id), "audio": str(audio.id)}


def test_the_api_refuses_new_jobs_with_a_clear_403(tenant, member_client, operator, png_file, wav_file):
    image, audio = upload(member_client, png_file), upload(member_client, wav_file)
    body = {"model": "local/still", "input": {"image": image["id"], "audio": audio["id"]}}
    running = member_client.post("/api/v1/jobs", body, format="json")
    assert running.status_code == 201
    tenant_suspend(tenant=tenant, operator=operator, reason="unpaid invoices")
    response = member_client.post("/api/v1/jobs", body, format="json")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "tenant_suspended" and "unpaid invoices" in error["message"]
    assert Job.objects.filter(tenant=tenant).count() == 1  # nothing written
    job = Job.objects.get(pk=running.json()["id"])
    assert job.status == JobStatus.QUEUED  # the job already accepted is left to finish
    assert member_client.get(f"/api/v1/jobs/{job.id}").status_code == 200  # reading still works
    tenant_unsuspend(tenant=tenant, operator=operator)
    assert member_client.post("/api/v1/jobs", body, format="json").status_code == 201


def test_the_page_says_so(dashboard_login, tenant, operator, tmp_path):
    inputs = _assets(tenant, tmp_path)
    client = dashboard_login(tenant, Role.MEMBER)
    tenant_suspend(tenant=tenant, operator=operator, reason="abuse report #12")
    response = client.post("/jobs/new/?model=local/still", inputs)
    page = response.content.decode()
    assert response.status_code == 403
    assert "This team is suspended (abuse report #12)" in page and "new jobs are refused" in page
    assert not Job.objects.filter(tenant=tenant).exists()
    assert "This team is suspended" in client.get("/jobs/").content.decode()  # a banner on every page


def test_the_service_refuses_and_only_operators_suspend(tenant, operator, tmp_path):
    inputs = _assets(tenant, tmp_path)
    suspended = tenant_suspend(tenant=tenant, operator=operator, reason="r")
    with pytest.raises(TenantSuspended) as refused:
        job_create(tenant=suspended, actor=Actor.system(suspended), model_id="local/still", inputs=inputs)
    assert refused.value.status_code == 403 and refused.value.code == "tenant_suspended"
    nobody = user_create(email="x@example.com", password="pw-Secret-123")
    with pytest.raises(PermissionDenied):
        tenant_unsuspend(tenant=tenant, operator=nobody)
    with pytest.raises(ValidationError):
        tenant_suspend(tenant=tenant, operator=operator, reason="  ")
    events = list(AuditEvent.objects.filter(tenant=tenant, action=AuditAction.TENANT_SUSPENDED))
    assert len(events) == 1 and events[0].target == "reason: r"
    assert events[0].actor_label == "operator root@parley.example"
