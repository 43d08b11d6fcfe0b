"""Management commands: create_tenant and demo_setup print keys that really work."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import ApiKey, ApiKeyMode, Membership, Role, Tenant, User
from accounts.services import hash_api_key, user_create


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def works(secret: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.get("/api/v1/models")
    return response.status_code == 200 and len(response.json()["results"]) > 0


def test_create_tenant_json(db):
    out = run("create_tenant", "Initech", "--owner", "Boss@Initech.example", "--password", "pw-Secret-123",
              "--api-key", "--json")
    assert out.count("\n") == 1 and out.endswith("\n")
    data = json.loads(out)
    assert set(data) == {"tenant", "owner", "api_key"}
    tenant = Tenant.objects.get(pk=data["tenant"])
    assert tenant.name == "Initech"
    assert data["owner"] == "boss@initech.example"
    owner = User.objects.get(email="boss@initech.example")
    assert owner.check_password("pw-Secret-123")
    assert Membership.objects.get(tenant=tenant, user=owner).role == Role.OWNER
    assert data["api_key"].startswith("prl_live_")
    key = ApiKey.objects.get(hashed_key=hash_api_key(data["api_key"]))
    assert key.tenant_id == tenant.id and key.mode == ApiKeyMode.LIVE and key.revoked_at is None
    assert works(data["api_key"])


def test_the_first_key_can_provision_the_tenant_over_the_api(db):
    """The owner's first key is an admin key: it makes the tenant's other keys over the API, of its
    own mode (a key never makes a key of another mode: ``--test-key`` gives a test-mode first key)."""
    data = json.loads(run("create_tenant", "Provisioned", "--owner", "prov@example.com", "--api-key", "--json"))
    assert ApiKey.objects.get(hashed_key=hash_api_key(data["api_key"])).role == Role.ADMIN
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['api_key']}")
    response = client.post("/api/v1/api-keys", {"name": "ci", "role": "member"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["secret"].startswith("prl_live_") and response.json()["role"] == "member"
    assert works(response.json()["secret"])
    assert client.post("/api/v1/api-keys", {"name": "ci", "mode": "test"}, format="json").status_code == 403

    test = json.loads(run("create_tenant", "Provisioned", "--owner", "prov@example.com", "--api-key", "--test-key",
                          "--json"))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {test['api_key']}")
    response = client.post("/api/v1/api-keys", {"name": "ci", "mode": "test"}, format="json")
    assert response.status_code == 201 and response.json()["secret"].startswith("prl_test_")


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER, Role.ADMIN])
def test_key_role_picks_the_first_keys_role(db, role):
    data = json.loads(run("create_tenant", f"Role {role}", "--owner", f"{role}@example.com", "--api-key",
                          "--key-role", role, "--json"))
    assert ApiKey.objects.get(hashed_key=hash_api_key(data["api_key"])).role == role
    assert works(data["api_key"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {data['api_key']}")
    expected = 201 if role == Role.ADMIN else 403
    assert client.post("/api/v1/api-keys", {"name": "more"}, format="json").status_code == expected


def test_key_role_owner_is_refused(db):
    with pytest.raises(CommandError):
        run("create_tenant", "Bad role", "--owner", "bad@example.com", "--api-key", "--key-role", "owner")
    assert not Tenant.objects.filter(name="Bad role").exists()


def test_create_tenant_test_key(db):
    data = json.loads(run("create_tenant", "Sandbox", "--owner", "s@example.com", "--api-key", "--test-key", "--json"))
    assert data["api_key"].startswith("prl_test_")
    assert works(data["api_key"])
    owner = User.objects.get(email="s@example.com")
    assert not owner.has_usable_password()  # no --password: they must reset it


def test_create_tenant_without_a_key(db):
    data = json.loads(run("create_tenant", "Keyless", "--owner", "k@example.com", "--json"))
    assert data["api_key"] is None
    assert not ApiKey.objects.filter(tenant_id=data["tenant"]).exists()


def test_create_tenant_plain_output_shows_the_key(db):
    out = run("create_tenant", "Plain", "--owner", "p@example.com", "--api-key")
    match = re.search(r"(prl_live_\S+)", out)
    assert match, out
    assert works(match.group(1))


def test_existing_owner_is_reused(db):
    existing = user_create(email="owner@example.com", password="pw-Secret-123")
    first = json.loads(run("create_tenant", "One", "--owner", "owner@example.com", "--json"))
    second = json.loads(run("create_tenant", "Two", "--owner", "OWNER@example.com", "--password", "other-pw-456",
                            "--api-key", "--json"))
    assert User.objects.filter(email__iexact="owner@example.com").count() == 1
    assert first["owner"] == second["owner"] == "owner@example.com"
    assert first["tenant"] != second["tenant"]
    assert set(Membership.objects.filter(user=existing).values_list("tenant_id", flat=True)) == {
        Tenant.objects.get(pk=first["tenant"]).pk, Tenant.objects.get(pk=second["tenant"]).pk,
    }
    existing.refresh_from_db()
    assert existing.check_password("pw-Secret-123")  # an existing user's password is not changed
    assert works(second["api_key"])


def test_create_tenant_bad_email_creates_nothing(db):
    counts = (User.objects.count(), Tenant.objects.count(), ApiKey.objects.count())
    with pytest.raises(CommandError):
        run("create_tenant", "Bad", "--owner", "not-an-email", "--api-key", "--json")
    assert (User.objects.count(), Tenant.objects.count(), ApiKey.objects.count()) == counts


def test_demo_setup_is_idempotent_and_prints_a_working_key(db):
    first = run("demo_setup")
    second = run("demo_setup")
    keys = [re.search(r"api key\s+(prl_live_\S+)", out) for out in (first, second)]
    assert all(keys), (first, second)
    assert keys[0].group(1) == keys[1].group(1)
    secret = keys[0].group(1)

    assert Tenant.objects.count() == 1
    tenant = Tenant.objects.get()
    assert ApiKey.objects.filter(tenant=tenant).count() == 1
    assert User.objects.count() == 1
    assert Membership.objects.get(tenant=tenant).role == Role.OWNER
    assert ApiKey.objects.get(tenant=tenant).hashed_key == hash_api_key(secret)
    assert works(secret)
    assert ApiKey.objects.get(tenant=tenant).role == Role.ADMIN  # the README's /api-keys works with it
    # The demo owner can sign in with the printed password.
    email = re.search(r"email\s+(\S+)", first).group(1)
    password = re.search(r"password\s+(\S+)", first).group(1)
    assert User.objects.get(email=email).check_password(password)


def test_demo_setup_key_is_not_stored_in_the_clear(db):
    out = run("demo_setup")
    secret = re.search(r"api key\s+(prl_live_\S+)", out).group(1)
    row = ApiKey.objects.values().get()
    assert all(secret not in str(value) for value in row.values())


def test_demo_setup_raises_an_earlier_member_demo_key_to_admin(db):
    run("demo_setup")
    ApiKey.objects.update(role=Role.MEMBER)  # as an earlier version made it
    run("demo_setup")
    assert ApiKey.objects.get().role == Role.ADMIN
