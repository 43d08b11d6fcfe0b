"""GET /api/v1/usage (and its CSV): a month's spend in the key's mode, grouped by day, model or API
key, with refunds taken off; another tenant's or mode's entries never show; bad parameters are 400."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

import pytest

from accounts.models import ApiKey, ApiKeyMode, Role, User
from billing.models import UsageRecord
from billing.services import refund_create
from tests.billing.test_ledger import charge

pytestmark = pytest.mark.django_db

NOV = "2025-11"


def at(day: int, month: int = 11) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_user(email="staff@parley.example", password="pw-Secret-123", is_staff=True)


def refund(record: UsageRecord, amount: str, operator: User, when: datetime) -> None:
    with mock.patch("django.utils.timezone.now", return_value=when):
        refund_create(usage_record_id=record.pk, operator=operator, reason="test", amount=Decimal(amount))


@pytest.fixture
def ledger(tenant, other_tenant, operator) -> dict:
    """November 2025 of tenant: live charges on two days, two models, two keys (and one without a
    key); a refund; test-mode charges; a December charge; and another tenant's charge."""
    key_a = ApiKey.objects.create(tenant=tenant, name="server", prefix="prl_live_aaaa", hashed_key="a" * 64)
    key_b = ApiKey.objects.create(tenant=tenant, name="batch", prefix="prl_live_bbbb", hashed_key="b" * 64)
    first = charge(tenant, "1.00", model_id="local/still", api_key_id=key_a.pk, at=at(3))
    charge(tenant, "2.50", model_id="fal-ai/ai-avatar", api_key_id=key_b.pk, at=at(3))
    charge(tenant, "0.75", model_id="fal-ai/ai-avatar", api_key_id=None, at=at(17))
    refund(first, "0.40", operator, at(20))
    charge(tenant, "9.99", model_id="local/still", livemode=False, at=at(5))
    charge(tenant, "0.30", model_id="local/still", api_key_id=key_a.pk, at=at(1, month=12))
    charge(other_tenant, "7.00", model_id="local/still", at=at(3))
    return {"key_a": key_a, "key_b": key_b}


def groups(body: dict) -> dict:
    return {g["key"]: g for g in body["groups"]}


def test_by_day(api_client, ledger):
    response = api_client(Role.VIEWER).get(f"/api/v1/usage?period={NOV}&group_by=day")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["period"] == NOV and body["group_by"] == "day" and body["livemode"] is True
    assert body["total"] == {"amount": "3.85", "charged": "4.25", "refunded": "0.40", "currency": "usd"}
    assert len(body["groups"]) == 30  # every day of November, for a chart
    by_day = groups(body)
    assert by_day["2025-11-03"] == {"key": "2025-11-03", "label": "2025-11-03", "jobs": 2, "charged": "3.50",
                                    "refunded": "0.00", "amount": "3.50"}
    assert by_day["2025-11-17"]["amount"] == "0.75"
    assert by_day["2025-11-20"] == {"key": "2025-11-20", "label": "2025-11-20", "jobs": 0, "charged": "0.00",
                                    "refunded": "0.40", "amount": "-0.40"}  # a refund counts on its day
    assert by_day["2025-11-05"]["amount"] == "0.00"  # the test-mode charge is not here
    assert sum(Decimal(g["amount"]) for g in body["groups"]) == Decimal(body["total"]["amount"])


def test_by_model(api_client, ledger):
    body = api_client().get(f"/api/v1/usage?period={NOV}&group_by=model").json()
    assert [g["key"] for g in body["groups"]] == ["fal-ai/ai-avatar", "local/still"]  # largest first
    by_model = groups(body)
    assert (by_model["fal-ai/ai-avatar"]["amount"], by_model["fal-ai/ai-avatar"]["jobs"]) == ("3.25", 2)
    assert by_model["local/still"] == {"key": "local/still", "label": "local/still", "jobs": 1, "charged": "1.00",
                                       "refunded": "0.40", "amount": "0.60"}  # refunds reduce the sums
    assert body["total"]["amount"] == "3.85"


def test_by_api_key(api_client, ledger):
    body = api_client().get(f"/api/v1/usage?period={NOV}&group_by=api_key").json()
    by_key = groups(body)
    key_a, key_b = ledger["key_a"], ledger["key_b"]
    assert set(by_key) == {str(key_a.pk), str(key_b.pk), None}
    assert by_key[str(key_a.pk)]["amount"] == "0.60" and by_key[str(key_a.pk)]["label"] == "server (prl_live_aaaa…)"
    assert by_key[str(key_b.pk)]["amount"] == "2.50"
    assert by_key[None]["amount"] == "0.75" and "dashboard" in by_key[None]["label"]


