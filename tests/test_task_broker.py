"""config/task_broker.py: every task the apps enqueue goes through the process's one broker, so a
task costs a push on an open connection, not a new Redis client and TCP connect."""

from __future__ import annotations

import pytest
from django.db import transaction

import jobs.queue
import webhooks.events
import webhooks.tasks
from config.task_broker import shared_broker
from ops.broker import broker_queue_depth


def test_one_broker_per_process():
    assert shared_broker() is shared_broker()


@pytest.mark.django_db(transaction=True)
def test_jobs_and_webhooks_enqueue_through_it(monkeypatch):
    brokers: list[object] = []

    def record(path, *args, broker=None, **kwargs):  # noqa: ANN001, ANN002, ANN003
        brokers.append(broker)

    for module in (jobs.queue, webhooks.events, webhooks.tasks):
        monkeypatch.setattr(module, "async_task", record)
    monkeypatch.setattr(webhooks.tasks, "webhook_message_send", lambda **kwargs: None)
    with transaction.atomic():
        jobs.queue.enqueue_on_commit("jobs.tasks.job_submit_task", "a-job")
    webhooks.tasks.webhook_deliver_task(1, 2, 3)  # fans out the other two messages
    assert len(brokers) == 3 and all(b is shared_broker() for b in brokers)


@pytest.mark.django_db
def test_the_queue_depth_is_read_from_it():
    broker = shared_broker()
    broker.purge_queue()
    broker.enqueue("a task")
    try:
        assert broker_queue_depth() == 1
    finally:
        broker.purge_queue()
