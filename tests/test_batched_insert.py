"""config/batched_insert.py: new rows of several models in one round trip (PostgreSQL), one by one
elsewhere, with the values save() would have written, and all or nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import Reservation
from config.batched_insert import insert_together
from jobs.models import Job, JobEvent


def _rows(tenant, job_id: uuid.UUID | None = None) -> tuple[Job, JobEvent, Reservation]:  # noqa: ANN001
    job = Job(tenant=tenant, model_id="local/still", provider="local", input={"text": "50% off; 'quoted'"},
              livemode=True, quote_seconds=Decimal("2.000"), quote_amount=Decimal("0.02"))
    if job_id is not None:
        job.id = job_id
    event = JobEvent(tenant_id=tenant.pk, job=job, from_status="queued", to_status="queued", message="made",
                     data={"quote": {"amount": "0.02"}})
    reservation = Reservation(tenant=tenant, job_id=job.id, amount=Decimal("0.02"), currency="usd")
    return job, event, reservation


@pytest.mark.django_db
def test_rows_are_written_with_what_save_would_write(tenant):
    job, event, reservation = _rows(tenant)
    with transaction.atomic():
        insert_together([reservation, job, event])
    stored = Job.objects.get(pk=job.pk)
    assert stored.input == {"text": "50% off; 'quoted'"}  # a literal % and quotes survive the one query
    assert stored.quote_amount == Decimal("0.02") and stored.status == "queued"
    assert stored.created_at == job.created_at is not None  # auto_now_add set on the instance too
    assert not job._state.adding and job._state.db == "default"
    assert JobEvent.objects.get(job=stored).data == {"quote": {"amount": "0.02"}}
    assert Reservation.objects.get(job_id=job.pk).amount == Decimal("0.02")


@pytest.mark.django_db
def test_postgresql_gets_them_in_one_statement(tenant):
    if connection.vendor != "postgresql":
        pytest.skip("one round trip is PostgreSQL's (psycopg's client-side binding); "
                    "SQLite makes a bulk INSERT per model")
    job, event, reservation = _rows(tenant)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        insert_together([reservation, job, event])
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(statements) == 1 and statements[0].count("INSERT INTO") == 3


@pytest.mark.django_db
def test_a_failing_row_leaves_none_of_them(tenant):
    first, _, _ = _rows(tenant)
    first.save()
    job, event, reservation = _rows(tenant)
    clash, _, _ = _rows(tenant, job_id=first.id)  # the same primary key: the last statement fails
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_together([reservation, job, event, clash])
    assert not Job.objects.filter(pk=job.pk).exists()
    assert not JobEvent.objects.filter(job_id=job.pk).exists() and not Reservation.objects.exists()
