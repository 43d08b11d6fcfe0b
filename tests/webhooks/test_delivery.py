"""Delivery of webhook messages to a real receiver on loopback: signatures (checked with the
standardwebhooks package's own verify), the outbox written with the job's status change, retries
with backoff for 24 hours, disabling with an email, rotation's overlap, test events, per-job webhooks."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from jobs.models import JobStatus
from tests.conftest import user_of
from tests.webhooks.conftest import make_job, move
from webhooks.delivery import webhook_message_send, webhook_messages_due
from webhooks.models import MessageStatus, WebhookAttempt, WebhookEndpoint, WebhookMessage
from webhooks.secrets import secret_decrypt
from webhooks.selectors import webhook_backlog
from webhooks.services import (
    job_webhook_secret_get,
    webhook_endpoint_create,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_test_send,
)

S, R = JobStatus.SUBMITTING, JobStatus.RUNNING


def verify(secret: str, request) -> dict:
    """The standardwebhooks package's own verification of what the receiver got."""
    return Webhook(secret).verify(request.body, request.headers)


def endpoint_with(admin_actor, receiver, **kwargs) -> tuple[WebhookEndpoint, str]:
    return webhook_endpoint_create(tenant=admin_actor.tenant, actor=admin_actor, url=receiver.url, **kwargs)


def only_message(**filters) -> WebhookMessage:
    return WebhookMessage.objects.get(**filters)


def test_a_job_event_is_signed_per_standard_webhooks(admin_actor, receiver, tenant, tmp_path,
                                                     django_capture_on_commit_callbacks):
    endpoint, secret = endpoint_with(admin_actor, receiver)
    job = make_job(tenant, tmp_path)
    with django_capture_on_commit_callbacks() as callbacks:
        move(job, S, R, JobStatus.FAILED, error_code="provider_rejected", error_message="the face is too small")
    assert len(callbacks) == 1  # the delivery task is enqueued once the transition commits
    message = only_message(endpoint=endpoint)
    assert (message.event_type, message.job_id, message.status) == ("job.failed", job.id, "pending")

    outcome = webhook_message_send(message_id=message.pk)
    assert outcome.succeeded and outcome.status_code == 200
    [request] = receiver.received
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == message.msg_id
    assert request.headers["webhook-signature"].startswith("v1,")
    payload = verify(secret, request)
    assert payload["type"] == "job.failed" and payload["timestamp"].endswith("Z")
    assert payload["data"]["id"] == str(job.id) and payload["data"]["status"] == "failed"
    assert payload["data"]["error"] == {"code": "provider_rejected", "message": "the face is too small"}
    with pytest.raises(WebhookVerificationError):  # a forged body does not verify
        Webhook(secret).verify(request.body.replace(b"failed", b"succeeded"), request.headers)

    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.DELIVERED, 1)
    [attempt] = WebhookAttempt.objects.filter(endpoint=endpoint)
    assert (attempt.attempt, attempt.status_code, attempt.succeeded) == (1, 200, True)
    assert attempt.response_excerpt == "thanks"
    assert attempt.latency_ms >= 0
    assert webhook_message_send(message_id=message.pk) is None  # delivered: never sent twice
    assert len(receiver.received) == 1


def test_job_running_is_opt_in(admin_actor, receiver, tenant, tmp_path):
    finals, _ = endpoint_with(admin_actor, receiver)
    everything, _ = endpoint_with(admin_actor, receiver, events=["job.running", "job.succeeded"])
    job = make_job(tenant, tmp_path)
    move(job, S, R)
    assert [m.endpoint_id for m in WebhookMessage.objects.filter(event_type="job.running")] == [everything.pk]
    move(job, JobStatus.CANCELED)
    assert [m.endpoint_id for m in WebhookMessage.objects.filter(event_type="job.canceled")] == [finals.pk]


def test_the_event_is_rolled_back_with_the_status_change(admin_actor, receiver, tenant, tmp_path):
    endpoint_with(admin_actor, receiver)
    job = make_job(tenant, tmp_path)
    with pytest.raises(RuntimeError), transaction.atomic():
        move(job, JobStatus.CANCELED)
        raise RuntimeError("the caller's transaction fails")
    assert not WebhookMessage.objects.exists()


def test_other_modes_tenants_and_disabled_endpoints_get_nothing(admin_actor, receiver, tenant, other_tenant,
                                                                 tmp_path):
    from accounts.actors import Actor

    test_mode = Actor(tenant=tenant, role="admin", livemode=False)
    webhook_endpoint_create(tenant=tenant, actor=test_mode, url=receiver.url)
    other = Actor(tenant=other_tenant, role="admin")
    webhook_endpoint_create(tenant=other_tenant, actor=other, url=receiver.url)
    disabled, _ = endpoint_with(admin_actor, receiver)
    WebhookEndpoint.objects.filter(pk=disabled.pk).update(disabled_at=timezone.now())
    job = make_job(tenant, tmp_path)  # live
    move(job, JobStatus.CANCELED)
    assert not WebhookMessage.objects.exists()


