"""The dashboard's webhooks page: admins and owners create endpoints (the secret shown once),
rotate, send a test event, read deliveries; members are refused; another team's endpoint is a 404."""

from __future__ import annotations

import pytest

from accounts.actors import Actor
from accounts.models import Role
from webhooks.delivery import webhook_message_send
from webhooks.models import WebhookEndpoint, WebhookMessage
from webhooks.secrets import secret_decrypt
from webhooks.services import webhook_endpoint_create


def test_an_owner_creates_an_endpoint_and_sees_its_secret_once(dashboard_login, tenant, receiver):
    client = dashboard_login(tenant)
    assert client.get("/webhooks").status_code == 200
    response = client.post("/webhooks", {"url": receiver.url, "events": ["job.succeeded", "job.running"]})
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    secret = secret_decrypt(endpoint.secret_encrypted)
    assert secret in response.content.decode() and endpoint.events == ["job.running", "job.succeeded"]
    page = client.get("/webhooks").content.decode()
    assert receiver.url in page and secret not in page


def test_a_bad_url_is_shown_on_the_form(dashboard_login, tenant, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS, settings.WEBHOOK_ALLOW_HTTP = [], True
    response = dashboard_login(tenant).post("/webhooks", {"url": "http://10.0.0.1/x", "events": ["job.failed"]})
    assert response.status_code == 400 and "non_public_address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_test_event_rotation_and_deliveries(dashboard_login, tenant, receiver):
    client = dashboard_login(tenant)
    endpoint, old = webhook_endpoint_create(tenant=tenant, actor=Actor.system(tenant), url=receiver.url)
    response = client.post(f"/webhooks/endpoints/{endpoint.pk}/test")
    assert response.status_code == 302
    message = WebhookMessage.objects.get(endpoint=endpoint, event_type="webhook.test")
    webhook_message_send(message_id=message.pk)
    page = client.get(f"/webhooks/endpoints/{endpoint.pk}").content.decode()
    assert message.msg_id in page and "200" in page and "thanks" in page

    rotated = client.post(f"/webhooks/endpoints/{endpoint.pk}/rotate")
    new = secret_decrypt(WebhookEndpoint.objects.get().secret_encrypted)
    assert rotated.status_code == 200 and new != old and new in rotated.content.decode()

    client.post(f"/webhooks/endpoints/{endpoint.pk}/enabled", {"enabled": "0"})
    assert not WebhookEndpoint.objects.get().enabled
    client.post(f"/webhooks/endpoints/{endpoint.pk}/delete")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_are_refused(dashboard_login, tenant, receiver, role):
    endpoint, _ = webhook_endpoint_create(tenant=tenant, actor=Actor.system(tenant), url=receiver.url)
    client = dashboard_login(tenant, role)
    assert client.get("/webhooks").status_code == 403
    assert client.post("/webhooks", {"url": receiver.url, "events": ["job.failed"]}).status_code == 403
    assert client.get(f"/webhooks/endpoints/{endpoint.pk}").status_code == 403
    for action in ("test", "rotate", "delete"):
        assert client.post(f"/webhooks/endpoints/{endpoint.pk}/{action}").status_code == 403
    assert WebhookEndpoint.objects.count() == 1 and not WebhookMessage.objects.exists()


def test_another_teams_endpoint_is_not_found(dashboard_login, tenant, other_tenant, receiver):
    theirs, _ = webhook_endpoint_create(tenant=other_tenant, actor=Actor.system(other_tenant), url=receiver.url)
    client = dashboard_login(tenant)
    assert client.get(f"/webhooks/endpoints/{theirs.pk}").status_code == 404
    for action in ("test", "rotate", "delete"):
        assert client.post(f"/webhooks/endpoints/{theirs.pk}/{action}").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=theirs.pk).exists() and not WebhookMessage.objects.exists()
