"""Live creations under concurrency, on PostgreSQL: 50 at once against a limit that admits 10, and
against a credit whose rest admits 5.

Each thread has its own database connection and calls the real ``job_create`` service; exactly as
many jobs as fit must be admitted and the others refused (402), whatever the interleaving."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from accounts.actors import Actor
from accounts.models import Role
from billing.budgets import BudgetExceeded, budget_set
from billing.models import Reservation, ReservationState, StripeAccount
from billing.stripe_client import PaymentRequired
from jobs.models import Job
from jobs.services import job_create
from tests.billing.test_stripe_outbox import _usage
from tests.conftest import upload

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL's row locks and real concurrent transactions (SQLite serializes all writers); "
           "run with DATABASE_URL=postgres://... as CI does",
)

THREADS = 50


def _race(tenant, member_client, png_file, wav_file) -> tuple[list[str], list[Exception]]:  # noqa: ANN001
    """THREADS live creations released at once, each on its own connection: (admitted job ids,
    the refusals). Any other exception fails the test."""
    media = {"image": upload(member_client, png_file)["id"], "audio": upload(member_client, wav_file)["id"]}
    actor = Actor(tenant=tenant, role=Role.MEMBER, livemode=True)
    barrier = threading.Barrier(THREADS)
    admitted: list[str] = []
    refused: list[Exception] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create() -> None:
        try:
            barrier.wait(timeout=60)
            job = job_create(tenant=tenant, actor=actor, model_id="local/still", inputs=dict(media))
            with lock:
                admitted.append(str(job.id))
        except (BudgetExceeded, PaymentRequired) as exc:
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
    return admitted, refused


@pytest.fixture
def no_worker(monkeypatch):
    import jobs.queue

    monkeypatch.setattr(jobs.queue, "async_task", lambda *args, **kwargs: None)


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_creations_admit_exactly_ten(tenant, member_client, png_file, wav_file, no_worker):
    budget_set(tenant=tenant, actor=Actor.system(tenant), monthly_limit=Decimal("0.20"))  # 10 x 0.02
    admitted, refused = _race(tenant, member_client, png_file, wav_file)
    assert (len(admitted), len(refused)) == (10, 40)
    assert Job.objects.filter(tenant=tenant).count() == 10
    held = Reservation.objects.filter(tenant=tenant, state=ReservationState.RESERVED)
    assert sorted(str(r.job_id) for r in held) == sorted(admitted)
    assert all(isinstance(exc, BudgetExceeded) and exc.details["quote"] == "0.02" for exc in refused)


@pytest.mark.django_db(transaction=True)
def test_the_last_of_the_credit_is_not_spent_twice_by_simultaneous_creations(
        tenant, member_client, png_file, wav_file, no_worker):
    """No plan and no budget: the credit alone bounds live jobs. 4.90 of the 5.00 allowance is spent,
    so jobs start while spend and holds stay under 5.00: at 4.90, 4.92, 4.94, 4.96 and 4.98; five.
    The tenant's row serializes them (billing/admission.py), as a budget row did only when one existed."""
    StripeAccount.objects.create(tenant=tenant)  # billing knows the tenant: the no-plan rule applies
    _usage(tenant, amount="4.90")
    admitted, refused = _race(tenant, member_client, png_file, wav_file)
    assert (len(admitted), len(refused)) == (5, 45)
    assert all(isinstance(exc, PaymentRequired) for exc in refused)
    held = Reservation.objects.filter(tenant=tenant, state=ReservationState.RESERVED)
    assert sorted(str(r.job_id) for r in held) == sorted(admitted)
