"""Log lines as JSON objects (production) or text (development), with the request, tenant and job
ids of the moment they were written; the worker's tasks and the poller bind the job's."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from config.log_context import current_log_context, log_context
from config.log_format import JsonFormatter, PlainFormatter
from config.settings import BASE_DIR
from jobs.models import Job, JobStatus


def _record(msg: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    return logging.getLogger("test.logs").makeRecord("test.logs", logging.INFO, __file__, 1, msg, args or ("you",),
                                                     None, extra=extra or None)


def test_json_lines_carry_the_bound_ids():
    with log_context(request_id="r1", tenant_id="t1"), log_context(job_id="j1"):
        record = _record(custom=7)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello you" and line["level"] == "INFO" and line["logger"] == "test.logs"
    assert (line["request_id"], line["tenant_id"], line["job_id"]) == ("r1", "t1", "j1")
    assert line["custom"] == 7
    assert line["time"].endswith("+00:00")


def _in_a_fresh_context(fn):  # noqa: ANN001, ANN202 - whatever another test left bound in this thread
    return contextvars.Context().run(fn)


def test_json_lines_leave_out_unbound_ids_and_keep_the_traceback():
    def make() -> logging.LogRecord:
        try:
            raise ValueError("bad")
        except ValueError:
            return logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    record = _in_a_fresh_context(make)
    line = json.loads(JsonFormatter().format(record))
    assert not {"request_id", "tenant_id", "job_id"} & set(line)
    assert "ValueError: bad" in line["exc_info"]


def test_plain_lines_name_the_ids_after_the_message():
    def make() -> logging.LogRecord:
        with log_context(request_id="r1", job_id="j1"):
            return _record()

    record = _in_a_fresh_context(make)
    text = PlainFormatter().format(record)
    assert text.endswith("INFO test.logs hello you [request=r1 job=j1]")


def test_the_bindings_end_with_the_block():
    def make() -> logging.LogRecord:
        with log_context(job_id="j1"):
            assert _record().job_id == "j1"
        return _record()

    record = _in_a_fresh_context(make)
    assert record.job_id is None and record.request_id is None


@pytest.mark.django_db
@pytest.mark.parametrize("task, step", [("job_submit_task", "job_submit"), ("job_finalize_task", "job_finalize"),
                                        ("job_provider_cancel_task", "job_provider_cancel")])
def test_a_task_binds_its_job_and_tenant(tenant, monkeypatch, task, step):
    import jobs.tasks

    job = Job.objects.create(tenant=tenant, model_id="fal-ai/ai-avatar", provider="fal", status=JobStatus.SUCCEEDED,
                             input={}, quote_seconds=Decimal("5"), quote_amount=Decimal("1"), emulated=True)
    seen: list[dict[str, str]] = []
    monkeypatch.setattr(jobs.tasks, step, lambda *, job_id: seen.append(current_log_context()))
    getattr(jobs.tasks, task)(str(job.pk))
    assert [(c.get("job_id"), c.get("tenant_id")) for c in seen] == [(str(job.pk), str(tenant.pk))]
    assert "job_id" not in current_log_context()


@pytest.mark.django_db
def test_the_poller_binds_the_job_it_dispatches(tenant, monkeypatch):
    from jobs.pipeline import dispatch

    job = Job.objects.create(tenant=tenant, model_id="fal-ai/ai-avatar", provider="fal", status=JobStatus.FINALIZING,
                             input={}, quote_seconds=Decimal("5"), quote_amount=Decimal("1"), emulated=True)
    seen: list[dict[str, str]] = []
    # What the step does is not the point here (the pipeline tests cover it): what is bound while it runs.
    monkeypatch.setattr(dispatch, "enqueue_on_commit", lambda path, *args: seen.append(current_log_context()))
    assert dispatch.job_dispatch_due(job=job) == "finalize"
    assert [(c.get("job_id"), c.get("tenant_id")) for c in seen] == [(str(job.pk), str(tenant.pk))]
    assert "job_id" not in current_log_context()


def _settings_logging(**env: str) -> dict:
    code = ("import django, json; django.setup(); from django.conf import settings; "
            "print(json.dumps([settings.LOG_FORMAT, settings.LOGGING['handlers']['console']['formatter']]))")
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "LOG_FORMAT", "SECRET_KEY")}
    out = subprocess.run([sys.executable, "-c", code], env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
                         cwd=BASE_DIR, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_development_reads_text_production_writes_json():
    assert _settings_logging() == ["plain", "plain"]
    assert _settings_logging(LOG_FORMAT="json") == ["json", "json"]
    assert _settings_logging(DEBUG="0", SECRET_KEY="x" * 60) == ["json", "json"]


def test_a_process_writes_json_lines_to_stderr():
    code = ("import django, logging; django.setup(); from config.log_context import log_context\n"
            "with log_context(job_id='j9'):\n    logging.getLogger('jobs.poller').warning('slow %s', 3)")
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "LOG_FORMAT")}
    out = subprocess.run([sys.executable, "-c", code], env={**base, "DJANGO_SETTINGS_MODULE": "config.settings",
                                                           "LOG_FORMAT": "json"},
                         cwd=BASE_DIR, capture_output=True, text=True, check=True)
    line = json.loads(out.stderr.strip().splitlines()[-1])
    assert line["message"] == "slow 3" and line["job_id"] == "j9" and line["level"] == "WARNING"
