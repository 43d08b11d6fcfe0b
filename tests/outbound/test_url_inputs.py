"""File inputs given as an https URL or a data: URI: fetched through the outbound-URL policy into
a new asset of the tenant (sniffed and probed as an upload), refused with a 400 naming
``input.<path>`` when the URL points into our own network (directly, by name, or by redirect) with
no connection reaching it, and never leaving an asset behind when the job is refused."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.actors import Actor
from jobs.models import Asset, Job
from jobs.services import job_create
from tests.media_fixtures import make_png, make_wav
from tests.outbound.servers import redirect_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def png_bytes(tmp_path) -> bytes:
    return make_png(tmp_path / "face.png").read_bytes()


@pytest.fixture
def wav_uri(tmp_path) -> str:
    data = make_wav(tmp_path / "speech.wav", seconds=1.0).read_bytes()
    return "data:audio/wav;base64," + base64.b64encode(data).decode()


def _post_job(client, **inputs):
    return client.post("/api/v1/jobs", {"model": "local/still", "input": inputs}, format="json")


def _stored_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def _assert_refused(response, path: str, words: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(words in message for message in error["fields"][path]), error


def test_url_and_data_uri_inputs_become_assets_of_the_tenant(settings, member_client, tenant, other_tenant,
                                                             web_server, tls, png_bytes, wav_uri):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = web_server(lambda path: (200, {"Content-Type": "text/plain"}, png_bytes), tls=tls)  # a lying type
    url = server.url("/pictures/face%20one.png", host="localhost")  # TLS verifies the name, not the address
    response = _post_job(member_client, image=url, audio=wav_uri)
    assert response.status_code == 201, response.content
    body = response.json()
    image, audio = Asset.objects.get(pk=body["input"]["image"]), Asset.objects.get(pk=body["input"]["audio"])
    assert (image.tenant, image.kind, image.content_type, image.original_name) == (
        tenant, "image", "image/png", "face one.png")
    assert image.sha256 == hashlib.sha256(png_bytes).hexdigest() and image.file.read() == png_bytes
    assert (audio.kind, audio.original_name) == ("audio", "data-uri") and audio.duration_s > 0
    assert set(Job.objects.get(pk=body["id"]).assets.all()) == {image, audio}
    assert body["quote"]["amount"]  # priced from the fetched audio's length
    assert server.requests == ["/pictures/face%20one.png"]
    assert not Asset.objects.filter(tenant=other_tenant).exists()


@pytest.mark.parametrize(("bait_host", "url"), [
    ("127.0.0.1", "https://127.0.0.1:{port}/face.png"),
    ("127.0.0.1", "https://localhost:{port}/face.png"),  # a real name that resolves to loopback
    ("127.0.0.2", "https://127.0.0.2:{port}/face.png"),
    ("::1", "https://[::1]:{port}/face.png"),
    ("127.0.0.1", "https://10.0.0.8/face.png"),
    ("127.0.0.1", "https://172.16.0.1/face.png"),
    ("127.0.0.1", "https://192.168.1.1/face.png"),
    ("127.0.0.1", "https://169.254.169.254/latest/meta-data/"),
])
def test_a_url_input_into_our_network_is_a_400_and_reaches_nothing(settings, member_client, bait, connections,
                                                                   wav_uri, bait_host, url):
    trap = bait(bait_host)
    response = _post_job(member_client, image=url.format(port=trap.port), audio=wav_uri)
    _assert_refused(response, "input.image", "non-public address")
    assert trap.close() == 0 and connections == []
    assert not Asset.objects.exists() and not Job.objects.exists() and not _stored_files(settings)


@pytest.mark.parametrize("target", ["https://127.0.0.2:{port}/x.png", "https://[::1]:{port6}/x.png",
                                    "https://169.254.169.254/latest/meta-data/", "http://192.168.1.1/x.png"])
def test_a_url_input_redirected_into_our_network_is_a_400_and_reaches_nothing(
        settings, member_client, bait, web_server, tls, connections, wav_uri, target):
    """127.0.0.1/32 is allowed and stands in for a public host that redirects into our network."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    trap, trap6 = bait("127.0.0.2"), bait("::1")
    server = web_server(redirect_to(target.format(port=trap.port, port6=trap6.port)), tls=tls)
    response = _post_job(member_client, image=server.url("/face.png"), audio=wav_uri)
    reason = "https" if target.startswith("http:") else "non-public address"  # a downgrade is refused too
    _assert_refused(response, "input.image", reason)
    assert trap.close() == 0 and trap6.close() == 0
    assert connections == [("127.0.0.1", server.port)]
    assert not Asset.objects.exists() and not _stored_files(settings)


@pytest.mark.parametrize(("value", "words"), [
    ("http://example.com/face.png", "must be https"),
    ("data:image/png;base64,%%%", "not a valid data: URI"),
    ("data:image/png;base64", "no comma"),
    ("https://no-such-host.invalid/face.png", "cannot be resolved"),
])
def test_a_bad_reference_is_a_400_naming_the_path(member_client, wav_uri, value, words):
    _assert_refused(_post_job(member_client, image=value, audio=wav_uri), "input.image", words)
    assert not Asset.objects.exists()


