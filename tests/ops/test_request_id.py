"""X-Request-Id: on every answer (API, dashboard, 404s, errors, the health checks), a sane incoming
id kept, anything else replaced; the same id on the request's log lines, with its tenant."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from accounts.models import Role
from config.log_context import current_log_context
from config.log_format import JsonFormatter
from config.request_id import request_id_from

HEX32 = r"^[0-9a-f]{32}$"


@pytest.mark.parametrize("value, kept", [
    ("abc-123_X.y", True),
    ("a" * 128, True),
    ("a" * 129, False),
    ("", False),
    ("has space", False),
    ("semi;colon", False),
    ("new\nline", False),
    ("é", False),
])
def test_which_incoming_ids_are_kept(value, kept):
    result = request_id_from(value)
    assert (result == value) is kept
    if not kept:
        assert len(result) == 32 and int(result, 16) >= 0


@pytest.mark.django_db
def test_every_kind_of_answer_carries_one(member_client, tenant):
    plain = Client()
    answers = {
        "api": member_client.get("/api/v1/models"),
        "api 404": member_client.get("/api/v1/nope"),
        "api 401": plain.get("/api/v1/jobs"),
        "dashboard redirect": plain.get("/"),
        "sign-in page": plain.get("/accounts/login/"),
        "404 page": plain.get("/no-such-page"),
        "healthz": plain.get("/healthz"),
    }
    ids = set()
    for name, response in answers.items():
        rid = response.headers.get("X-Request-Id", "")
        assert len(rid) == 32, (name, response.status_code, rid)
        ids.add(rid)
    assert len(ids) == len(answers)  # one each


@pytest.mark.django_db
def test_a_500_carries_one(settings):
    from django.urls import path

    import config.urls

    def boom(request):  # noqa: ANN001, ANN202
        raise RuntimeError("boom")

    urlconf = type("urlconf", (), {"urlpatterns": [path("boom", boom), *config.urls.urlpatterns]})
    settings.ROOT_URLCONF = urlconf
    response = Client(raise_request_exception=False).get("/boom", HTTP_X_REQUEST_ID="trace-500")
    assert response.status_code == 500
    assert response["X-Request-Id"] == "trace-500"


@pytest.mark.django_db
def test_a_sane_incoming_id_is_kept_and_a_bad_one_replaced(member_client):
    kept = member_client.get("/api/v1/models", HTTP_X_REQUEST_ID="lb-7f3a.01_x")
    assert kept["X-Request-Id"] == "lb-7f3a.01_x"
    replaced = member_client.get("/api/v1/models", HTTP_X_REQUEST_ID="<script>" + "x" * 200)
    assert replaced["X-Request-Id"] != "<script>" + "x" * 200 and len(replaced["X-Request-Id"]) == 32


@pytest.mark.django_db
def test_log_lines_carry_the_request_and_tenant_ids(api_client, tenant, caplog):
    client = api_client(Role.MEMBER)
    with caplog.at_level(logging.INFO, logger="parley.requests"):
        response = client.get("/api/v1/jobs", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200
    (record,) = [r for r in caplog.records if r.name == "parley.requests"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42"
    assert line["tenant_id"] == str(tenant.pk)
    assert line["status"] == 200 and line["path"] == "/api/v1/jobs" and line["method"] == "GET"
    assert "job_id" not in line


@pytest.mark.django_db
def test_the_context_ends_with_the_request(member_client):
    before = current_log_context()
    member_client.get("/api/v1/models", HTTP_X_REQUEST_ID="first")
    assert current_log_context() == before  # the request's id and tenant are not left bound
    assert "first" not in before.values()


@pytest.mark.django_db
def test_one_line_per_request_even_for_a_404(caplog):
    with caplog.at_level(logging.INFO):
        response = Client().get("/no-such-page", HTTP_X_REQUEST_ID="r404")
    assert response.status_code == 404
    lines = [r for r in caplog.records if r.name in ("parley.requests", "django.request")]
    assert [(r.name, r.levelname, r.request_id) for r in lines] == [("parley.requests", "WARNING", "r404")]
