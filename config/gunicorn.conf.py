"""Production settings of the web process: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

Slow clients are the danger to a thread-per-request server: a request whose body never arrives
holds its thread for as long as the client keeps the connection open. Production runs behind the
buffering proxy of ``deploy/nginx.conf``, which reads whole requests before passing them on; these
settings are the second line, for when a request reaches gunicorn directly:

- ``gthread`` workers: a connection that sends nothing is parked in the worker's poller instead of
  holding a thread (gunicorn waits 5 s for its first bytes);
- ``worker_connections`` equal to ``threads``: a worker whose threads are all busy stops accepting,
  so the other workers take new connections instead of queueing them behind stalled ones;
- ``pre_request``: once the headers are read, the socket gets an idle timeout, so a body (or a
  client that stops reading our answer) stalled for ``WEB_BODY_IDLE_TIMEOUT_S`` frees its thread
  (a few seconds later: gunicorn then tries to drain the body and closes the connection);
- header limits, and ``timeout``/``graceful_timeout`` for a worker that stops answering the arbiter.

Without the proxy, more stalled connections than ``workers * threads`` still make the others
wait for those timeouts; with it, gunicorn never sees a slow client.

Every value can be set from the environment; ``-b``/``--bind`` on the command line wins over ``bind``.
See https://docs.gunicorn.org/en/stable/settings.html and https://docs.gunicorn.org/en/stable/deploy.html.
"""

from __future__ import annotations

import os

bind = os.environ.get("WEB_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "16"))
worker_connections = threads

# Seconds a request's socket may stay idle (no body byte received, or no answer byte taken).
body_idle_timeout = float(os.environ.get("WEB_BODY_IDLE_TIMEOUT_S", "10"))
timeout = 30  # a worker silent this long (its main loop, not a request) is restarted
graceful_timeout = 30  # on SIGTERM, requests in flight get this long to finish
keepalive = 2  # behind the proxy, connections are not reused anyway

# Request line and headers: gunicorn's defaults, spelled out (a longer line answers 414).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# A restarted worker frees whatever a long life of uploads and probes left behind.
max_requests = 2000
max_requests_jitter = 200

# Each request is logged by the application (config/request_id.py: one line with its X-Request-Id,
# tenant, status and duration, JSON in production); gunicorn's own access log would repeat it.
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
# gunicorn's own lines (boot, worker restarts, timeouts) in the application's shape: JSON when
# LOG_FORMAT says so, or by default with DEBUG off, as config/settings.py decides for Django's.
_debug = os.environ.get("DEBUG", "1").strip().lower() in ("1", "true", "yes", "on", "y")
if os.environ.get("LOG_FORMAT", "plain" if _debug else "json") == "json":
    logconfig_dict = {  # merged into gunicorn's defaults (gunicorn.glogging.CONFIG_DEFAULTS)
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": ["console"]},
        "formatters": {"json": {"()": "config.log_format.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO" if accesslog else "WARNING", "handlers": ["console"],
                                "propagate": False},
        },
    }
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def pre_request(worker, req) -> None:  # noqa: ANN001
    """Bound the idle time of reading the body (and writing the answer) of this request."""
    sock = getattr(req.unreader, "sock", None)
    if sock is not None:
        sock.settimeout(body_idle_timeout)
    worker.log.debug("%s %s", req.method, req.path)


def child_exit(server, worker) -> None:  # noqa: ANN001
    """With prometheus_client's multiprocess mode on (``PROMETHEUS_MULTIPROC_DIR``), a dead worker's
    live gauges are dropped; its counters stay in the sums (see ops/scrape.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
