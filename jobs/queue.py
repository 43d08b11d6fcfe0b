"""Enqueueing worker tasks by dotted path, after the current transaction commits, so that
services never import tasks and a rolled-back job is never worked on.

Inside a request, the push to the broker waits until the answer is sent (Django's
``request_finished``, which the WSGI server sends once it has written the response): the client
does not wait on the broker (a Redis round trip and django-q2's signing, about 0.9 ms of a job
creation's 12, ``bench/README.md``), and a broker that fails after the commit no longer turns a
job that exists into a 500 its client would retry. A push that never happens (the broker down, the
process killed in between) loses nothing: the job's ``next_attempt_at`` brings it to the poller's
dispatch (``jobs/pipeline/dispatch.py``), as for a worker lost mid-task. Elsewhere (workers, the
poller, commands) the push is made at the commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import transaction
from django_q.tasks import async_task

from config.task_broker import shared_broker

logger = logging.getLogger(__name__)

_REQUEST = threading.local()  # .pushes: the pushes waiting for this thread's answer to be sent


def enqueue_on_commit(task_path: str, *args: object) -> None:
    def push() -> None:
        async_task(task_path, *args, task_name=f"{task_path.rsplit('.', 1)[-1]}:{args[0]}", broker=shared_broker())

    transaction.on_commit(lambda: _push_when_answered(push))


def _push_when_answered(push: Callable[[], None]) -> None:
    pending = getattr(_REQUEST, "pushes", None)
    if pending is None:
        push()
    else:
        pending.append(push)


def request_pushes_hold(**kwargs: object) -> None:
    """``request_started``: this thread's pushes wait for its answer."""
    _REQUEST.pushes = []


def request_pushes_send(**kwargs: object) -> None:
    """``request_finished``: the answer is sent; push what the request enqueued."""
    pending, _REQUEST.pushes = getattr(_REQUEST, "pushes", None), None
    for push in pending or ():
        try:
            push()
        except Exception:  # noqa: BLE001 - the job is not lost: the poller dispatches it when due
            logger.exception("A task could not be queued after the answer was sent; the poller will dispatch it.")
