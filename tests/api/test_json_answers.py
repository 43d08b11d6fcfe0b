"""Every answer under /api/ is JSON: an unknown path (any method, with or without a key, CSRF
checks on as in production) is a JSON 404, a known path with a method it lacks a JSON 405."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Role

pytestmark = pytest.mark.django_db

METHODS = ["get", "post", "put", "patch", "delete", "head", "options"]


def _client(secret: str | None = None) -> Client:
    client = Client(enforce_csrf_checks=True)  # as a real server: Django's test client skips CSRF otherwise
    if secret:
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/jobs/not-a-uuid", "/api/v2/jobs", "/api", "/api/"])
def test_unknown_paths_are_json_404_for_every_method(api_client, method, path):
    for secret in (None, api_client(Role.MEMBER).secret):
        body = {} if method in ("get", "head") else {"data": "{}", "content_type": "application/json"}
        response = getattr(_client(secret), method)(path, **body)
        assert response.status_code == 404, (method, path, response.content[:200])
        assert response["Content-Type"] == "application/json"
        if method != "head":
            error = response.json()["error"]
            assert error["code"] == "not_found"
            assert method.upper() in error["message"] and path in error["message"]


def test_a_post_to_an_unknown_path_is_not_a_csrf_403():
    response = _client().post("/api/v1/jobs/123e4567-e89b-12d3-a456-426614174000/explode",
                              data={"a": "b"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "path"), [
    ("patch", "/api/v1/jobs"), ("delete", "/api/v1/jobs"), ("put", "/api/v1/assets"),
    ("post", "/api/v1/models"), ("delete", "/api/v1/jobs/123e4567-e89b-12d3-a456-426614174000"),
    ("post", "/api/v1/schema"), ("put", "/api/v1/quotes"),
])
def test_a_known_path_with_an_unknown_method_is_json_405(api_client, method, path):
    response = getattr(_client(api_client(Role.ADMIN).secret), method)(path, data="{}", content_type="application/json")
    assert response.status_code == 405, response.content[:200]
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert method.upper() not in response["Allow"]

