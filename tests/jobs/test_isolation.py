"""Tenants never see each other: another tenant's asset or job is 404 (never 403) everywhere, lists
hold only one's own rows, and a job cannot name another tenant's asset. Signed file URLs open one
asset, and only while they are valid."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core import signing
from django.core.files import File
from rest_framework.test import APIClient

from accounts.models import Role
from jobs.models import Asset, Job, JobStatus
from jobs.signed_urls import asset_signed_url
from tests.conftest import upload
from tests.media_fixtures import make_mp4, make_png, make_wav


@pytest.fixture
def a_client(api_client, tenant) -> APIClient:
    return api_client(Role.ADMIN, tenant_=tenant)


@pytest.fixture
def b_client(api_client, other_tenant) -> APIClient:
    """Tenant B's key has the highest API role: what it cannot do, no role of B can."""
    return api_client(Role.ADMIN, tenant_=other_tenant)


@pytest.fixture
def a_rows(a_client, tenant, tmp_path) -> dict[str, str]:
    """Tenant A: an image, an audio, a queued job, and a succeeded job with a real output video."""
    image = upload(a_client, make_png(tmp_path / "a.png"))
    audio = upload(a_client, make_wav(tmp_path / "a.wav", seconds=1.5))
    response = a_client.post("/api/v1/jobs", {"model": "local/still", "input": {
        "image": image["id"], "audio": audio["id"]}}, format="json")
    assert response.status_code == 201, response.content
    video = make_mp4(tmp_path / "out.mp4", seconds=1.0)
    done = Job(
        tenant=tenant, model_id="local/still", provider="local", status=JobStatus.SUCCEEDED,
        input={"image": image["id"], "audio": audio["id"], "resolution": "480p"},
        quote_seconds=Decimal("1.5"), quote_amount=Decimal("0.02"), output_duration_s=Decimal("1.000"),
        output_width=320, output_height=240,
    )
    with open(video, "rb") as fh:
        done.output.save("out.mp4", File(fh), save=False)
    done.save(force_insert=True)
    return {"image": image["id"], "audio": audio["id"], "job": response.json()["id"], "done": str(done.id),
            "video": str(video)}


def assert_404(response) -> None:
    assert response.status_code == 404, (response.status_code, response.content)
    assert response.json()["error"]["code"] == "not_found"


def test_owner_sees_its_rows(a_client, a_rows):
    """The positive control: each URL the other tenant is refused works for the owner."""
    assert a_client.get(f"/api/v1/assets/{a_rows['image']}").status_code == 200
    assert a_client.get(f"/api/v1/jobs/{a_rows['job']}").status_code == 200
    assert a_client.get(f"/api/v1/jobs/{a_rows['done']}").json()["output"]["duration_s"] == 1.0
    output = a_client.get(f"/api/v1/jobs/{a_rows['done']}/output")
    assert output.status_code == 200
    assert b"".join(output.streaming_content) == open(a_rows["video"], "rb").read()


def test_other_tenant_gets_404_never_403(b_client, a_client, a_rows):
    for asset in ("image", "audio"):
        assert_404(b_client.get(f"/api/v1/assets/{a_rows[asset]}"))
        assert_404(b_client.delete(f"/api/v1/assets/{a_rows[asset]}"))
    for job in ("job", "done"):
        assert_404(b_client.get(f"/api/v1/jobs/{a_rows[job]}"))
        assert_404(b_client.post(f"/api/v1/jobs/{a_rows[job]}/cancel"))
        assert_404(b_client.get(f"/api/v1/jobs/{a_rows[job]}/output"))
    # Nothing of A changed.
    assert Asset.objects.filter(pk__in=[a_rows["image"], a_rows["audio"]]).count() == 2
    assert Job.objects.get(pk=a_rows["job"]).status == JobStatus.QUEUED
    assert Job.objects.get(pk=a_rows["done"]).status == JobStatus.SUCCEEDED


def test_other_tenant_404_is_the_same_as_for_a_missing_id(b_client, a_rows):
    missing = str(uuid.uuid4())
    for template in ("/api/v1/assets/{}", "/api/v1/jobs/{}", "/api/v1/jobs/{}/output"):
        foreign = b_client.get(template.format(a_rows["done" if "jobs" in template else "image"]))
        absent = b_client.get(template.format(missing))
        assert (foreign.status_code, foreign.json()) == (absent.status_code, absent.json())


def test_viewer_of_other_tenant_also_gets_404(api_client, other_tenant, a_rows):
    viewer = api_client(Role.VIEWER, tenant_=other_tenant)
    assert_404(viewer.get(f"/api/v1/jobs/{a_rows['job']}"))
    assert_404(viewer.get(f"/api/v1/assets/{a_rows['image']}"))


