"""Keys cannot climb: no key creates a key of another mode or a higher role; a key made by a
member stops working when that membership ends (or acts with the member's lowered role); removing
a member can revoke their keys; keys made by the system keep working."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.actors import Actor
from accounts.models import ROLE_RANK, ApiKey, ApiKeyMode, Membership, Role, User
from accounts.services import api_key_authenticate, api_key_create, membership_remove, user_create
from config.errors import Conflict, RoleForbidden
from tests.conftest import user_of

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def member(tenant, role: str) -> Membership:
    user = user_create(email=f"{role}-{uuid.uuid4().hex[:8]}@example.com", password="pw-Secret-123")
    return Membership.objects.create(tenant=tenant, user=user, role=role)


def key_of(membership: Membership, *, role: str | None = None, mode: str = ApiKeyMode.LIVE) -> tuple[ApiKey, str]:
    """A key made by ``membership``'s user, as the dashboard would make it (a member's key was made
    while they were an admin)."""
    maker_role = Role.ADMIN if membership.role in (Role.MEMBER, Role.VIEWER) else membership.role
    actor = Actor(tenant=membership.tenant, role=maker_role, user=membership.user)
    return api_key_create(tenant=membership.tenant, actor=actor, name="theirs", role=role or membership.role,
                          mode=mode)


# --- the matrix -----------------------------------------------------------------------------------
KEY_ROLES = [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER]
MODES = [ApiKeyMode.LIVE, ApiKeyMode.TEST]


@pytest.mark.parametrize("key_mode", MODES)
@pytest.mark.parametrize("key_role", KEY_ROLES)
def test_no_key_creates_a_key_of_another_mode_or_a_higher_role(api_client, tenant, key_role, key_mode):
    client = api_client(key_role, mode=key_mode)
    maker = ApiKey.objects.get(tenant=tenant)
    for mode in MODES:
        for role in KEY_ROLES:
            before = ApiKey.objects.count()
            response = client.post("/api/v1/api-keys", {"name": f"{role} {mode}", "mode": mode, "role": role},
                                   format="json")
            allowed = (ROLE_RANK[Role(key_role)] >= ROLE_RANK[Role.ADMIN] and mode == key_mode
                       and ROLE_RANK[Role(role)] <= ROLE_RANK[Role(key_role)] and role != Role.OWNER)
            case = f"{key_role}/{key_mode} key -> {role}/{mode}"
            if allowed:
                assert response.status_code == 201, (case, response.content)
                assert response.json()["mode"] == mode and response.json()["role"] == role
                assert ApiKey.objects.count() == before + 1
            else:
                assert response.status_code in (400, 403), (case, response.content)
                assert ApiKey.objects.count() == before, case
            if (response.status_code == 403 and mode != key_mode
                    and ROLE_RANK[Role(key_role)] >= ROLE_RANK[Role.ADMIN] and role != Role.OWNER):
                message = response.json()["error"]["message"]
                assert key_mode in message and mode in message, message  # it names both modes
    assert ApiKey.objects.exclude(pk=maker.pk).exclude(mode=key_mode).count() == 0


def test_a_test_admin_key_cannot_create_a_live_admin_key(api_client, tenant):
    """The trial's case: it answered 201."""
    client = api_client(Role.ADMIN, mode=ApiKeyMode.TEST)
    response = client.post("/api/v1/api-keys", {"name": "climb", "mode": "live", "role": "admin"}, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["error"] == {
        "code": "forbidden",
        "message": "An API key creates only keys of its own mode: this is a test key, so it cannot create "
                   "a live key.",
    }
    assert list(ApiKey.objects.values_list("mode", flat=True)) == [ApiKeyMode.TEST]


def test_the_service_refuses_another_mode_to_a_key_actor_and_writes_nothing(tenant):
    _, secret = api_key_create(tenant=tenant, actor=Actor.system(tenant), name="ci", role=Role.ADMIN,
                               mode=ApiKeyMode.LIVE)
    actor = Actor.from_api_key(api_key_authenticate(secret=secret))
    with pytest.raises(RoleForbidden) as refused:
        api_key_create(tenant=tenant, actor=actor, name="x", mode=ApiKeyMode.TEST, role=Role.VIEWER)
    assert "live key" in refused.value.message and "test key" in refused.value.message
    assert ApiKey.objects.count() == 1


def test_a_signed_in_admin_still_creates_keys_of_either_mode(tenant):
    admin = member(tenant, Role.ADMIN)
    for mode in MODES:
        key, _ = key_of(admin, mode=mode)
        assert key.mode == mode and key.created_by == admin.user


# --- a removed member's keys ----------------------------------------------------------------------
def test_a_removed_members_keys_stop_working_and_mint_nothing(tenant):
    admin = member(tenant, Role.ADMIN)
    key, secret = key_of(admin)
    client = bearer(secret)
    assert client.get("/api/v1/models").status_code == 200
    minted = client.post("/api/v1/api-keys", {"name": "child", "role": "member"}, format="json")
    assert minted.status_code == 201, minted.content
    child = bearer(minted.json()["secret"])
    assert ApiKey.objects.get(pk=minted.json()["id"]).created_by == admin.user  # a key's key is its maker's
    assert child.get("/api/v1/models").status_code == 200

    membership_remove(actor=Actor.system(tenant), membership=admin, revoke_keys=False)

    for gone in (client, child):
        response = gone.get("/api/v1/models")
        assert response.status_code == 401, response.content
        assert response.json()["error"]["code"] == "unauthenticated"
        assert "no longer a member" in response.json()["error"]["message"]
    count = ApiKey.objects.count()
    assert client.post("/api/v1/api-keys", {"name": "again"}, format="json").status_code == 401
    assert ApiKey.objects.count() == count
    key.refresh_from_db()
    assert key.revoked_at is None  # not revoked (not asked to): it works again if they come back


def test_a_key_acts_with_its_creators_lowered_role(tenant, tmp_path):
    admin = member(tenant, Role.ADMIN)
    _, secret = key_of(admin)
    client = bearer(secret)
    assert client.post("/api/v1/api-keys", {"name": "ok", "role": "viewer"}, format="json").status_code == 201
    Membership.objects.filter(pk=admin.pk).update(role=Role.VIEWER)
    assert client.get("/api/v1/models").status_code == 200  # the viewer's reads
    refused = client.post("/api/v1/api-keys", {"name": "no", "role": "viewer"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    refused = client.post("/api/v1/jobs", {"model": "local/still", "input": {}}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    # Raised again, the key acts with its own role, never more.
    Membership.objects.filter(pk=admin.pk).update(role=Role.OWNER)
    key = api_key_authenticate(secret=secret)
    assert Actor.from_api_key(key).role == Role.ADMIN


def test_a_removed_member_who_is_in_another_team_keeps_nothing_here(tenant, other_tenant):
    admin = member(tenant, Role.ADMIN)
    Membership.objects.create(tenant=other_tenant, user=admin.user, role=Role.OWNER)
    _, secret = key_of(admin)
    membership_remove(actor=Actor.system(tenant), membership=admin, revoke_keys=False)
    assert bearer(secret).get("/api/v1/models").status_code == 401


def test_system_keys_keep_working(api_client, tenant):
    client = api_client(Role.ADMIN)
    owner = Membership.objects.get(tenant=tenant, role=Role.OWNER)
    other = member(tenant, Role.ADMIN)
    membership_remove(actor=Actor.system(tenant), membership=other, revoke_keys=True)
    assert ApiKey.objects.get(tenant=tenant).created_by is None
    assert client.get("/api/v1/api-keys").status_code == 200
    assert owner.pk  # untouched


def test_authentication_is_one_query_with_the_creators_membership(tenant, django_assert_num_queries):
    admin = member(tenant, Role.ADMIN)
    key, secret = key_of(admin)
    api_key_authenticate(secret=secret)  # marks it used
    with django_assert_num_queries(1):
        found = api_key_authenticate(secret=secret)
        assert Actor.from_api_key(found).role == Role.ADMIN
        assert found.tenant == tenant


def test_a_deleted_users_keys_are_revoked(tenant):
    admin = member(tenant, Role.ADMIN)
    key, secret = key_of(admin)
    revoked_before, _ = api_key_create(tenant=tenant, actor=Actor(tenant=tenant, role=Role.ADMIN, user=admin.user),
                                       name="old")
    ApiKey.objects.filter(pk=revoked_before.pk).update(revoked_at="2020-01-01T00:00:00Z")
    admin.user.delete()
    key.refresh_from_db()
    assert key.created_by is None and key.revoked_at is not None  # not a system key now
    assert bearer(secret).get("/api/v1/models").status_code == 401
    revoked_before.refresh_from_db()
    assert revoked_before.revoked_at.year == 2020


# --- membership_remove ------------------------------------------------------------------------------
def test_an_admin_removes_a_member_and_revokes_only_their_keys_here(tenant, other_tenant):
    admin, doomed = member(tenant, Role.ADMIN), member(tenant, Role.MEMBER)
    Membership.objects.create(tenant=other_tenant, user=doomed.user, role=Role.ADMIN)
    theirs, _ = key_of(doomed)
    elsewhere, _ = api_key_create(tenant=other_tenant, actor=Actor(tenant=other_tenant, role=Role.ADMIN,
                                                                   user=doomed.user), name="elsewhere")
    mine, _ = key_of(admin)
    actor = Actor(tenant=tenant, role=Role.ADMIN, user=admin.user)
    revoked = membership_remove(actor=actor, membership=doomed, revoke_keys=True)
    assert [k.pk for k in revoked] == [theirs.pk]
    assert not Membership.objects.filter(pk=doomed.pk).exists()
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=elsewhere.pk).revoked_at is None
    assert ApiKey.objects.get(pk=mine.pk).revoked_at is None


@pytest.mark.parametrize("target", [Role.ADMIN, Role.OWNER])
def test_only_an_owner_removes_an_admin_or_an_owner(tenant, target):
    admin, doomed = member(tenant, Role.ADMIN), member(tenant, target)
    key, _ = key_of(doomed, role=Role.ADMIN)
    with pytest.raises(RoleForbidden):
        membership_remove(actor=Actor(tenant=tenant, role=Role.ADMIN, user=admin.user), membership=doomed,
                          revoke_keys=True)
    assert Membership.objects.filter(pk=doomed.pk).exists()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    owner = Membership.objects.filter(tenant=tenant, role=Role.OWNER).first()
    membership_remove(actor=Actor(tenant=tenant, role=Role.OWNER, user=owner.user), membership=doomed,
                      revoke_keys=False)
    assert not Membership.objects.filter(pk=doomed.pk).exists()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_below_admin_removes_nobody(tenant, role):
    doomed = member(tenant, Role.VIEWER)
    with pytest.raises(RoleForbidden):
        membership_remove(actor=Actor(tenant=tenant, role=role), membership=doomed, revoke_keys=False)
    assert Membership.objects.filter(pk=doomed.pk).exists()


def test_the_last_owner_cannot_be_removed(tenant):
    owner = Membership.objects.get(tenant=tenant, role=Role.OWNER)
    with pytest.raises(Conflict) as refused:
        membership_remove(actor=Actor.system(tenant), membership=owner, revoke_keys=True)
    assert "last owner" in refused.value.message
    assert Membership.objects.filter(pk=owner.pk).exists()
    second = member(tenant, Role.OWNER)
    membership_remove(actor=Actor.system(tenant), membership=owner, revoke_keys=False)
    assert list(Membership.objects.filter(tenant=tenant).values_list("pk", flat=True)) == [second.pk]


def test_another_tenants_membership_is_not_found(tenant, other_tenant):
    theirs = Membership.objects.get(tenant=other_tenant)
    with pytest.raises(Membership.DoesNotExist):
        membership_remove(actor=Actor.system(tenant), membership=theirs, revoke_keys=True)
    assert Membership.objects.filter(pk=theirs.pk).exists()


# --- the admin site -------------------------------------------------------------------------------
@pytest.fixture
def ops(client):
    client.force_login(User.objects.create_superuser("ops@example.com", "pw-Secret-123"))
    return client


@pytest.mark.parametrize(("action", "revoked"), [("remove_from_team", False),
                                                  ("remove_from_team_and_revoke_keys", True)])
def test_the_admin_removes_members_through_the_service(ops, tenant, action, revoked):
    doomed = member(tenant, Role.MEMBER)
    key, _ = key_of(doomed)
    page = ops.get("/admin/accounts/membership/")
    assert page.status_code == 200 and action in page.content.decode()
    response = ops.post("/admin/accounts/membership/", {"action": action, "_selected_action": [doomed.pk]})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=doomed.pk).exists()
    key.refresh_from_db()
    assert (key.revoked_at is not None) is revoked


def test_the_admin_keeps_the_last_owner_and_deletes_no_membership_directly(ops, tenant):
    owner = Membership.objects.get(tenant=tenant, user=user_of(tenant))
    response = ops.post("/admin/accounts/membership/", {"action": "remove_from_team",
                                                        "_selected_action": [owner.pk]}, follow=True)
    assert "last owner" in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert ops.get(f"/admin/accounts/membership/{owner.pk}/delete/").status_code == 403
    assert "delete_selected" not in ops.get("/admin/accounts/membership/").content.decode()
    inline = ops.get(f"/admin/accounts/tenant/{tenant.pk}/change/").content.decode()
    assert '-DELETE"' not in inline