def test_retries_after_500s_with_backoff_then_delivers(admin_actor, receiver, tenant):
    receiver.answer(500, (503, b"down for maintenance"), 200)
    endpoint, secret = endpoint_with(admin_actor, receiver)
    [message_id] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    start = timezone.now()
    with time_machine.travel(start, tick=True) as traveller:
        assert webhook_message_send(message_id=message_id).status_code == 500
        message = WebhookMessage.objects.get(pk=message_id)
        first_delay = message.next_attempt_at - timezone.now()
        assert message.status == "pending" and timedelta(seconds=25) < first_delay < timedelta(seconds=35)
        assert webhook_messages_due() == []  # not due yet

        traveller.move_to(message.next_attempt_at + timedelta(seconds=1))
        assert webhook_messages_due() == [message_id]  # the sweep hands it out...
        assert webhook_messages_due() == []  # ...once
        assert webhook_message_send(message_id=message_id).status_code == 503
        message.refresh_from_db()
        second_delay = message.next_attempt_at - timezone.now()
        assert timedelta(seconds=50) < second_delay < timedelta(seconds=70)  # doubled

        traveller.move_to(message.next_attempt_at + timedelta(seconds=1))
        assert webhook_message_send(message_id=message_id).succeeded
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("delivered", 3)
    log = list(WebhookAttempt.objects.filter(message_id=message_id).order_by("attempt"))
    assert [(a.attempt, a.status_code, a.succeeded) for a in log] == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert log[1].response_excerpt == "down for maintenance"
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # the same id on every attempt
    assert len({r.headers["webhook-timestamp"] for r in receiver.received}) == 3  # each attempt signed anew
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None) and endpoint.last_success_at


def _fail_until_final(message_id: int, traveller) -> list[WebhookAttempt]:
    while True:
        webhook_message_send(message_id=message_id)
        message = WebhookMessage.objects.get(pk=message_id)
        if message.status != "pending":
            return list(WebhookAttempt.objects.filter(message_id=message_id).order_by("attempt"))
        traveller.move_to(message.next_attempt_at + timedelta(seconds=1))


def test_retries_go_on_for_24_hours_then_stop(admin_actor, receiver, tenant, settings):
    settings.WEBHOOK_DISABLE_MIN_FAILURES = 10_000  # this test is about the message, not the endpoint
    receiver.answer(*[500] * 100)
    endpoint, _ = endpoint_with(admin_actor, receiver)
    [message_id] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    created = WebhookMessage.objects.get(pk=message_id).created_at
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        log = _fail_until_final(message_id, traveller)
    message = WebhookMessage.objects.get(pk=message_id)
    assert message.status == "failed" and message.last_error.startswith("gave up: HTTP 500")
    assert log[-1].created_at - created >= timedelta(hours=24)  # at least 24 hours of retries
    assert log[-2].created_at - created < timedelta(hours=24)
    gaps = [(b.created_at - a.created_at).total_seconds() for a, b in zip(log, log[1:], strict=False)]
    assert gaps[1] > 1.5 * gaps[0] and gaps[4] > 1.5 * gaps[3]  # exponential...
    assert max(gaps) <= 7200 * 1.1 + 5  # ...up to the 2 h cap
    assert 15 <= len(log) <= 30 and len(receiver.received) == len(log)


def test_an_endpoint_failing_for_24_hours_is_disabled_and_its_owner_emailed(
        admin_actor, receiver, tenant, tmp_path, django_capture_on_commit_callbacks):
    receiver.answer(*[500] * 100)
    endpoint, _ = endpoint_with(admin_actor, receiver)
    [first] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        for _ in range(10):  # ten failures in a row within minutes: not yet
            webhook_message_send(message_id=first)
            traveller.move_to(WebhookMessage.objects.get(pk=first).next_attempt_at + timedelta(seconds=1))
        endpoint.refresh_from_db()
        assert endpoint.enabled and endpoint.consecutive_failures == 10
        job = make_job(tenant, tmp_path)
        move(job, JobStatus.CANCELED)  # another event waits for the endpoint meanwhile
        waiting = WebhookMessage.objects.get(event_type="job.canceled")
        with django_capture_on_commit_callbacks(execute=True):
            _fail_until_final(first, traveller)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason.startswith("Disabled automatically")
    assert endpoint.disabled_at - endpoint.failing_since >= timedelta(hours=24)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.last_error) == ("failed", "endpoint disabled")
    [email] = mail.outbox
    assert email.to == [user_of(tenant).email]
    assert endpoint.url in email.subject and "enable the endpoint again" in email.body
    sent = len(receiver.received)
    move(make_job(tenant, tmp_path), JobStatus.CANCELED)
    assert WebhookMessage.objects.filter(event_type="job.canceled").count() == 1  # nothing new for it
    assert len(receiver.received) == sent


