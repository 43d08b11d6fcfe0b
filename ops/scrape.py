"""What /metrics answers and who may read it.

The answer is two registries' text: the process-level one (django-prometheus's request and
response metrics, the provider request histogram, the Python process) and ours
(``ops.metrics.PlatformCollector``, from the database). With ``PROMETHEUS_MULTIPROC_DIR`` set, the
first is prometheus_client's multiprocess view instead: the sum over every process of the machine
that shares the folder (gunicorn workers, qcluster, job_poller), which is how the provider
latencies measured in the workers reach a scrape of the web process
(https://prometheus.github.io/client_python/multiprocess/).

Access: a client whose address (``REMOTE_ADDR``, never a forwarded header a client can write) is in
``METRICS_ALLOWED_NETWORKS``, or one sending ``Authorization: Bearer <METRICS_TOKEN>``."""

from __future__ import annotations

import hmac
import ipaddress
import os
import re

from django.conf import settings
from django.http import HttpRequest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

from .metrics import PlatformCollector

_platform_registry = CollectorRegistry(auto_describe=False)
_platform_registry.register(PlatformCollector())


_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w*_(\d+)\.db$")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def dead_processes_forget(folder: str) -> None:
    """Drop the live gauges (``livesum``, ``livemax``...) of the machine's processes that died
    without saying so: a SIGKILLed poller's held jobs must leave the sum. gunicorn's ``child_exit``
    hook does this for the web workers; nothing runs when a poller or a worker is killed, so every
    scrape looks (the folder is one machine's, so its process ids are this machine's)."""
    for name in os.listdir(folder):
        found = _LIVE_GAUGE_FILE.match(name)
        if found and not _running(int(found[1])):
            multiprocess.mark_process_dead(int(found[1]), folder)


class _MachineCollector:
    """prometheus_client's sum over the processes sharing ``folder``, without the dead ones' live gauges."""

    def __init__(self, folder: str) -> None:
        self._folder = folder
        self._sum = multiprocess.MultiProcessCollector(None, path=folder)

    def collect(self):  # noqa: ANN201 - prometheus_client's collector protocol
        dead_processes_forget(self._folder)
        return self._sum.collect()


def machine_registry(folder: str) -> CollectorRegistry:
    """A registry answering the sum over this machine's processes (``PROMETHEUS_MULTIPROC_DIR``)."""
    registry = CollectorRegistry()
    registry.register(_MachineCollector(folder))
    return registry


def metrics_text() -> bytes:
    """The Prometheus text exposition of every metric, as a scrape of this process answers it."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    processes = machine_registry(folder) if folder else REGISTRY
    return generate_latest(processes) + generate_latest(_platform_registry)


def metrics_access(request: HttpRequest) -> str:
    """``"allowed"``; ``"forbidden"`` for a wrong bearer token; ``"hidden"`` for anyone else
    (answered 404, so the endpoint's existence is not advertised)."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = settings.METRICS_TOKEN
        if token and hmac.compare_digest(auth.removeprefix("Bearer ").strip().encode(), token.encode()):
            return "allowed"
        return "forbidden"
    if _address_allowed(request.META.get("REMOTE_ADDR", "")):
        return "allowed"
    return "hidden"


def _address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in settings.METRICS_ALLOWED_NETWORKS:
        try:
            if ip in ipaddress.ip_network(network.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False
