"""The OpenAPI schema tells the truth: real answers of every resource (jobs in each state, their video,
assets, models, quotes, usage, budgets, api-keys) and of the errors (400, 401, 402, 403, 404, 409,
415, 416) are checked against the schema served at /api/v1/schema, with schemathesis' response
validation: the status code and media type are documented and the body conforms.

The schema's own shape is pinned too: an own summary and description per operation, list endpoints
as cursor pages, the query parameters, the error answers, and each catalogue model's input."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
import requests
import schemathesis
from django.core.files import File
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.transport import Response as SchemathesisResponse

from accounts.apis import TenantApi
from accounts.models import Role
from billing.services import usage_record_create
from jobs.apis import JobListCreateApi
from jobs.models import Job, JobStatus
from providers.catalogue import catalogue_list
from providers.openapi import model_component_name
from tests.conftest import upload
from tests.jobs.test_apis import SUCCEEDED_PATH, create_job, move_to
from tests.media_fixtures import make_mp4, make_png

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw_schema(client) -> dict[str, Any]:
    response = client.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


class Conformance:
    """Checks Django test client answers against the served schema, operation found by path."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.schema = schemathesis.openapi.from_dict(raw)
        self.checked: set[tuple[str, str, int]] = set()

    def operation_of(self, path: str) -> str:
        for template in sorted(self.raw["paths"], key=lambda t: -len(re.sub(r"\{[^}]+\}", "", t))):
            pattern = re.sub(r"\\\{[^}]+\\\}", lambda m: ".+" if "model_id" in m.group(0) else "[^/]+",
                             re.escape(template))
            if re.fullmatch(pattern, path):
                return template
        raise AssertionError(f"{path} is in no path of the schema")

    def __call__(self, response: Any, status: int) -> Any:
        """Assert ``response`` has ``status`` and conforms; returns its JSON body (or bytes)."""
        request = response.wsgi_request
        assert response.status_code == status, (response.status_code, response.content[:500])
        template = self.operation_of(request.path)
        method = request.method.lower()
        documented = self.raw["paths"][template][method]["responses"]
        assert str(status) in documented, f"{method.upper()} {template} answers an undocumented {status}"
        content = b"".join(response.streaming_content) if response.streaming else response.content
        media = response.get("Content-Type", "").split(";")[0]
        if content:
            assert media in documented[str(status)].get("content", {}), (template, status, media)
        prepared = requests.Request(request.method, request.build_absolute_uri()).prepare()
        wrapped = SchemathesisResponse(
            status_code=response.status_code, headers={k.lower(): [v] for k, v in response.headers.items()},
            content=content, request=prepared, elapsed=0.0, verify=False,
        )
        self.schema[template][method.upper()].validate_response(wrapped)  # raises on a violation
        self.checked.add((method.upper(), template, status))
        return response.json() if media == "application/json" else content


@pytest.fixture
def conforms(raw_schema) -> Conformance:
    return Conformance(raw_schema)


def _succeeded(client, media: dict, tmp_path, tenant) -> dict:
    job = create_job(client, media["image"]["id"], media["audio"]["id"])
    row = Job.objects.get(pk=job["id"])
    with open(make_mp4(tmp_path / "out.mp4", seconds=1.0), "rb") as fh:
        row.output.save("out.mp4", File(fh), save=False)
    move_to(job["id"], *SUCCEEDED_PATH, output=row.output.name, output_duration_s=Decimal("1.000"),
            output_width=320, output_height=240, output_frames=25, output_size_bytes=row.output.size)
    usage_record_create(tenant=tenant, job_id=row.id, model_id=row.model_id, livemode=True, inputs=row.input,
                        quote_amount=row.quote_amount, seconds=Decimal("1.0"))
    return job


