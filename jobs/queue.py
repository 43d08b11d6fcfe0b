"""Enqueueing worker tasks by dotted path, after the current transaction commits, so that
services never import tasks and a rolled-back job is never worked on."""

from __future__ import annotations

import os
import threading

from django.db import transaction
from django_q.brokers import Broker, get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

_BROKERS: dict[tuple[int, str], Broker] = {}
_LOCK = threading.Lock()


def enqueue_on_commit(task_path: str, *args: object) -> None:
    transaction.on_commit(lambda: async_task(task_path, *args, task_name=f"{task_path.rsplit('.', 1)[-1]}:{args[0]}",
                                             broker=shared_broker()))


def shared_broker() -> Broker:
    """The process's one broker: django-q2's ``get_broker()`` makes a new one per task, and with
    Redis a new client and connection each time (a TCP connect per job created). A redis-py
    client is safe between threads; a forked process makes its own."""
    key = (os.getpid(), Conf.CLUSTER_NAME)
    broker = _BROKERS.get(key)
    if broker is None:
        with _LOCK:
            broker = _BROKERS.get(key) or get_broker()
            _BROKERS[key] = broker
    return broker
