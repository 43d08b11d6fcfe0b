"""The process's one django-q2 broker, for every task the apps enqueue.

django-q2's ``get_broker()`` (and ``async_task`` without ``broker=``) makes a new broker per call,
and with Redis a new client and connection each time: a TCP connect per task enqueued. A redis-py
client is safe between threads; a forked process (a django-q2 worker) makes its own."""

from __future__ import annotations

import os
import threading

from django_q.brokers import Broker, get_broker
from django_q.conf import Conf

_BROKERS: dict[tuple[int, str], Broker] = {}
_LOCK = threading.Lock()


def shared_broker() -> Broker:
    key = (os.getpid(), Conf.CLUSTER_NAME)
    broker = _BROKERS.get(key)
    if broker is None:
        with _LOCK:
            broker = _BROKERS.get(key) or get_broker()
            _BROKERS[key] = broker
    return broker