def test_real_answers_of_every_resource_conform(api_client, tenant, conforms, png_file, wav_file, tmp_path):
    owner = api_client(Role.OWNER)
    with open(png_file, "rb") as fh:
        media = {"image": conforms(owner.post("/api/v1/assets", {"file": fh}, format="multipart"), 201)}
    with open(wav_file, "rb") as fh:
        media["audio"] = conforms(owner.post("/api/v1/assets", {"file": fh}, format="multipart"), 201)
    conforms(owner.get(f"/api/v1/assets/{media['audio']['id']}"), 200)
    conforms(owner.get("/api/v1/assets", {"kind": "audio", "limit": 1}), 200)
    conforms(owner.get("/api/v1/assets"), 200)

    models = conforms(owner.get("/api/v1/models"), 200)["results"]
    assert {m["id"] for m in models} == {e.id for e in catalogue_list()}
    conforms(owner.get("/api/v1/models/fal-ai/ai-avatar/multi"), 200)

    body = {"model": "local/still", "input": {"image": media["image"]["id"], "audio": media["audio"]["id"]}}
    conforms(owner.post("/api/v1/quotes", body, format="json"), 200)
    queued = conforms(owner.post("/api/v1/jobs", body, format="json"), 201)
    conforms(owner.get(f"/api/v1/jobs/{queued['id']}"), 200)
    done = _succeeded(owner, media, tmp_path, tenant)
    failed = create_job(owner, media["image"]["id"], media["audio"]["id"])
    move_to(failed["id"], JobStatus.SUBMITTING, JobStatus.FAILED, error_code="provider_rejected",
            error_message="The provider refused the input.")
    for job in (done, failed):
        answer = conforms(owner.get(f"/api/v1/jobs/{job['id']}"), 200)
    assert answer["error"]["code"] == "provider_rejected"
    listed = conforms(owner.get("/api/v1/jobs", {"limit": 2}), 200)
    assert listed["next"] and len(listed["results"]) == 2
    conforms(owner.get(listed["next"]), 200)
    conforms(owner.get("/api/v1/jobs", {"status": "succeeded", "model": "local/still"}), 200)
    assert conforms(owner.get(f"/api/v1/jobs/{done['id']}"), 200)["charge"]["amount"]
    assert conforms(owner.get(f"/api/v1/jobs/{done['id']}/output"), 200)[:8].endswith(b"ftyp")
    assert len(conforms(owner.get(f"/api/v1/jobs/{done['id']}/output", HTTP_RANGE="bytes=0-9"), 206)) == 10
    conforms(owner.get(f"/api/v1/jobs/{done['id']}/output", HTTP_RANGE="bytes=999999999-"), 416)
    assert conforms(owner.post(f"/api/v1/jobs/{queued['id']}/cancel"), 200)["status"] == "canceled"

    usage = conforms(owner.get("/api/v1/usage", {"group_by": "model"}), 200)
    assert usage["groups"] and usage["total"]["amount"] != "0.00"
    assert conforms(owner.get("/api/v1/usage.csv"), 200).startswith(b"period,")
    conforms(owner.get("/api/v1/usage", {"format": "csv", "group_by": "api_key"}), 200)

    conforms(owner.get("/api/v1/budget"), 200)
    conforms(owner.put("/api/v1/budget", {"monthly_limit": "25.00"}, format="json"), 200)
    keys = conforms(owner.get("/api/v1/api-keys"), 200)["results"]
    created = conforms(owner.post("/api/v1/api-keys", {"name": "ci", "role": "viewer"}, format="json"), 201)
    assert created["secret"]
    conforms(owner.put(f"/api/v1/api-keys/{keys[0]['id']}/budget", {"monthly_limit": None}, format="json"), 200)
    conforms(owner.get(f"/api/v1/api-keys/{keys[0]['id']}/budget"), 200)
    conforms(owner.post(f"/api/v1/api-keys/{created['id']}/revoke"), 200)
    with open(png_file, "rb") as fh:  # the same content again: the asset already stored
        again = conforms(owner.post("/api/v1/assets", {"file": fh}, format="multipart"), 200)
    assert again["id"] == media["image"]["id"]
    spare = upload(owner, make_png(tmp_path / "spare.png", width=64))
    conforms(owner.delete(f"/api/v1/assets/{spare['id']}"), 204)