def test_rotation_signs_with_both_secrets_during_the_overlap(admin_actor, receiver, tenant):
    endpoint, old = endpoint_with(admin_actor, receiver)
    endpoint, new = webhook_endpoint_secret_rotate(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk,
                                                   overlap_s=3600)
    assert new != old and new.startswith("whsec_")
    [during] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    webhook_message_send(message_id=during)
    request = receiver.received[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify(new, request)["type"] == "webhook.test" and verify(old, request)["type"] == "webhook.test"

    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=5), tick=True):
        [after] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
        webhook_message_send(message_id=after)
        request = receiver.received[-1]
        assert len(request.headers["webhook-signature"].split(" ")) == 1
        assert verify(new, request)
        with pytest.raises(WebhookVerificationError):
            verify(old, request)


def test_rotation_without_overlap_drops_the_old_secret_at_once(admin_actor, receiver, tenant):
    endpoint, old = endpoint_with(admin_actor, receiver)
    _, new = webhook_endpoint_secret_rotate(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk, overlap_s=0)
    [message_id] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    webhook_message_send(message_id=message_id)
    assert verify(new, receiver.received[-1])
    with pytest.raises(WebhookVerificationError):
        verify(old, receiver.received[-1])


def test_the_secret_is_stored_encrypted(admin_actor, receiver):
    endpoint, secret = endpoint_with(admin_actor, receiver)
    stored = WebhookEndpoint.objects.get(pk=endpoint.pk).secret_encrypted
    assert secret not in stored and secret[6:] not in stored
    assert secret_decrypt(stored) == secret


def test_a_test_event_goes_to_that_endpoint_only(admin_actor, receiver, tenant):
    endpoint, secret = endpoint_with(admin_actor, receiver, events=["job.succeeded"])
    endpoint_with(admin_actor, receiver)
    [message_id] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    webhook_message_send(message_id=message_id)
    payload = verify(secret, receiver.received[-1])
    assert payload["type"] == "webhook.test" and payload["data"]["endpoint_id"] == endpoint.pk
    assert WebhookMessage.objects.count() == 1


def test_a_jobs_own_webhook_is_signed_with_the_tenants_job_webhook_secret(admin_actor, receiver, tenant, tmp_path):
    job = make_job(tenant, tmp_path, webhook=receiver.url + "?job=mine", webhook_events_filter=["start", "completed"])
    assert job.webhook_events_filter == ["job.running", "job.succeeded", "job.failed", "job.canceled"]
    move(job, S, R)
    move(job, JobStatus.CANCELED)
    messages = list(WebhookMessage.objects.order_by("id"))
    assert [(m.event_type, m.endpoint_id, m.url) for m in messages] == [
        ("job.running", None, receiver.url + "?job=mine"), ("job.canceled", None, receiver.url + "?job=mine")]
    for message in messages:
        webhook_message_send(message_id=message.pk)
    secret = job_webhook_secret_get(tenant=tenant, actor=admin_actor)
    assert [verify(secret, r)["type"] for r in receiver.received] == ["job.running", "job.canceled"]
    assert receiver.received[0].path == "/hooks?job=mine"


def test_a_jobs_own_webhook_defaults_to_the_final_events(receiver, tenant, tmp_path):
    job = make_job(tenant, tmp_path, webhook=receiver.url)
    move(job, S, R)
    assert not WebhookMessage.objects.exists()
    move(job, JobStatus.FAILED, error_code="x", error_message="y")
    assert list(WebhookMessage.objects.values_list("event_type", flat=True)) == ["job.failed"]


def test_the_response_excerpt_is_at_most_1_kb(admin_actor, receiver, tenant):
    receiver.answer((200, "é".encode() * 3000))
    endpoint, _ = endpoint_with(admin_actor, receiver)
    [message_id] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    webhook_message_send(message_id=message_id)
    excerpt = WebhookAttempt.objects.get().response_excerpt
    assert len(excerpt.encode()) <= 1024 and excerpt.startswith("éé")