def test_lists_hold_only_own_rows(b_client, a_client, a_rows, tmp_path):
    own_image = upload(b_client, make_png(tmp_path / "b.png"))
    own_audio = upload(b_client, make_wav(tmp_path / "b.wav"))
    own_job = b_client.post("/api/v1/jobs", {"model": "local/still", "input": {
        "image": own_image["id"], "audio": own_audio["id"]}}, format="json").json()

    assets = b_client.get("/api/v1/assets?limit=100")
    assert assets.status_code == 200, assets.content
    assert {a["id"] for a in assets.json()["results"]} == {own_image["id"], own_audio["id"]}
    jobs = b_client.get("/api/v1/jobs?limit=100")
    assert jobs.status_code == 200, jobs.content
    assert [j["id"] for j in jobs.json()["results"]] == [own_job["id"]]
    for query in ("status=succeeded", "status=queued", "model=local/still", "kind=image"):
        url = f"/api/v1/{'assets' if 'kind' in query else 'jobs'}?{query}"
        ids = {row["id"] for row in b_client.get(url).json()["results"]}
        assert not ids & {a_rows["image"], a_rows["audio"], a_rows["job"], a_rows["done"]}, url
    keys = b_client.get("/api/v1/api-keys").json()["results"]
    assert keys and all(k["name"] == "admin key" for k in keys) and len(keys) == 1

    # And A's lists are untouched by B's rows.
    a_jobs = {j["id"] for j in a_client.get("/api/v1/jobs?limit=100").json()["results"]}
    assert a_jobs == {a_rows["job"], a_rows["done"]}


def test_job_naming_another_tenants_asset_is_refused_as_unknown(b_client, a_rows, tmp_path):
    own_audio = upload(b_client, make_wav(tmp_path / "b.wav"))
    jobs = Job.objects.count()
    response = b_client.post("/api/v1/jobs", {"model": "local/still", "input": {
        "image": a_rows["image"], "audio": own_audio["id"]}}, format="json")
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["input.image"]
    assert "No asset" in fields["input.image"][0]
    assert Job.objects.count() == jobs


def test_other_tenant_cannot_revoke_a_key(b_client, a_client, tenant):
    from accounts.models import ApiKey

    a_key = ApiKey.objects.get(tenant=tenant)
    assert_404(b_client.post(f"/api/v1/api-keys/{a_key.pk}/revoke"))
    assert a_client.get("/api/v1/models").status_code == 200


# --- signed file URLs ----------------------------------------------------------------------------
def local_path(url: str) -> str:
    assert url.startswith(django_settings.PUBLIC_BASE_URL + "/files/"), url
    return urlsplit(url).path


@pytest.fixture
def asset(a_rows) -> Asset:
    return Asset.objects.get(pk=a_rows["image"])


def test_signed_url_serves_the_asset(client, asset):
    response = client.get(local_path(asset_signed_url(asset=asset)))  # no API key, no session
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == asset.file.open("rb").read()


def test_signed_url_without_extension_works_too(client, asset):
    path = local_path(asset_signed_url(asset=asset))
    assert path.endswith(".png")
    assert client.get(path[: -len(".png")]).status_code == 200


def _flip(char: str) -> str:
    return "A" if char != "A" else "B"


@pytest.mark.parametrize("where", ["payload", "signature", "timestamp"])
def test_tampered_token_is_403(client, asset, where):
    path = local_path(asset_signed_url(asset=asset))
    token = path[len("/files/"): -len(".png")]
    payload, timestamp, signature = token.split(":")
    if where == "payload":
        payload = payload[:5] + _flip(payload[5]) + payload[6:]
    elif where == "signature":
        signature = signature[:10] + _flip(signature[10]) + signature[11:]
    else:
        timestamp = timestamp[:-1] + _flip(timestamp[-1])
    response = client.get(f"/files/{payload}:{timestamp}:{signature}.png")
    assert response.status_code == 403


def test_token_for_another_asset_cannot_be_forged(client, asset, a_rows):
    forged = signing.dumps({"a": a_rows["audio"], "t": 3600}, salt="some-other-salt")
    assert client.get(f"/files/{forged}.wav").status_code == 403
    wrong_key = signing.dumps({"a": a_rows["audio"], "t": 3600}, key="not-our-secret", salt="parley.asset-url")
    assert client.get(f"/files/{wrong_key}.wav").status_code == 403


def test_expired_token_is_403(client, asset, monkeypatch):
    path = local_path(asset_signed_url(asset=asset, ttl_s=60))
    assert client.get(path).status_code == 200
    now = time.time()
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now + 50))
    assert client.get(path).status_code == 200  # still inside its 60 s
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now + 62))
    assert client.get(path).status_code == 403


def test_expired_token_with_real_time(client, asset):
    path = local_path(asset_signed_url(asset=asset, ttl_s=1))
    time.sleep(2.1)
    assert client.get(path).status_code == 403


def test_signed_url_of_a_deleted_asset_is_404(client, a_client, tmp_path):
    other = upload(a_client, make_png(tmp_path / "gone.png"))
    path = local_path(asset_signed_url(asset=Asset.objects.get(pk=other["id"])))
    assert a_client.delete(f"/api/v1/assets/{other['id']}").status_code == 204
    assert client.get(path).status_code == 404