def test_real_error_answers_conform(api_client, client, tenant, other_tenant, conforms, png_file, wav_file):
    member, viewer = api_client(Role.MEMBER), api_client(Role.VIEWER)
    image, audio = upload(member, png_file), upload(member, wav_file)
    body = {"model": "local/still", "input": {"image": image["id"], "audio": audio["id"]}}
    job = conforms(member.post("/api/v1/jobs", body, format="json"), 201)

    errors = [
        (member.get("/api/v1/jobs", {"limit": "0"}), 400, "invalid"),
        (member.get("/api/v1/jobs", {"status": "lost"}), 400, "invalid"),
        (member.get("/api/v1/assets", {"cursor": "forged"}), 400, "invalid"),
        (member.get("/api/v1/usage", {"period": "2026-13"}), 400, "invalid"),
        (member.post("/api/v1/jobs", {"model": "local/still", "input": {"image": 5}}, format="json"), 400, "invalid"),
        (member.post("/api/v1/quotes", {"model": "no/such"}, format="json"), 400, "invalid"),
        (member.post("/api/v1/jobs", "{not json", content_type="application/json"), 400, "malformed_request"),
        (member.post("/api/v1/jobs", "model=x", content_type="text/plain"), 415, "unsupported_media_type"),
        (member.post("/api/v1/assets", {"file": ""}, format="multipart"), 400, "invalid"),
        (client.get("/api/v1/jobs"), 401, "unauthenticated"),
        (client.get("/api/v1/models", HTTP_AUTHORIZATION="Bearer prl_live_wrong"), 401, "unauthenticated"),
        (viewer.post("/api/v1/jobs", body, format="json"), 403, "forbidden"),
        (member.get("/api/v1/api-keys"), 403, "forbidden"),
        (member.put("/api/v1/budget", {"monthly_limit": "1.00"}, format="json"), 403, "forbidden"),
        (member.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000"), 404, "not_found"),
        (api_client(Role.MEMBER, other_tenant).get(f"/api/v1/jobs/{job['id']}"), 404, "not_found"),
        (member.get("/api/v1/models/no/such/model"), 404, "not_found"),
        (api_client(Role.OWNER).post("/api/v1/api-keys/999999/revoke"), 404, "not_found"),
        (member.get(f"/api/v1/jobs/{job['id']}/output"), 409, "job_not_finished"),
        (member.delete(f"/api/v1/assets/{image['id']}"), 409, "asset_in_use"),
    ]
    for response, status, code in errors:
        assert conforms(response, status)["error"]["code"] == code, response.content
    move_to(job["id"], JobStatus.SUBMITTING, JobStatus.FAILED)
    assert conforms(member.post(f"/api/v1/jobs/{job['id']}/cancel"), 409)["error"]["code"] == "job_not_cancelable"

    api_client(Role.OWNER).put("/api/v1/budget", {"monthly_limit": "0.00"}, format="json")
    refused = conforms(member.post("/api/v1/jobs", body, format="json"), 402)["error"]
    assert refused["code"] == "budget_exceeded" and refused["scope"] == "tenant"


# --- the schema's own shape ------------------------------------------------------------------------
def _operations(raw: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in raw["paths"].items() for m, op in ops.items()]


def test_each_operation_has_its_own_summary_and_description(raw_schema):
    base_doc = " ".join(TenantApi.__doc__.split())
    summaries = []
    for method, path, op in _operations(raw_schema):
        assert op.get("summary") and op.get("description"), (method, path)
        assert base_doc[:60] not in " ".join(op["description"].split()), (method, path)
        summaries.append(op["summary"])
    assert len(set(summaries)) == len(summaries) - 1  # /usage and /usage.csv are one operation


def test_lists_are_cursor_pages_with_their_parameters(raw_schema):
    schemas = raw_schema["components"]["schemas"]
    filters = {"/api/v1/jobs": {"status", "model", "expand"}, "/api/v1/assets": {"kind"},
               "/api/v1/api-keys": set()}
    for path, own in filters.items():
        op = raw_schema["paths"][path]["get"]
        page = schemas[op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
        assert set(page["required"]) == {"next", "previous", "results"} and page["properties"]["results"]["type"] \
            == "array", path
        params = {p["name"]: p for p in op["parameters"]}
        assert set(params) == {"limit", "cursor", *own}, path
        assert (params["limit"]["schema"]["minimum"], params["limit"]["schema"]["maximum"]) == (1, 100)
    assert {p["name"] for p in raw_schema["paths"]["/api/v1/usage"]["get"]["parameters"]} >= {"period", "group_by"}


def test_every_error_answer_is_documented_with_the_error_body(raw_schema):
    for method, path, op in _operations(raw_schema):
        errors = {code: answer for code, answer in op["responses"].items() if code >= "400"}
        assert {"401", "429"} <= set(errors), (method, path)
        if "{" in path:
            assert "404" in errors, (method, path)
        for code, answer in errors.items():
            if code != "416":
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "409" in raw_schema["paths"]["/api/v1/jobs/{job_id}/output"]["get"]["responses"]
    assert "402" in raw_schema["paths"]["/api/v1/jobs"]["post"]["responses"]


def test_each_model_input_is_a_component_of_the_job_body(raw_schema):
    schemas = raw_schema["components"]["schemas"]
    body = schemas["JobCreateInput"]
    assert body["discriminator"]["propertyName"] == "model"
    assert set(body["discriminator"]["mapping"]) == {e.id for e in catalogue_list()}
    body_fields = set(JobListCreateApi.InputSerializer().fields)  # what the view reads: every variant shows it
    for entry in catalogue_list():
        name = model_component_name(entry.id)
        assert schemas[f"{name}Input"]["properties"] == entry.input_schema["properties"]
        variant = schemas[f"{name}Job"]
        assert variant["properties"]["input"] == {"$ref": f"#/components/schemas/{name}Input"}
        assert body_fields <= set(variant["properties"]) and {"model", "input"} <= set(variant["required"])
    for path in ("/api/v1/jobs", "/api/v1/quotes"):
        assert raw_schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"] == \
            {"$ref": "#/components/schemas/JobCreateInput"}


def test_the_examples_are_valid_bodies(raw_schema):
    import jsonschema

    schemas = raw_schema["components"]["schemas"]
    examples = raw_schema["paths"]["/api/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert len(examples) >= 3
    for example in examples.values():
        value = example["value"]
        jsonschema.validate(value["input"], schemas[f"{model_component_name(value['model'])}Input"])


@pytest.mark.parametrize("change", [
    lambda body: body.update(status="lost"),  # not a job status
    lambda body: body.pop("quote"),  # a required property missing
    lambda body: body.update(created_at="yesterday"),  # not a date-time
])
def test_the_check_refuses_an_answer_the_schema_does_not_describe(member_client, conforms, change, png_file,
                                                                     wav_file):
    job = create_job(member_client, upload(member_client, png_file)["id"], upload(member_client, wav_file)["id"])
    response = member_client.get(f"/api/v1/jobs/{job['id']}")
    body = response.json()
    change(body)
    response.content = json.dumps(body).encode()
    with pytest.raises((Failure, FailureGroup)):
        conforms(response, 200)


def test_every_answer_example_conforms(conforms):
    """The examples a reader copies are answers the schema allows (error examples included)."""
    prepared = requests.Request("GET", "http://testserver/").prepare()
    checked = 0
    for method, path, op in _operations(conforms.raw):
        for status, answer in op["responses"].items():
            for example in answer.get("content", {}).get("application/json", {}).get("examples", {}).values():
                wrapped = SchemathesisResponse(
                    status_code=int(status), headers={"content-type": ["application/json"]}, request=prepared,
                    content=json.dumps(example["value"]).encode(), elapsed=0.0, verify=False)
                conforms.schema[path][method].validate_response(wrapped)
                checked += 1
    assert checked > 50