def test_an_address_the_policy_no_longer_allows_is_never_called(admin_actor, receiver, tenant, settings):
    endpoint, _ = endpoint_with(admin_actor, receiver)
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    [message_id] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    outcome = webhook_message_send(message_id=message_id)
    assert outcome.status_code is None and "outbound-URL policy" in outcome.error
    assert receiver.received == []
    assert WebhookMessage.objects.get(pk=message_id).status == "pending"  # retried later, as any failure


def test_the_payload_is_json_and_the_same_on_every_attempt(admin_actor, receiver, tenant):
    receiver.answer(500)
    endpoint, _ = endpoint_with(admin_actor, receiver)
    [message_id] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    webhook_message_send(message_id=message_id)
    WebhookMessage.objects.filter(pk=message_id).update(next_attempt_at=timezone.now())
    webhook_message_send(message_id=message_id)
    first, second = receiver.received
    assert first.body == second.body and json.loads(first.body)["type"] == "webhook.test"


def test_a_redirect_is_not_followed(admin_actor, receiver, tenant):
    receiver.answer((302, b""))
    endpoint, _ = endpoint_with(admin_actor, receiver)
    [message_id] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    assert webhook_message_send(message_id=message_id).status_code == 302  # a failure, retried later
    assert len(receiver.received) == 1 and WebhookMessage.objects.get().status == "pending"


def test_the_sweep_hands_out_due_messages_and_forgets_old_finished_ones(admin_actor, receiver, tenant, monkeypatch):
    import webhooks.tasks

    handed: list[int] = []
    monkeypatch.setattr(webhooks.tasks, "async_task", lambda path, pk, **kw: handed.append(pk))
    endpoint, _ = endpoint_with(admin_actor, receiver)
    [old] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    webhook_message_send(message_id=old)
    [due] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    WebhookMessage.objects.filter(pk=due).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    WebhookMessage.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=31))
    assert webhooks.tasks.webhook_deliver_due_task() == 1 and handed == [due]
    assert list(WebhookMessage.objects.values_list("id", flat=True)) == [due]
    assert not WebhookAttempt.objects.exists()
    assert webhook_backlog().pending == 1


def test_a_status_change_costs_one_query_only_when_it_is_an_event(tenant, tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = make_job(tenant, tmp_path)
    with CaptureQueriesContext(connection) as submitting:
        move(job, S)
    with CaptureQueriesContext(connection) as running:
        move(job, R)
    assert not [q for q in submitting.captured_queries if "webhooks_" in q["sql"]]
    touching = [q["sql"] for q in running.captured_queries if "webhooks_" in q["sql"]]
    assert len(touching) == 1 and "webhooks_webhookendpoint" in touching[0]  # no endpoint: nothing written


def test_an_event_for_several_endpoints_is_one_enqueue_then_fans_out(admin_actor, receiver, tenant, tmp_path,
                                                                     monkeypatch, django_capture_on_commit_callbacks):
    import webhooks.events
    import webhooks.tasks

    enqueued: list[tuple] = []
    monkeypatch.setattr(webhooks.events, "async_task", lambda path, *ids, **kw: enqueued.append(ids))
    monkeypatch.setattr(webhooks.tasks, "async_task", lambda path, *ids, **kw: enqueued.append(ids))
    for _ in range(3):
        endpoint_with(admin_actor, receiver)
    job = make_job(tenant, tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        move(job, JobStatus.CANCELED)
    ids = tuple(WebhookMessage.objects.order_by("id").values_list("id", flat=True))
    assert enqueued == [ids]  # one enqueue on the job's path
    webhooks.tasks.webhook_deliver_task(*ids)
    assert enqueued[1:] == [(ids[1],), (ids[2],)]  # the worker hands the others out
    assert WebhookMessage.objects.get(pk=ids[0]).status == "delivered" and len(receiver.received) == 1


def test_a_worker_lost_mid_attempt_holds_the_message_only_until_its_lease_lapses(admin_actor, receiver, tenant):
    endpoint, _ = endpoint_with(admin_actor, receiver)
    [message_id] = webhook_endpoint_test_send(tenant=tenant, actor=admin_actor, endpoint_id=endpoint.pk)
    lease_end = timezone.now() + timedelta(seconds=60)  # as a worker killed right after its claim leaves it
    WebhookMessage.objects.filter(pk=message_id).update(claimed_until=lease_end)
    assert webhook_message_send(message_id=message_id) is None and receiver.received == []
    with time_machine.travel(lease_end + timedelta(seconds=1), tick=True):
        assert webhook_message_send(message_id=message_id).succeeded
    assert len(receiver.received) == 1 and WebhookMessage.objects.get(pk=message_id).status == "delivered"
