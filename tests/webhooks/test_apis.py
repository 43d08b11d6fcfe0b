"""The webhook-endpoints API: admin and owner keys only, the tenant's and the key's mode only
(another's is a 404), bad input named by field, the delivery log, and the per-job webhook fields
of the jobs API."""

from __future__ import annotations

import pytest

from accounts.models import ApiKeyMode, Role
from jobs.models import Job
from tests.conftest import upload
from webhooks.delivery import webhook_message_send
from webhooks.models import WebhookEndpoint, WebhookMessage
from webhooks.secrets import secret_decrypt

BASE = "/api/v1/webhook-endpoints"


@pytest.fixture
def admin(api_client):
    return api_client(Role.ADMIN)


def create(client, url, **body):
    response = client.post(BASE, {"url": url, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_create_list_retrieve_update_delete(admin, receiver):
    made = create(admin, receiver.url, description="orders")
    assert made["secret"].startswith("whsec_") and made["object"] == "webhook_endpoint"
    assert made["events"] == ["job.succeeded", "job.failed", "job.canceled"] and made["enabled"] is True
    stored = WebhookEndpoint.objects.get(pk=made["id"])
    assert secret_decrypt(stored.secret_encrypted) == made["secret"]

    listed = admin.get(BASE).json()
    assert [e["id"] for e in listed["results"]] == [made["id"]] and "secret" not in listed["results"][0]
    got = admin.get(f"{BASE}/{made['id']}").json()
    assert got["url"] == receiver.url and "secret" not in got

    changed = admin.patch(f"{BASE}/{made['id']}", {"events": ["job.running", "job.succeeded"], "enabled": False},
                          format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["events"] == ["job.running", "job.succeeded"] and changed.json()["enabled"] is False
    assert admin.patch(f"{BASE}/{made['id']}", {"enabled": True}, format="json").json()["enabled"] is True

    assert admin.delete(f"{BASE}/{made['id']}").status_code == 204
    assert admin.get(f"{BASE}/{made['id']}").status_code == 404


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_are_refused(api_client, admin, receiver, role):
    made = create(admin, receiver.url)
    client = api_client(role)
    for response in (client.get(BASE), client.post(BASE, {"url": receiver.url}, format="json"),
                     client.get(f"{BASE}/{made['id']}"), client.patch(f"{BASE}/{made['id']}", {}, format="json"),
                     client.delete(f"{BASE}/{made['id']}"), client.get(f"{BASE}/{made['id']}/deliveries"),
                     client.post(f"{BASE}/{made['id']}/test"), client.post(f"{BASE}/{made['id']}/rotate-secret"),
                     client.get(f"{BASE}/default/secret")):
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "forbidden"
    assert WebhookEndpoint.objects.count() == 1 and not WebhookMessage.objects.exists()


def test_another_tenants_endpoint_is_not_found(api_client, admin, receiver, other_tenant):
    theirs = create(api_client(Role.ADMIN, tenant_=other_tenant), receiver.url)
    path = f"{BASE}/{theirs['id']}"
    for response in (admin.get(path), admin.patch(path, {"enabled": False}, format="json"), admin.delete(path),
                     admin.get(f"{path}/deliveries"), admin.post(f"{path}/test"), admin.post(f"{path}/rotate-secret")):
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"
    assert admin.get(BASE).json()["results"] == []
    assert WebhookEndpoint.objects.get(pk=theirs["id"]).enabled and not WebhookMessage.objects.exists()


def test_a_test_key_sees_only_test_endpoints(api_client, admin, receiver):
    live = create(admin, receiver.url)
    test_key = api_client(Role.ADMIN, mode=ApiKeyMode.TEST)
    assert test_key.get(f"{BASE}/{live['id']}").status_code == 404
    made = create(test_key, receiver.url)
    assert made["livemode"] is False
    assert [e["id"] for e in test_key.get(BASE).json()["results"]] == [made["id"]]


def test_bad_input_is_named_by_field(admin, receiver, settings):
    response = admin.post(BASE, {"url": "ftp://example.com/x", "events": ["job.exploded"]}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"url", "events"}  # every problem at once
    assert "unsupported_scheme" in fields["url"][0] and "'job.exploded'" in fields["events"][0]
    response = admin.post(BASE, {"url": "https://" + "a" * 300 + ".com/"}, format="json")
    assert response.status_code == 400 and "not a valid host name" in response.json()["error"]["fields"]["url"][0]
    response = admin.post(BASE, {"url": "https://example.com/" + "x" * 2000}, format="json")
    assert response.status_code == 400 and "2000" in response.json()["error"]["fields"]["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_private_addresses_are_refused_unless_the_operator_allows_them(admin, receiver, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    for url in (receiver.url, "http://10.1.2.3/hook", "http://169.254.169.254/latest", "http://[::1]:9/x"):
        response = admin.post(BASE, {"url": url}, format="json")
        assert response.status_code == 400, (url, response.content)
        assert "non_public_address" in response.json()["error"]["fields"]["url"][0]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    create(admin, receiver.url)


def test_https_only_in_production(admin, receiver, settings):
    settings.DEBUG, settings.WEBHOOK_ALLOW_HTTP = False, False
    response = admin.post(BASE, {"url": receiver.url}, format="json")
    assert response.status_code == 400 and "unsupported_scheme" in response.json()["error"]["fields"]["url"][0]
    settings.WEBHOOK_ALLOW_HTTP = True
    create(admin, receiver.url)


def test_the_delivery_log(admin, receiver):
    receiver.answer((500, b"boom"))
    made = create(admin, receiver.url)
    response = admin.post(f"{BASE}/{made['id']}/test")
    assert response.status_code == 202
    message = WebhookMessage.objects.get()
    webhook_message_send(message_id=message.pk)
    WebhookMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
    webhook_message_send(message_id=message.pk)
    page = admin.get(f"{BASE}/{made['id']}/deliveries").json()
    assert [(d["attempt"], d["status_code"], d["succeeded"]) for d in page["results"]] == [(2, 200, True),
                                                                                            (1, 500, False)]
    latest, first = page["results"]
    assert first["response_excerpt"] == "boom" and first["latency_ms"] >= 0 and first["error"] == ""
    assert latest["webhook_id"] == message.msg_id and latest["event_type"] == "webhook.test"
    assert latest["message_status"] == "delivered" and latest["object"] == "webhook_delivery"


def test_rotate_secret_answers_the_new_secret_once(admin, receiver):
    made = create(admin, receiver.url)
    rotated = admin.post(f"{BASE}/{made['id']}/rotate-secret", {"overlap_s": 600}, format="json")
    assert rotated.status_code == 200, rotated.content
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != made["secret"]
    assert body["previous_secret_expires_at"] is not None
    too_long = admin.post(f"{BASE}/{made['id']}/rotate-secret", {"overlap_s": 10**9}, format="json")
    assert too_long.status_code == 400 and "overlap_s" in too_long.json()["error"]["fields"]


def test_the_job_webhook_secret(admin):
    first = admin.get(f"{BASE}/default/secret").json()
    assert first["key"].startswith("whsec_") and first["livemode"] is True
    assert admin.get(f"{BASE}/default/secret").json()["key"] == first["key"]
    rotated = admin.post(f"{BASE}/default/secret/rotate", {}, format="json").json()
    assert rotated["key"] != first["key"]
    assert admin.get(f"{BASE}/default/secret").json()["key"] == rotated["key"]


# --- the per-job webhook on the jobs API ---------------------------------------------------------
@pytest.fixture
def job_body(member_client, png_file, wav_file):
    image, audio = upload(member_client, png_file), upload(member_client, wav_file)
    return {"model": "local/still", "input": {"image": image["id"], "audio": audio["id"]}}


def test_a_job_carries_its_webhook(member_client, job_body, receiver):
    response = member_client.post("/api/v1/jobs", {**job_body, "webhook": receiver.url,
                                                   "webhook_events_filter": ["completed"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["webhook"] == receiver.url
    assert body["webhook_events_filter"] == ["job.succeeded", "job.failed", "job.canceled"]


def test_a_bad_job_webhook_is_named_with_the_input_errors(member_client, job_body, receiver, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    response = member_client.post("/api/v1/jobs", {**job_body, "input": {}, "webhook": receiver.url},
                                  format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "non_public_address" in fields["webhook"][0] and "input.image" in fields
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    response = member_client.post("/api/v1/jobs", {**job_body, "webhook": receiver.url,
                                                   "webhook_events_filter": ["logs"]}, format="json")
    assert response.status_code == 400
    assert "'logs'" in response.json()["error"]["fields"]["webhook_events_filter"][0]
    response = member_client.post("/api/v1/jobs", {**job_body, "webhook_events_filter": ["completed"]},
                                  format="json")
    assert response.status_code == 400 and "webhook_events_filter" in response.json()["error"]["fields"]
    assert not Job.objects.exists()  # nothing half-written


def test_each_mode_has_its_own_job_webhook_secret(api_client, admin):
    live = admin.get(f"{BASE}/default/secret").json()
    test = api_client(Role.ADMIN, mode=ApiKeyMode.TEST).get(f"{BASE}/default/secret").json()
    assert (live["livemode"], test["livemode"]) == (True, False) and live["key"] != test["key"]


def test_endpoint_changes_are_in_the_audit_log(tenant, api_client, settings):
    from accounts.audit import AuditAction
    from accounts.models import AuditEvent

    settings.OUTBOUND_ALLOWED_NETWORKS = "127.0.0.0/8"
    settings.WEBHOOK_ALLOW_HTTP = True
    admin = api_client("admin")
    created = admin.post("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"}, format="json")
    assert created.status_code == 201, created.content
    endpoint_id = created.json()["id"]
    assert admin.post(f"/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret", {}, format="json").status_code == 200
    assert admin.delete(f"/api/v1/webhook-endpoints/{endpoint_id}").status_code == 204
    targets = list(AuditEvent.objects.filter(tenant=tenant, action=AuditAction.WEBHOOK_ENDPOINT_CHANGED)
                   .order_by("created_at").values_list("target", flat=True))
    assert targets == ["created http://127.0.0.1:9/hook", "rotated the secret of http://127.0.0.1:9/hook",
                       "deleted http://127.0.0.1:9/hook"]
