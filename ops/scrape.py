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

from django.conf import settings
from django.http import HttpRequest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

from .metrics import PlatformCollector

_platform_registry = CollectorRegistry(auto_describe=False)
_platform_registry.register(PlatformCollector())


def metrics_text() -> bytes:
    """The Prometheus text exposition of every metric, as a scrape of this process answers it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
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
