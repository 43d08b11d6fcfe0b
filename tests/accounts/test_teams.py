"""Teams: invitations by email (a signed, expiring link; accept needs the invited address, decline
needs nothing), role changes, leaving, ownership transfer, renaming and deleting a team, each
audited; a link to another of the user's teams' objects names the team."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.actors import Actor
from accounts.audit import AuditAction
from accounts.invitations import InvitationInvalid, invitation_accept, invitation_create, invitation_from_token
from accounts.models import ApiKey, AuditEvent, Invitation, Membership, Role, Tenant
from accounts.services import api_key_create, user_create
from accounts.teams import membership_leave, membership_role_change, ownership_transfer, tenant_delete
from billing.models import CreditGrant
from config.errors import Conflict, RoleForbidden
from jobs.models import Job, JobStatus
from jobs.services import asset_create, job_create
from tests.conftest import make_tenant, user_of
from tests.media_fixtures import make_png, make_wav

pytestmark = pytest.mark.django_db


def owner_actor(tenant: Tenant) -> Actor:
    return Actor(tenant=tenant, role=Role.OWNER, user=user_of(tenant))


def member(tenant: Tenant, role: str, email: str | None = None) -> Membership:
    user = user_create(email=email or f"{role}-{Membership.objects.count()}@example.com", password="pw-Secret-123")
    return Membership.objects.create(tenant=tenant, user=user, role=role)


def actor_of(membership: Membership) -> Actor:
    return Actor(tenant=membership.tenant, role=membership.role, user=membership.user)


def link_in(message) -> str:
    return re.search(r"https?://\S+/invitations/\S+/", message.body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# --- invitations ---------------------------------------------------------------------------------
def test_an_invitation_is_emailed_with_a_link_that_joins_with_the_role(tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(tenant=tenant, actor=owner_actor(tenant), email="Bob@Example.com",
                                       role=Role.VIEWER)
    assert invitation.email == "bob@example.com"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["bob@example.com"]
    assert "Acme" in mail.outbox[0].subject and "as viewer" in mail.outbox[0].body
    token = link_in(mail.outbox[0]).rstrip("/").rsplit("/", 1)[1]
    bob = user_create(email="bob@example.com", password="pw-Secret-123")
    membership = invitation_accept(token=token, user=bob)
    assert membership.tenant == tenant and membership.role == Role.VIEWER
    with pytest.raises(InvitationInvalid, match="already answered"):
        invitation_from_token(token)  # a link works once
    actions = list(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
    assert AuditAction.MEMBER_INVITED in actions and AuditAction.INVITATION_ACCEPTED in actions


def test_only_the_invited_address_accepts_and_a_forged_or_expired_link_is_refused(tenant):
    invitation = invitation_create(tenant=tenant, actor=owner_actor(tenant), email="bob@example.com")
    from accounts.invitations import invitation_token

    token = invitation_token(invitation)
    mallory = user_create(email="mallory@example.com", password="pw-Secret-123")
    with pytest.raises(RoleForbidden, match="for bob@example.com"):
        invitation_accept(token=token, user=mallory)
    assert not Membership.objects.filter(user=mallory).exists()
    with pytest.raises(InvitationInvalid, match="not valid"):
        invitation_from_token(token[:-2] + "xx")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvitationInvalid, match="expired"):
        invitation_from_token(token)


def test_invite_rules(tenant):
    admin = member(tenant, Role.ADMIN)
    with pytest.raises(Exception, match="transferring ownership"):
        invitation_create(tenant=tenant, actor=actor_of(admin), email="x@example.com", role=Role.OWNER)
    with pytest.raises(Exception, match="already a member"):
        invitation_create(tenant=tenant, actor=actor_of(admin), email=user_of(tenant).email)
    first = invitation_create(tenant=tenant, actor=actor_of(admin), email="x@example.com")
    second = invitation_create(tenant=tenant, actor=actor_of(admin), email="x@example.com", role=Role.ADMIN)
    first.refresh_from_db()
    assert first.revoked_at is not None and second.is_open()  # a new invitation replaces the open one
    for role in (Role.MEMBER, Role.VIEWER):
        with pytest.raises(RoleForbidden):
            invitation_create(tenant=tenant, actor=actor_of(member(tenant, role)), email="y@example.com")
    assert not Invitation.objects.filter(email="y@example.com").exists()


def test_sign_up_from_an_invitation_joins_the_team_without_making_another(tenant, client):
    invitation = invitation_create(tenant=tenant, actor=owner_actor(tenant), email="new@example.com")
    from accounts.invitations import invitation_token

    here = f"/invitations/{invitation_token(invitation)}/"
    page = client.get(here).content.decode()
    assert "Join Acme" in page and "Create an account" in page
    response = client.post(f"/accounts/signup/?next={here}", {
        "email": "new@example.com", "password1": "correct-Horse-battery-9", "password2": "correct-Horse-battery-9",
        "team_name": "", "next": here})
    assert response.status_code == 302 and response["Location"] == here
    user = Membership.objects.model.user.field.related_model.objects.get(email="new@example.com")
    assert not Membership.objects.filter(user=user).exists()  # no team of their own was made
    accepted = client.post(here, {"answer": "accept"})
    assert accepted.status_code == 302
    assert Membership.objects.get(user=user).tenant == tenant
    assert client.get("/jobs/").status_code == 200  # working in the team at once


def test_a_visitor_declines_without_an_account(tenant, client):
    invitation = invitation_create(tenant=tenant, actor=owner_actor(tenant), email="no@example.com")
    from accounts.invitations import invitation_token

    here = f"/invitations/{invitation_token(invitation)}/"
    assert client.post(here, {"answer": "decline"}).status_code == 302
    invitation.refresh_from_db()
    assert invitation.declined_at is not None
    assert client.get(here).status_code == 404
    event = AuditEvent.objects.get(action=AuditAction.INVITATION_DECLINED)
    assert event.actor_label == "no@example.com" and event.ip == "127.0.0.1"


# --- roles, leaving, transfer --------------------------------------------------------------------
def test_role_change_rules(tenant):
    owner = Membership.objects.get(tenant=tenant, user=user_of(tenant))
    admin, viewer, other_admin = member(tenant, Role.ADMIN), member(tenant, Role.VIEWER), member(tenant, Role.ADMIN)
    assert membership_role_change(actor=actor_of(admin), membership_id=viewer.pk, role=Role.MEMBER).role == "member"
    with pytest.raises(RoleForbidden, match="Only an owner"):
        membership_role_change(actor=actor_of(admin), membership_id=other_admin.pk, role=Role.VIEWER)
    with pytest.raises(RoleForbidden, match="above your own"):
        membership_role_change(actor=actor_of(admin), membership_id=viewer.pk, role=Role.OWNER)
    with pytest.raises(Conflict, match="last owner"):
        membership_role_change(actor=actor_of(owner), membership_id=owner.pk, role=Role.ADMIN)
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_ROLE_CHANGED)
    assert event.target.endswith("viewer -> member") and event.actor_user == admin.user


def test_leave_revokes_own_keys_and_the_last_owner_stays(tenant):
    someone = member(tenant, Role.ADMIN)
    key, _ = api_key_create(tenant=tenant, actor=actor_of(someone), name="mine")
    membership_leave(actor=actor_of(someone))
    key.refresh_from_db()
    assert key.revoked_at is not None and not Membership.objects.filter(pk=someone.pk).exists()
    with pytest.raises(Conflict, match="last owner"):
        membership_leave(actor=owner_actor(tenant))


def test_transfer_ownership(tenant):
    heir = member(tenant, Role.MEMBER)
    ownership_transfer(actor=owner_actor(tenant), membership_id=heir.pk)
    roles = dict(Membership.objects.filter(tenant=tenant).values_list("user__email", "role"))
    assert roles[heir.user.email] == Role.OWNER and roles[user_of(tenant).email] == Role.ADMIN
    with pytest.raises(RoleForbidden):
        ownership_transfer(actor=actor_of(member(tenant, Role.ADMIN)), membership_id=heir.pk)


# --- deleting a team -----------------------------------------------------------------------------
def _queued_job(tenant: Tenant, tmp_path) -> Job:
    system = Actor.system(tenant)
    image = asset_create(tenant=tenant, actor=system, upload=SimpleUploadedFile(
        "f.png", make_png(tmp_path / "f.png").read_bytes()))
    audio = asset_create(tenant=tenant, actor=system, upload=SimpleUploadedFile(
        "a.wav", make_wav(tmp_path / "a.wav").read_bytes()))
    return job_create(tenant=tenant, actor=system, model_id="local/still",
                      inputs={"image": str(image.id), "audio": str(audio.id)})


def test_delete_cancels_running_jobs_and_keeps_a_tenant_its_ledger_names(tenant, tmp_path):
    job = _queued_job(tenant, tmp_path)
    key, _ = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="k")
    assert CreditGrant.objects.filter(tenant=tenant).exists()  # the free allowance is in the ledger
    with pytest.raises(Exception, match="Type the team's name"):
        tenant_delete(actor=owner_actor(tenant), confirm_name="acme")
    with pytest.raises(RoleForbidden):
        tenant_delete(actor=actor_of(member(tenant, Role.ADMIN)), confirm_name="Acme")
    assert tenant_delete(actor=owner_actor(tenant), confirm_name="Acme") is False
    tenant.refresh_from_db()
    job.refresh_from_db()
    key.refresh_from_db()
    assert tenant.deactivated_at is not None and job.status == JobStatus.CANCELED and key.revoked_at is not None
    assert not Membership.objects.filter(tenant=tenant).exists()
    assert CreditGrant.objects.filter(tenant=tenant).exists()  # the ledger is kept
    assert AuditEvent.objects.filter(tenant=tenant, action=AuditAction.TEAM_DELETED).exists()


def test_delete_erases_a_tenant_nothing_refers_to(db, settings):
    settings.FREE_ALLOWANCE_USD = "0"
    tenant = make_tenant("Bare")
    assert tenant_delete(actor=owner_actor(tenant), confirm_name="Bare") is True
    assert not Tenant.objects.filter(pk=tenant.pk).exists()
    assert AuditEvent.objects.filter(tenant=None, action=AuditAction.TEAM_DELETED, target__contains="erased").exists()


# --- the pages -----------------------------------------------------------------------------------
def test_team_page_invite_flow_and_audit_page(dashboard_login, tenant, django_capture_on_commit_callbacks):
    owner = dashboard_login(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post("/settings/team/invite", {"email": "carol@example.com", "role": "member"},
                              REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302 and len(mail.outbox) == 1
    page = owner.get("/settings/team/").content.decode()
    assert "carol@example.com" in page and "Waiting for an answer" in page
    carol = user_create(email="carol@example.com", password="pw-Secret-123")
    client = Client()
    client.force_login(carol)
    here = path_of(link_in(mail.outbox[0]))
    assert client.post(here, {"answer": "accept"}).status_code == 302
    assert Membership.objects.get(user=carol, tenant=tenant).role == Role.MEMBER
    audit = owner.get("/settings/team/audit/").content.decode()
    assert "member.invited" in audit and "carol@example.com as member" in audit and "203.0.113.7" in audit
    assert "signed_in" in audit and "invitation.accepted" in audit


def test_rename_from_the_page(dashboard_login, tenant):
    owner = dashboard_login(tenant)
    owner.post("/settings/team/rename", {"name": "Acme Studio"})
    tenant.refresh_from_db()
    assert tenant.name == "Acme Studio"
    assert AuditEvent.objects.get(action=AuditAction.TEAM_RENAMED).target == "Acme -> Acme Studio"


def test_a_link_to_another_of_my_teams_job_names_the_team(dashboard_login, tenant, other_tenant, tmp_path):
    job = _queued_job(other_tenant, tmp_path)
    owner = dashboard_login(tenant)
    Membership.objects.create(tenant=other_tenant, user=owner.user, role=Role.VIEWER)
    response = owner.get(f"/jobs/{job.id}/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "This job is in your team Globex" in page and "Switch to Globex" in page
    switched = owner.post("/settings/tenant/", {"tenant_id": str(other_tenant.pk), "next": f"/jobs/{job.id}/"})
    assert switched["Location"] == f"/jobs/{job.id}/"
    assert owner.get(f"/jobs/{job.id}/").status_code == 200


def test_another_tenants_job_stays_a_bare_404_for_a_non_member(dashboard_login, tenant, other_tenant, tmp_path):
    job = _queued_job(other_tenant, tmp_path)
    response = dashboard_login(tenant).get(f"/jobs/{job.id}/")
    assert response.status_code == 404 and "Globex" not in response.content.decode()


def test_leaving_from_the_page_revokes_keys(dashboard_login, tenant):
    client = dashboard_login(tenant, Role.ADMIN)
    api_key_create(tenant=tenant, actor=Actor(tenant=tenant, role=Role.ADMIN, user=client.user), name="mine")
    assert client.post("/settings/team/leave").status_code == 302
    assert not Membership.objects.filter(user=client.user).exists()
    assert not ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True, created_by=client.user).exists()


def test_the_owner_setting_the_monthly_limit_is_audited(dashboard_login, tenant):
    dashboard_login(tenant).post("/billing/", {"monthly_limit": "25.00"}, REMOTE_ADDR="198.51.100.4")
    event = AuditEvent.objects.get(tenant=tenant, action=AuditAction.TENANT_SETTINGS_CHANGED)
    assert event.target == "the team's monthly limit: none -> 25.00" and event.ip == "198.51.100.4"


def test_api_actions_are_audited_with_the_key_and_the_address(api_client, tenant):
    admin = api_client(Role.ADMIN)
    response = admin.post("/api/v1/api-keys", {"name": "ci", "role": "viewer"}, format="json",
                          REMOTE_ADDR="2001:db8::1")
    assert response.status_code == 201
    creator = ApiKey.objects.get(name="admin key")
    event = AuditEvent.objects.filter(action=AuditAction.API_KEY_CREATED).latest("id")
    assert event.target.startswith("ci (") and event.ip == "2001:db8::1"
    assert event.actor_label == f"api key {creator.prefix}" and event.actor_api_key_id == creator.pk
    admin.post(f"/api/v1/api-keys/{response.json()['id']}/revoke")
    assert AuditEvent.objects.filter(action=AuditAction.API_KEY_REVOKED, target__startswith="ci (").exists()


def test_the_sole_owner_is_offered_no_role_change_for_themselves(dashboard_login, tenant):
    owner = dashboard_login(tenant)
    mine = Membership.objects.get(tenant=tenant, user=owner.user)
    assert f"/settings/team/members/{mine.pk}/role" not in owner.get("/settings/team/").content.decode()
    other = member(tenant, Role.OWNER)
    page = owner.get("/settings/team/").content.decode()
    assert f"/settings/team/members/{mine.pk}/role" in page and f"/settings/team/members/{other.pk}/role" in page


def test_a_link_to_another_of_my_teams_asset_names_the_team(dashboard_login, tenant, other_tenant, tmp_path):
    asset = asset_create(tenant=other_tenant, actor=Actor.system(other_tenant), upload=SimpleUploadedFile(
        "f.png", make_png(tmp_path / "f.png").read_bytes()))
    owner = dashboard_login(tenant)
    assert "Globex" not in owner.get(f"/assets/{asset.id}/file").content.decode()
    Membership.objects.create(tenant=other_tenant, user=owner.user, role=Role.MEMBER)
    response = owner.get(f"/assets/{asset.id}/file")
    assert response.status_code == 404 and "This asset is in your team Globex" in response.content.decode()
