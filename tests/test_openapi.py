"""The OpenAPI schema is generated from the code and is the contract: it must build cleanly."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_builds_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(out), "--fail-on-warn", "--validate")
    text = out.read_text()
    for path in ("/api/v1/assets", "/api/v1/jobs", "/api/v1/jobs/{job_id}/cancel", "/api/v1/models"):
        assert f"{path}:" in text


@pytest.mark.django_db
def test_schema_is_served(member_client):
    response = member_client.get("/api/v1/schema")
    assert response.status_code == 200 and b"openapi" in response.content
