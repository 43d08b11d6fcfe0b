"""The two shapes of a log line: JSON (one object a line, production's default) and plain text
(development's), both carrying the request, tenant and job ids that ``LogContextFilter`` put on the
record. ``LOG_FORMAT`` picks one (config/settings.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from .log_context import FIELDS


class JsonFormatter(_LibraryJsonFormatter):
    """``{"time", "level", "logger", "message", "request_id"?, "tenant_id"?, "job_id"?, ...}``:
    ids only when bound, anything passed as ``extra=`` as further keys, the traceback as
    ``exc_info``. Times are UTC, ISO 8601 with milliseconds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", False)
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        super().add_fields(log_data, record, message_dict)
        for name in FIELDS:  # unbound ids are left out rather than written as null
            if log_data.get(name) is None:
                log_data.pop(name, None)


class PlainFormatter(logging.Formatter):
    """``2026-11-30 01:02:03,456 INFO jobs.poller message [request=... tenant=... job=...]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{name.removesuffix('_id')}={value}" for name in FIELDS
                       if (value := getattr(record, name, None)) is not None)
        if not ids:
            return line
        head, sep, tail = line.partition("\n")  # after the message, before any traceback
        return f"{head} [{ids}]{sep}{tail}"
