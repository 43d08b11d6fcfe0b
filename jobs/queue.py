"""Enqueueing worker tasks by dotted path, after the current transaction commits, so that
services never import tasks and a rolled-back job is never worked on."""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task


def enqueue_on_commit(task_path: str, *args: object) -> None:
    transaction.on_commit(lambda: async_task(task_path, *args, task_name=f"{task_path.rsplit('.', 1)[-1]}:{args[0]}"))
