"""The role matrix, through the dashboard: every action tried by every role. A role that has the
right gets it done; one that lacks it gets a 403 and nothing changes, and the page that offers
the action hides its control. Every page that takes an id answers 404 for another tenant's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.actors import Actor
from accounts.invitations import invitation_create
from accounts.models import ApiKey, AuditEvent, Invitation, Membership, Role, Tenant, role_allows
from accounts.services import api_key_create, user_create
from billing.models import Budget
from jobs.models import Asset, Job, JobStatus
from jobs.services import asset_create, job_create
from tests.conftest import user_of
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.django_db
ROLES = [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER]


@dataclass
class World:
    tenant: Tenant
    image: Asset
    audio: Asset
    job: Job
    key: ApiKey
    invitation: Invitation
    target: Membership  # a member, the object of role changes and removal


@pytest.fixture
def world(tenant, tmp_path) -> World:
    system = Actor.system(tenant)
    image = asset_create(tenant=tenant, actor=system, upload=SimpleUploadedFile(
        "f.png", make_png(tmp_path / "f.png").read_bytes()))
    audio = asset_create(tenant=tenant, actor=system, upload=SimpleUploadedFile(
        "a.wav", make_wav(tmp_path / "a.wav").read_bytes()))
    job = job_create(tenant=tenant, actor=system, model_id="local/still",
                     inputs={"image": str(image.id), "audio": str(audio.id)})
    key, _ = api_key_create(tenant=tenant, actor=system, name="k")
    invitation = invitation_create(tenant=tenant, actor=system, email="invited@example.com")
    target = Membership.objects.create(tenant=tenant, role=Role.MEMBER, user=user_create(
        email="target@example.com", password="pw-Secret-123"))
    return World(tenant, image, audio, job, key, invitation, target)


@dataclass
class Action:
    least: str  # the least role that may do it
    request: Callable[[object, World, object], object]  # (client, world, tmp_path) -> response
    done: Callable[[World], bool]  # whether it happened


def _upload(client, w, tmp_path):
    image = make_png(tmp_path / "g.png", width=64, height=48)  # content unlike the world's: a new asset
    return client.post("/assets/", {"file": SimpleUploadedFile("g.png", image.read_bytes())})


ACTIONS = {
    "upload an asset": Action(Role.MEMBER, _upload,
                              lambda w: Asset.objects.filter(tenant=w.tenant, original_name="g.png").exists()),
    "create a job": Action(Role.MEMBER, lambda c, w, _: c.post(
        "/jobs/new/?model=local/still", {"image": str(w.image.id), "audio": str(w.audio.id)}),
        lambda w: Job.objects.filter(tenant=w.tenant).count() == 2),
    "cancel a job": Action(Role.MEMBER, lambda c, w, _: c.post(f"/jobs/{w.job.id}/cancel"),
                           lambda w: Job.objects.get(pk=w.job.pk).status == JobStatus.CANCELED),
    "delete an asset": Action(Role.MEMBER, lambda c, w, tmp: c.post(f"/assets/{_spare(w, tmp).id}/delete"),
                              lambda w: not Asset.objects.filter(original_name="spare.png").exists()),
    "create an API key": Action(Role.ADMIN, lambda c, w, _: c.post(
        "/settings/api-keys/", {"name": "new", "mode": "live", "role": "viewer"}),
        lambda w: ApiKey.objects.filter(name="new").exists()),
    "revoke an API key": Action(Role.ADMIN, lambda c, w, _: c.post(f"/settings/api-keys/{w.key.id}/revoke"),
                                lambda w: ApiKey.objects.get(pk=w.key.pk).revoked_at is not None),
    "invite a member": Action(Role.ADMIN, lambda c, w, _: c.post(
        "/settings/team/invite", {"email": "z@example.com", "role": "viewer"}),
        lambda w: Invitation.objects.filter(email="z@example.com").exists()),
    "withdraw an invitation": Action(Role.ADMIN, lambda c, w, _: c.post(
        f"/settings/team/invitations/{w.invitation.id}/withdraw"),
        lambda w: Invitation.objects.get(pk=w.invitation.pk).revoked_at is not None),
    "change a role": Action(Role.ADMIN, lambda c, w, _: c.post(
        f"/settings/team/members/{w.target.id}/role", {"role": "viewer"}),
        lambda w: Membership.objects.get(pk=w.target.pk).role == Role.VIEWER),
    "remove a member": Action(Role.ADMIN, lambda c, w, _: c.post(f"/settings/team/members/{w.target.id}/remove"),
                              lambda w: not Membership.objects.filter(pk=w.target.pk).exists()),
    "rename the team": Action(Role.ADMIN, lambda c, w, _: c.post("/settings/team/rename", {"name": "Renamed"}),
                              lambda w: Tenant.objects.get(pk=w.tenant.pk).name == "Renamed"),
    "read the audit log": Action(Role.ADMIN, lambda c, w, _: c.get("/settings/team/audit/"), lambda w: True),
    "transfer ownership": Action(Role.OWNER, lambda c, w, _: c.post(f"/settings/team/members/{w.target.id}/transfer"),
                                 lambda w: Membership.objects.get(pk=w.target.pk).role == Role.OWNER),
    "set the monthly limit": Action(Role.OWNER, lambda c, w, _: c.post("/billing/", {"monthly_limit": "12.00"}),
                                    lambda w: _limit(w) == Decimal("12.00")),
    "delete the team": Action(Role.OWNER, lambda c, w, _: c.post("/settings/team/delete", {"confirm": "Acme"}),
                              lambda w: Tenant.objects.get(pk=w.tenant.pk).deactivated_at is not None),
}


def _spare(w: World, tmp_path) -> Asset:
    return asset_create(tenant=w.tenant, actor=Actor.system(w.tenant), upload=SimpleUploadedFile(
        "spare.png", make_png(tmp_path / "spare.png", width=32, height=24).read_bytes()))


def _limit(w: World) -> Decimal | None:
    return Budget.objects.filter(tenant=w.tenant, api_key=None).values_list("monthly_limit", flat=True).first()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ACTIONS))
def test_every_action_for_every_role(dashboard_login, world, tmp_path, role, name):
    action = ACTIONS[name]
    client = dashboard_login(world.tenant, role)
    audit_before = AuditEvent.objects.exclude(action="signed_in").count()
    response = action.request(client, world, tmp_path)
    if role_allows(role, action.least):
        assert response.status_code in (200, 302, 303), (name, role, response.status_code)
        assert action.done(world), f"{role} should be able to {name}"
    else:
        assert response.status_code == 403, (name, role, response.status_code)
        assert not action.done(world) or name == "read the audit log", f"{role} must not {name}"
        assert AuditEvent.objects.exclude(action="signed_in").count() == audit_before  # nothing happened


@pytest.mark.parametrize("role", ROLES)
def test_pages_hide_what_the_role_cannot_do(dashboard_login, world, role):
    client = dashboard_login(world.tenant, role)
    team = client.get("/settings/team/").content.decode()
    keys = client.get("/settings/api-keys/").content.decode()
    assets = client.get("/assets/").content.decode()
    admin, owner, member = (role_allows(role, r) for r in (Role.ADMIN, Role.OWNER, Role.MEMBER))
    assert ("Send invitation" in team) is admin
    assert (f'/settings/team/members/{world.target.id}/role"' in team) is admin
    assert (f'/settings/team/members/{world.target.id}/remove"' in team) is admin
    assert ("Audit log</a>" in team) is admin
    assert ("Rename</button>" in team) is admin
    assert ("Make owner" in team) is owner
    assert ("Delete the team" in team) is owner
    assert ("Create key</button>" in keys) is admin and ("Revoke</button>" in keys) is admin
    assert ("Upload</button>" in assets) is member
    jobs = client.get("/jobs/").content.decode()
    assert ('class="btn primary" href="/jobs/new/"' in jobs) is member
    assert "Leave Acme" in team  # everyone may leave


def test_an_admin_sees_no_controls_over_an_owner_or_another_admin(dashboard_login, world):
    peer = Membership.objects.create(tenant=world.tenant, role=Role.ADMIN, user=user_create(
        email="peer@example.com", password="pw-Secret-123"))
    owner_membership = Membership.objects.get(tenant=world.tenant, user=user_of(world.tenant))
    team = dashboard_login(world.tenant, Role.ADMIN).get("/settings/team/").content.decode()
    for m in (peer, owner_membership):
        assert f"/settings/team/members/{m.id}/role" not in team and f"/settings/team/members/{m.id}/remove" not in team


ID_PAGES = [
    ("get", "/jobs/{job}/"), ("get", "/jobs/{job}/output"), ("post", "/jobs/{job}/cancel"),
    ("post", "/assets/{asset}/delete"), ("get", "/assets/{asset}/file"),
    ("post", "/settings/api-keys/{key}/revoke"), ("post", "/settings/team/members/{member}/role"),
    ("post", "/settings/team/members/{member}/remove"), ("post", "/settings/team/members/{member}/transfer"),
    ("post", "/settings/team/invitations/{invitation}/withdraw"),
]


@pytest.mark.parametrize(("method", "path"), ID_PAGES)
def test_another_tenants_ids_are_404(dashboard_login, world, other_tenant, method, path):
    outsider = dashboard_login(other_tenant)
    url = path.format(job=world.job.id, asset=world.image.id, key=world.key.id, member=world.target.id,
                      invitation=world.invitation.id)
    response = getattr(outsider, method)(url, {"role": "viewer"} if method == "post" else None)
    assert response.status_code == 404
    assert Membership.objects.get(pk=world.target.pk).role == Role.MEMBER
    assert ApiKey.objects.get(pk=world.key.pk).revoked_at is None
    assert Invitation.objects.get(pk=world.invitation.pk).revoked_at is None
    assert Job.objects.get(pk=world.job.pk).status == JobStatus.QUEUED