def test_test_keys_see_test_usage_only(api_client, ledger):
    body = api_client(mode=ApiKeyMode.TEST).get(f"/api/v1/usage?period={NOV}&group_by=model").json()
    assert body["livemode"] is False
    assert body["total"]["amount"] == "9.99"
    assert [g["key"] for g in body["groups"]] == ["local/still"]


def test_another_period(api_client, ledger):
    body = api_client().get("/api/v1/usage?period=2025-12&group_by=model").json()
    assert body["period"] == "2025-12" and body["total"]["amount"] == "0.30"
    assert api_client().get("/api/v1/usage?period=2024-02&group_by=day").json()["total"]["amount"] == "0.00"
    assert len(api_client().get("/api/v1/usage?period=2024-02").json()["groups"]) == 29  # leap year; day default


def test_tenant_isolation(api_client, ledger, other_tenant):
    body = api_client(tenant_=other_tenant).get(f"/api/v1/usage?period={NOV}&group_by=api_key").json()
    assert body["total"]["amount"] == "7.00"
    assert [g["key"] for g in body["groups"]] == [None]


def test_this_month_by_default(api_client, tenant):
    charge(tenant, "0.20")
    body = api_client().get("/api/v1/usage").json()
    now = datetime.now(UTC)
    assert body["period"] == f"{now.year:04d}-{now.month:02d}" and body["group_by"] == "day"
    assert body["total"]["amount"] == "0.20"


@pytest.mark.parametrize("url", [f"/api/v1/usage.csv?period={NOV}&group_by=model",
                                 f"/api/v1/usage?period={NOV}&group_by=model&format=csv"])
def test_csv(api_client, ledger, url):
    response = api_client().get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="usage-{NOV}-model.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["key"] for r in rows] == ["fal-ai/ai-avatar", "local/still", "total"]
    assert rows[1] == {"period": NOV, "group_by": "model", "key": "local/still", "label": "local/still", "jobs": "1",
                       "charged": "1.00", "refunded": "0.40", "amount": "0.60", "currency": "usd",
                       "livemode": "true"}
    assert (rows[-1]["amount"], rows[-1]["jobs"]) == ("3.85", "3")


@pytest.mark.parametrize(("query", "field"), [
    ("period=2025-13", "period"), ("period=2025-1", "period"), ("period=november", "period"),
    ("period=", "period"), ("group_by=week", "group_by"), ("period=2025-11&group_by=tenant", "group_by"),
])
def test_bad_parameters_are_400_naming_the_field(api_client, query, field):
    for url in (f"/api/v1/usage?{query}", f"/api/v1/usage.csv?{query}"):
        response = api_client().get(url)
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "invalid" and set(error["fields"]) == {field}
        assert error["message"].startswith(f"{field}:")


def test_needs_a_key(client):
    assert client.get("/api/v1/usage").status_code == 401


def test_query_count_does_not_grow_with_entries(api_client, ledger, django_assert_max_num_queries):
    client = api_client()
    with django_assert_max_num_queries(6):  # auth + charges + refunds + key labels
        assert client.get(f"/api/v1/usage?period={NOV}&group_by=api_key").status_code == 200


def test_a_job_made_with_a_key_is_reported_under_that_key(api_client, tenant, png_file, wav_file):
    """End to end: the job layer tells billing which key made the job when it meters it."""
    from jobs import tasks
    from tests.conftest import upload

    client = api_client()
    image, audio = upload(client, png_file), upload(client, wav_file)
    created = client.post("/api/v1/jobs", {"model": "local/still", "input": {"image": image["id"],
                                                                           "audio": audio["id"]}}, format="json")
    assert created.status_code == 201, created.content
    tasks.job_submit_task(created.json()["id"])  # the local renderer delivers in the same worker
    record = UsageRecord.objects.get(job_id=created.json()["id"])
    key = ApiKey.objects.get(tenant=tenant, name="member key")
    assert record.api_key_id == key.pk
    body = client.get("/api/v1/usage?group_by=api_key").json()
    assert groups(body)[str(key.pk)]["amount"] == str(record.amount)
    assert body["total"]["amount"] == str(record.amount)
