"""Budgets under concurrency, on PostgreSQL: 50 creations at once against a limit that admits 10.

Each thread has its own database connection and calls the real ``job_create`` service; exactly 10
jobs must be admitted and the other 40 refused with BudgetExceeded, whatever the interleaving."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from accounts.actors import Actor
from accounts.models import Role
from billing.budgets import BudgetExceeded, budget_set
from billing.models import Reservation, ReservationState
from jobs.models import Job
from jobs.services import job_create
from tests.conftest import upload

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL's row locks and real concurrent transactions (SQLite serializes all writers); "
           "run with DATABASE_URL=postgres://... as CI does",
)

THREADS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_creations_admit_exactly_ten(tenant, member_client, png_file, wav_file, monkeypatch):
    import jobs.queue

    monkeypatch.setattr(jobs.queue, "async_task", lambda *args, **kwargs: None)  # no worker here
    media = {"image": upload(member_client, png_file)["id"], "audio": upload(member_client, wav_file)["id"]}
    budget_set(tenant=tenant, actor=Actor.system(tenant), monthly_limit=Decimal("0.20"))  # 10 x 0.02
    actor = Actor(tenant=tenant, role=Role.MEMBER, livemode=True)
    barrier = threading.Barrier(THREADS)
    admitted: list[str] = []
    refused: list[BudgetExceeded] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create() -> None:
        try:
            barrier.wait(timeout=60)
            job = job_create(tenant=tenant, actor=actor, model_id="local/still", inputs=dict(media))
            with lock:
                admitted.append(str(job.id))
        except BudgetExceeded as exc:
            with lock:
                refused.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=create) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert (len(admitted), len(refused)) == (10, 40)
    assert Job.objects.filter(tenant=tenant).count() == 10
    held = Reservation.objects.filter(tenant=tenant, state=ReservationState.RESERVED)
    assert sorted(str(r.job_id) for r in held) == sorted(admitted)
    assert all(exc.status_code == 402 and exc.details["quote"] == "0.02" for exc in refused)
