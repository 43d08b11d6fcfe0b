"""What every log line says it is about: the request id, the tenant id and the job id, held in a
context variable that the request-id middleware, the API's authentication, the job pipeline's tasks
and the poller set, and that ``LogContextFilter`` copies onto each log record.

A context variable rather than a thread-local: it follows the code into ``asyncio`` tasks and is
copied into threads started with ``contextvars.copy_context()``; a WSGI thread reuses its context
from one request to the next, so whoever binds fields undoes them (``log_context`` as a ``with``,
or the middleware resetting its token)."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

FIELDS = ("request_id", "tenant_id", "job_id")

_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "parley_log_context", default=MappingProxyType({})
)


def current_log_context() -> dict[str, str]:
    """The fields bound now (a copy)."""
    return dict(_context.get())


def bind_log_context(**fields: object) -> contextvars.Token:
    """Add fields to the current context until the returned token is reset (or, inside a
    ``log_context`` block or a request, until it ends). ``None`` values are left out."""
    values = {k: str(v) for k, v in fields.items() if v is not None}
    return _context.set({**_context.get(), **values})


def reset_log_context(token: contextvars.Token) -> None:
    _context.reset(token)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """``with log_context(job_id=...)``: the fields are on every log line written inside."""
    token = bind_log_context(**fields)
    try:
        yield
    finally:
        _context.reset(token)


def _stamp(record: logging.LogRecord) -> None:
    bound = _context.get()
    for name in FIELDS:
        if getattr(record, name, None) is None:
            setattr(record, name, bound.get(name))


def install_record_factory() -> None:
    """Stamp the bound fields on every record when it is made, so that every handler (the console,
    a test's capture, Sentry's) sees the ids of the moment the line was logged. Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "parley_log_context", False):
        return

    def make_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _stamp(record)
        return record

    make_record.parley_log_context = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


class LogContextFilter(logging.Filter):
    """The console handler's filter (settings.LOGGING): made when logging is configured, it installs
    the record factory, and fills the fields of any record made before that."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        install_record_factory()

    def filter(self, record: logging.LogRecord) -> bool:
        _stamp(record)
        return True