def test_a_data_uri_over_its_cap_is_refused_before_decoding(settings, member_client, png_bytes):
    settings.DATA_URI_MAX_BYTES = 1000
    uri = "data:image/png;base64," + base64.b64encode(png_bytes + os.urandom(2000)).decode()
    _assert_refused(_post_job(member_client, image=uri, audio=uri), "input.image", "the limit for data URIs")
    assert "input.audio" in _post_job(member_client, image=uri, audio=uri).json()["error"]["fields"]  # all at once


def test_a_fetched_file_obeys_the_upload_limits(settings, member_client, web_server, tls, wav_uri, png_bytes):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.ASSET_MAX_BYTES = {**settings.ASSET_MAX_BYTES, "image": len(png_bytes) - 1}
    server = web_server(lambda path: (200, {}, png_bytes), tls=tls)
    _assert_refused(_post_job(member_client, image=server.url("/face.png"), audio=wav_uri), "input.image",
                    "the limit for image files")
    text = web_server(lambda path: (200, {}, b"<html>not a picture</html>"), tls=tls)
    response = _post_job(member_client, image=text.url("/face.png"), audio=wav_uri)
    assert response.status_code == 400 and "input.image" in response.json()["error"]["fields"]
    assert not Asset.objects.exists()


def test_a_fetched_file_of_the_wrong_kind_is_named(settings, member_client, wav_uri):
    response = _post_job(member_client, image=wav_uri, audio=wav_uri)
    _assert_refused(response, "input.image", "the file given here is an audio")
    assert not Asset.objects.exists()


def test_a_job_refused_for_another_field_leaves_no_asset(settings, member_client, wav_uri):
    response = _post_job(member_client, image=str(uuid.uuid4()), audio=wav_uri)
    _assert_refused(response, "input.image", "No asset with id")
    assert not Asset.objects.exists() and not _stored_files(settings)


def test_a_failure_after_the_files_are_stored_removes_them(settings, tenant, monkeypatch, png_bytes, wav_uri):
    """Fault injection after the assets and the job's rows are written, inside job_create: the rows
    roll back, the files go."""
    import jobs.services

    real_insert = jobs.services.insert_together

    def insert_then_fail(rows, **kwargs):  # noqa: ANN001, ANN003
        real_insert(rows, **kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(jobs.services, "insert_together", insert_then_fail)
    image_uri = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    with pytest.raises(RuntimeError):
        job_create(tenant=tenant, actor=Actor.system(tenant), model_id="local/still",
                   inputs={"image": image_uri, "audio": wav_uri})
    assert not Asset.objects.exists() and not Job.objects.exists() and not _stored_files(settings)


def test_a_live_job_over_its_budget_keeps_none_of_its_fetched_files(settings, tenant, member_client, png_bytes,
                                                                     wav_uri):
    """The files are stored before the billing lock is taken; a 402 after it still leaves nothing."""
    from billing.budgets import budget_set

    budget_set(tenant=tenant, actor=Actor.system(tenant), monthly_limit=Decimal("0.00"))
    image_uri = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    response = _post_job(member_client, image=image_uri, audio=wav_uri)
    assert response.status_code == 402 and response.json()["error"]["code"] == "budget_exceeded", response.content
    assert not Asset.objects.exists() and not Job.objects.exists() and not _stored_files(settings)


def test_a_quote_fetches_but_keeps_nothing(settings, member_client, png_bytes, wav_uri):
    image_uri = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    response = member_client.post("/api/v1/quotes", {"model": "local/still", "input": {
        "image": image_uri, "audio": wav_uri}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["billable_seconds"]
    assert not Asset.objects.exists() and not _stored_files(settings)


def test_an_asset_can_be_created_from_a_url(settings, member_client, tenant, web_server, tls, png_bytes, bait,
                                            connections):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = web_server(lambda path: (200, {}, png_bytes), tls=tls)
    response = member_client.post("/api/v1/assets", {"url": server.url("/face.png")}, format="json")
    assert response.status_code == 201, response.content
    asset = Asset.objects.get(pk=response.json()["id"])
    assert (asset.tenant, asset.kind, asset.original_name) == (tenant, "image", "face.png")

    trap = bait("127.0.0.2")
    response = member_client.post("/api/v1/assets", {"url": f"https://127.0.0.2:{trap.port}/x.png"}, format="json")
    _assert_refused(response, "url", "non-public address")
    assert trap.close() == 0 and Asset.objects.count() == 1
    assert connections == [("127.0.0.1", server.port)]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_job_made_from_a_url_and_a_data_uri_renders(settings, live_server, emulator, inline_tasks, member_client,
                                                       web_server, tls, png_bytes, wav_uri):
    """End to end against the emulated fal over real HTTP: the provider fetches the new assets
    through our signed URLs, as it would uploaded ones, and the job succeeds."""
    from tests.conftest import drive_job

    settings.PUBLIC_BASE_URL = live_server.url
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = web_server(lambda path: (200, {}, png_bytes), tls=tls)
    response = member_client.post("/api/v1/jobs", {"model": "fal-ai/ai-avatar", "input": {
        "image_url": server.url("/face.png"), "audio_url": wav_uri, "prompt": "Talk", "num_frames": 81}},
        format="json")
    assert response.status_code == 201, response.content
    job = drive_job(response.json()["id"], timeout=60)
    assert job.status == "succeeded", (job.error_code, job.error_message)
    assert {a.kind for a in job.assets.all()} == {"image", "audio"}
