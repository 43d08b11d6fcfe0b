"""django-q2 tasks of webhooks: each calls one service and is safe to run twice."""

from __future__ import annotations

from django_q.tasks import async_task

from config.task_broker import shared_broker

from .delivery import webhook_log_purge, webhook_message_send, webhook_messages_due


def webhook_deliver_task(message_id: int, *more_ids: int) -> None:
    """One attempt at a message (enqueued when its event commits, then by the sweep). An event for
    several endpoints is enqueued once; the others get a task each here, so a slow endpoint never
    holds up another and the job's status change pays for one enqueue."""
    for pk in more_ids:
        async_task("webhooks.tasks.webhook_deliver_task", pk, task_name=f"webhook_deliver_task:{pk}",
                   broker=shared_broker())
    webhook_message_send(message_id=message_id)


def webhook_deliver_due_task() -> int:
    """The sweep, every minute (a django-q2 schedule made by the webhooks migrations): hand each
    message whose retry is due to a worker, and forget old finished ones. Returns how many it handed out."""
    webhook_log_purge()
    ids = webhook_messages_due()
    for pk in ids:
        async_task("webhooks.tasks.webhook_deliver_task", pk, task_name=f"webhook_deliver_task:{pk}",
                   broker=shared_broker())
    return len(ids)
